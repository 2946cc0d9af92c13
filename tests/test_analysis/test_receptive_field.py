import math
import os.path as osp
import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg_dilated.analysis.effective_receptive_field import effective_receptive_field, erf_radius
from mmseg_dilated.analysis.gridding import dilation_sampling_grids
from mmseg_dilated.analysis.receptive_field import trace_receptive_fields
from mmseg_dilated.models.backbones import DRN
from mmseg_dilated.models.decode_heads import ContextHead

from _helpers import REPO, run_tool

VOC = (1, 1, 2, 4, 8, 16, 1)
PAPER_TABLE_1 = (3, 5, 9, 17, 33, 65, 67, 67)  # Yu & Koltun, Table 1


def _rfs(trace):
    """Square RFs and jumps of the traced layers."""
    assert all(layer.rf[0] == layer.rf[1] for layer in trace.layers)
    return [layer.rf[0] for layer in trace.layers], [layer.jump[0] for layer in trace.layers]


@pytest.mark.parametrize('padding,pad_input', [('same', False), ('valid', True)])
def test_context_head_alone_matches_paper(padding, pad_input):
    head = ContextHead(
        in_channels=8,
        num_classes=21,
        module_type='large',
        dilations=VOC,
        padding=padding,
        pad_input=pad_input,
        dropout_ratio=0,
    )
    trace = trace_receptive_fields(head, [torch.zeros(1, 8, 8, 8)], prefix='decode_head')
    names = [layer.name for layer in trace.layers]
    assert names == (
        ['decode_head.classifier.conv']
        + [f'decode_head.context_convs.{i}.conv' for i in range(7)]
        + ['decode_head.conv_seg']
    )
    rfs, jumps = _rfs(trace)
    # The 1x1 classifier sees one feature cell; the context module's 8 layers follow (Table 1).
    assert rfs == [1, *PAPER_TABLE_1]
    assert jumps == [1] * 9
    assert tuple(rfs[1:]) == head.receptive_fields
    assert [layer.dilation[0] for layer in trace.layers[1:]] == [*VOC, 1]
    assert trace.output.rf == (67, 67)


def test_plain_stack_by_hand():
    stack = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # conv3x3 s1
        nn.Conv2d(4, 4, 3, stride=2, padding=1),  # conv3x3 s2
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),  # conv3x3 d2
        nn.MaxPool2d(2, stride=2),  # maxpool 2x2 s2
        nn.Conv2d(4, 4, 3, padding=1),
    )  # conv3x3
    trace = trace_receptive_fields(stack, torch.zeros(1, 3, 32, 32))
    rfs, jumps = _rfs(trace)
    # r_out = r_in + (k - 1) * d * j_in, j_out = j_in * s, from r = 1, j = 1:
    #   conv3x3 s1: r = 1 + 2*1*1 = 3,    j = 1
    #   conv3x3 s2: r = 3 + 2*1*1 = 5,    j = 1*2 = 2
    #   conv3x3 d2: r = 5 + 2*2*2 = 13,   j = 2
    #   maxpool 2:  r = 13 + 1*1*2 = 15,  j = 2*2 = 4
    #   conv3x3:    r = 15 + 2*1*4 = 23,  j = 4
    assert rfs == [3, 5, 13, 15, 23]
    assert jumps == [1, 2, 2, 4, 4]
    assert [layer.type for layer in trace.layers] == ['Conv2d'] * 3 + ['MaxPool2d', 'Conv2d']
    # Centre of output unit 0, s_out = s_in + ((k - 1) * d / 2 - pad) * j_in: the padded convs
    # keep s = 0 ((3 - 1) / 2 - 1 = 0, (3 - 1) * 2 / 2 - 2 = 0); the unpadded pool moves it by
    # (2 - 1) / 2 * 2 = 1. So unit i of the 8x8 output is centred on input pixel 1 + 4 i.
    assert [layer.start[0] for layer in trace.layers] == [0, 0, 0, 1, 1]
    assert trace.output.out_size == (8, 8)


class _Residual(nn.Module):
    """A strided residual block: conv3x3 s2 -> conv3x3, shortcut conv1x1 s2, added."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        self.shortcut = nn.Conv2d(2, 2, 1, stride=2)

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        out += self.shortcut(x)
        return out


class _Parallel(nn.Module):
    """Two branches (dilation 1 and 6) concatenated, then an image-pooling branch added."""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(2, 2, 3, padding=1)
        self.b6 = nn.Conv2d(2, 2, 3, padding=6, dilation=6)

    def forward(self, x):
        out = torch.cat([self.b1(x), self.b6(x)], 1)
        pooled = F.adaptive_avg_pool2d(x, 1).repeat(1, 2, 1, 1)
        return out, out + F.interpolate(pooled, size=x.shape[-2:], mode='bilinear')


def test_merges_keep_the_longest_path():
    trace = trace_receptive_fields(_Residual(), torch.zeros(1, 2, 16, 16))
    # Main path: 1 + 2*1 = 3 (j 2), then 3 + 2*2 = 7 (j 2); shortcut: 1 (j 2). The add keeps 7 and
    # the jump stays 2: walking the convs in order would multiply the shortcut's stride in (j 4).
    assert [(layer.name, layer.rf[0], layer.jump[0]) for layer in trace.layers] == [
        ('conv1', 3, 2),
        ('conv2', 7, 2),
        ('shortcut', 1, 2),
    ]
    assert (trace.output.rf, trace.output.jump) == ((7, 7), (2, 2))

    parallel = _Parallel()
    x = torch.zeros(1, 2, 16, 16)
    # cat of RF 3 (d1) and 1 + 2*6 = 13 (d6): 13.
    assert trace_receptive_fields(parallel, x, forward=lambda x: parallel(x)[0]).output.rf == (
        13,
        13,
    )
    # Global pooling: 1 + (16 - 1) * 1 = 16 = the whole input, jump 16; the bilinear resize of a
    # 1x1 map reads one cell, so the sum sees the whole 16x16 input.
    trace = trace_receptive_fields(parallel, x, forward=lambda x: parallel(x)[1])
    assert trace.output.rf == (16, 16) and trace.output.jump == (1, 1)


@pytest.mark.parametrize('arch,depth', [('A', 18), ('C', 26), ('D', 22)])
def test_drn_output_stride_8(arch, depth):
    drn = DRN(arch=arch, depth=depth, base_channels=4).eval()
    trace = trace_receptive_fields(drn, torch.zeros(1, 3, 33, 33))
    assert trace.layers[-1].jump == (8, 8)
    assert trace.output.jump == (8, 8)
    if arch == 'D':
        # layer0 7x7: 7; layer1: 9; layer2 s2: 11 (j 2); layer3 (2 blocks x 2 convs, first s2):
        # 11 + 2*2 = 15 (j 4), then +8 each: 23, 31, 39; layer4 (first s2): 39 + 2*4 = 47 (j 8),
        # then +16 each: 63, 79, 95; layer5 d2: +32 x 4 = 223; layer6 d4: +64 x 4 = 479;
        # layer7 d2: +32 = 511; layer8: +16 = 527.
        assert trace.output.rf == (527, 527)
        assert [layer.rf[0] for layer in trace.layers if 'downsample' not in layer.name] == [
            7,
            9,
            11,
            15,
            23,
            31,
            39,
            47,
            63,
            79,
            95,
            127,
            159,
            191,
            223,
            287,
            351,
            415,
            479,
            511,
            527,
        ]


@pytest.mark.parametrize('dilation', [1, 2])
def test_erf_of_one_conv_is_its_taps(dilation):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=dilation, dilation=dilation, bias=False)
    result = effective_receptive_field(conv, torch.randn(2, 3, 15, 15))
    assert result.out_index == (7, 7) and result.centre == (7, 7)
    taps = [7 - dilation, 7, 7 + dilation]
    expected = np.zeros((15, 15), bool)
    expected[np.ix_(taps, taps)] = True
    assert ((result.erf != 0) == expected).all()


def test_erf_of_ones_stack_counts_the_sampling_paths():
    # With all-one weights the gradient at a pixel is the number of paths from the centre unit to
    # it, which dilation_sampling_grids counts independently.
    dilations = (1, 2, 4)
    stack = nn.Sequential(
        *[nn.Conv2d(1, 1, 3, padding=d, dilation=d, bias=False) for d in dilations]
    )
    for conv in stack:
        nn.init.ones_(conv.weight)
    result = effective_receptive_field(stack, torch.randn(1, 1, 21, 21))
    single, grids = dilation_sampling_grids(dilations)
    assert [g.shape[0] for g in grids] == [3, 7, 15]  # 1 + 2 * (1), (1 + 2), (1 + 2 + 4)
    assert grids[-1].sum() == 9**3 and (grids[-1] > 0).all()  # 9 taps per layer, no holes
    taps_d2 = np.zeros((5, 5), int)
    taps_d2[::2, ::2] = 1  # a 3x3 kernel with dilation 2 reads every other pixel of a 5x5 window
    np.testing.assert_array_equal(single[1], taps_d2)
    np.testing.assert_array_equal(result.erf[3:18, 3:18], grids[-1])
    assert result.erf.sum() == 9**3
    # Two dilation-2 layers only ever reach even offsets: 5 x 5 of the 9 x 9 RF, 56 holes.
    assert (dilation_sampling_grids((2, 2))[1][-1] == 0).sum() == 81 - 25


def test_erf_radius_by_hand():
    erf = np.zeros((9, 9))
    erf[4, 4] = 50  # centre
    ring1 = np.zeros((9, 9), bool)
    ring1[3:6, 3:6] = True
    ring1[4, 4] = False
    erf[ring1] = 5  # 8 pixels at Chebyshev distance 1: 40
    ring2 = np.zeros((9, 9), bool)
    ring2[2:7, 2:7] = True
    ring2[3:6, 3:6] = False
    erf[ring2] = 0.5  # 16 pixels at Chebyshev distance 2: 8
    erf[0, 0] = 2  # a corner, Chebyshev distance 4
    # Total 100. Chebyshev: within 0: 50, within 1: 90, within 2: 98 >= 95, within 4: 100.
    assert erf_radius(erf) == 2
    assert erf_radius(erf, fraction=0.5) == 0
    assert erf_radius(erf, fraction=0.9) == 1
    assert erf_radius(erf, fraction=0.99) == 4
    # Euclidean: ring 1 splits into 4 pixels at 1 (20) and 4 at sqrt 2 (20); ring 2 into 4 at 2
    # (2), 8 at sqrt 5 (4) and 4 at sqrt 8 (2). Within 1: 70, sqrt 2: 90, 2: 92, sqrt 5: 96.
    assert erf_radius(erf, metric='euclidean') == pytest.approx(math.sqrt(5))
    # About (4, 5), Chebyshev d = max(|row - 4|, |col - 5|):
    #   d 0: (4, 5) 5;  d 1: (4, 4) 50 + ring-1 (3|5, 4|5) 4 * 5 + ring-2 (3..5, 6) 3 * 0.5 = 71.5;
    #   d 2: ring-1 column 3, 3 * 5 + ring-2 rows 2|6, columns 3..6, 8 * 0.5 = 19;
    #   d 3: ring-2 column 2, 5 * 0.5 = 2.5;  d 5: the corner (0, 0), 2.
    # Cumulative 5, 76.5, 95.5, 98, 100.
    assert erf_radius(erf, centre=(4, 5), fraction=0.5) == 1
    assert erf_radius(erf, centre=(4, 5)) == 2
    assert erf_radius(erf, centre=(4, 5), fraction=0.96) == 3
    assert erf_radius(erf, centre=(4, 5), fraction=1) == 5


@pytest.mark.slow
def test_cli_on_context_toy(tmp_path, python):
    out_dir = tmp_path / 'rf'
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'analysis', 'receptive_field.py'),
            osp.join(REPO, 'configs', 'context_toy.py'),
            '--size',
            '64',
            '--num-images',
            '2',
            '--out-dir',
            str(out_dir),
            '--dilation-grid',
            '1',
            '2',
            '4',
        ],
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    # DRN-D-22's stem and first three levels end at 39 px, stride 4 (7x7 stem, 3x3 layer1, 3x3
    # stride-2 layer2: 1 + 6 + 2 + 2 = 11 at stride 2; layer3's 4 convs, the first of stride 2:
    # 11 + 2 * 2 + 3 * 2 * 4 = 39); the head's 67 cells add 66 * 4: 39 + 264 = 303.
    assert re.search(r'backbone\.layer3\.1\.conv2\s+Conv2d\s+3\s+1\s+1\s+39\s+4', out)
    assert re.search(r'decode_head\.conv_seg\s+Conv2d\s+1\s+1\s+1\s+303\s+4', out)
    assert re.search(r'decode_head\.conv_seg\s+Conv2d\s+1\s+1\s+1\s+67\s+1', out)
    assert 'ContextHead.receptive_fields = (3, 5, 9, 17, 33, 65, 67, 67): agrees' in out
    radius = float(
        re.search(r'95% of the ERF mass within a Chebyshev radius of ([\d.]+) px', out).group(1)
    )
    assert 0 <= radius <= 32  # centre unit (8, 8) of 16x16 sits on pixel 32 of the 64x64 input
    assert 'RF (3, 7, 15), never-sampled pixels inside the RF (0, 0, 0)' in out
    for name in ('context_toy_erf.png', 'dilation_grid.png'):
        with open(out_dir / name, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
