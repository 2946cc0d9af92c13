"""drn2mmseg: authors'-layout checkpoints -> DRN backbone, checked against an independent
functional forward pass written from the authors' drn.py (fyu/drn) layer rules."""

import math
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmseg_dilated.converters.drn import DRNCheckpointError, convert_drn, convert_drn_checkpoint
from mmseg_dilated.models.backbones import DRN
from mmseg_dilated.utils.checkpoint import load_state_dict_file

from _helpers import run_script

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'model_converters' / 'drn2mmseg.py'

# The authors' drn.py (fyu/drn): block type and blocks per level
VARIANTS = {
    ('A', 18): ('basic', (2, 2, 2, 2)),
    ('C', 26): ('basic', (1, 1, 2, 2, 2, 2, 1, 1)),
    ('D', 22): ('basic', (1, 1, 2, 2, 2, 2, 1, 1)),
    ('D', 38): ('basic', (1, 1, 3, 4, 6, 3, 1, 1)),
    ('D', 54): ('bottleneck', (1, 1, 3, 4, 6, 3, 1, 1)),
}
BN_STATS = ('weight', 'bias', 'running_mean', 'running_var')


def authors_state_dict(arch, block, blocks, base, seed=0, with_nbt=False, num_classes=1000):
    """Random weights in the authors' key layout (drn.py), torchvision's for DRN-A."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()

    def conv(key, cin, cout, k):
        sd[key] = torch.randn(cout, cin, k, k, generator=g) * math.sqrt(2.0 / (k * k * cout))

    def bn(prefix, c):
        sd[f'{prefix}.weight'] = 0.5 + torch.rand(c, generator=g)
        sd[f'{prefix}.bias'] = 0.1 * torch.randn(c, generator=g)
        sd[f'{prefix}.running_mean'] = 0.1 * torch.randn(c, generator=g)
        sd[f'{prefix}.running_var'] = 0.5 + torch.rand(c, generator=g)
        if with_nbt:
            sd[f'{prefix}.num_batches_tracked'] = torch.tensor(100)

    def res_level(name, inplanes, planes, n, kind, stride):
        out = planes * (4 if kind == 'bottleneck' else 1)
        for j in range(n):
            p, cin = f'{name}.{j}', inplanes if j == 0 else out
            if kind == 'bottleneck':
                conv(f'{p}.conv1.weight', cin, planes, 1)
                bn(f'{p}.bn1', planes)
                conv(f'{p}.conv2.weight', planes, planes, 3)
                bn(f'{p}.bn2', planes)
                conv(f'{p}.conv3.weight', planes, out, 1)
                bn(f'{p}.bn3', out)
            else:
                conv(f'{p}.conv1.weight', cin, planes, 3)
                bn(f'{p}.bn1', planes)
                conv(f'{p}.conv2.weight', planes, planes, 3)
                bn(f'{p}.bn2', planes)
            if j == 0 and (stride != 1 or inplanes != out):
                conv(f'{p}.downsample.0.weight', inplanes, out, 1)
                bn(f'{p}.downsample.1', out)
        return out

    def conv_level(name, cin, cout, n, k=3):
        for j in range(n):  # conv, BN, ReLU: the ReLU holds no weights
            conv(f'{name}.{3 * j}.weight', cin if j == 0 else cout, cout, k)
            bn(f'{name}.{3 * j + 1}', cout)
        return cout

    if arch == 'A':
        conv('conv1.weight', 3, base, 7)
        bn('bn1', base)
        c = base
        for i, n in enumerate(blocks):
            c = res_level(f'layer{i + 1}', c, base * 2**i, n, block, 2 if i == 1 else 1)
        sd['fc.weight'] = torch.randn(num_classes, c, generator=g)  # nn.Linear
    else:
        widths = [base * m for m in (1, 2, 4, 8, 16, 32, 32, 32)]
        if arch == 'D':
            c = conv_level('layer0', 3, base, 1, k=7)
        else:
            conv('conv1.weight', 3, base, 7)
            bn('bn1', base)
            c = base
        for i, n in enumerate(blocks):
            name, stride = f'layer{i + 1}', 2 if i in (1, 2, 3) else 1
            if arch == 'D' and i in (0, 1, 6, 7):
                c = conv_level(name, c, widths[i], n)
            else:
                kind = block if 2 <= i <= 5 else 'basic'
                c = res_level(name, c, widths[i], n, kind, stride)
        sd['fc.weight'] = torch.randn(num_classes, c, 1, 1, generator=g)  # 1x1 conv
    sd['fc.bias'] = torch.randn(num_classes, generator=g)
    return sd


def reference_forward(sd, arch, blocks, x, dilation_mode='reference'):
    """Independent forward pass of the reference DRN, straight from the authors'-layout dict.

    Rules (the authors' drn.py, fyu/drn): levels strided (1, 2, 2, 2, 1, 1, 1, 1) with dilations
    (1, 1, 1, 1, 2, 4, 2, 1) for C/D; DRN-A: 7x7/2 stem, 3x3/2 max pool, strides (1, 2, 1, 1),
    dilations (1, 1, 2, 4). The first block of a dilated residual level uses (d, d) for C/D and
    (1, 1) for A in the released code; 'half' uses (d/2, d). Eval-mode BN, eps 1e-5.
    """

    def bn(t, p):
        return F.batch_norm(
            t,
            sd[f'{p}.running_mean'],
            sd[f'{p}.running_var'],
            sd[f'{p}.weight'],
            sd[f'{p}.bias'],
            False,
            0.0,
            1e-5,
        )

    def conv(t, key, stride=1, dilation=1):
        w = sd[key]
        k = w.shape[-1]
        return F.conv2d(t, w, None, stride, dilation * (k - 1) // 2, dilation)

    def block_forward(t, p, stride, dil, residual):
        if f'{p}.conv3.weight' in sd:  # bottleneck: the 3x3 takes dil[1]
            out = F.relu(bn(conv(t, f'{p}.conv1.weight'), f'{p}.bn1'))
            out = F.relu(bn(conv(out, f'{p}.conv2.weight', stride, dil[1]), f'{p}.bn2'))
            out = bn(conv(out, f'{p}.conv3.weight'), f'{p}.bn3')
        else:
            out = F.relu(bn(conv(t, f'{p}.conv1.weight', stride, dil[0]), f'{p}.bn1'))
            out = bn(conv(out, f'{p}.conv2.weight', 1, dil[1]), f'{p}.bn2')
        if residual:
            if f'{p}.downsample.0.weight' in sd:
                out = out + bn(conv(t, f'{p}.downsample.0.weight', stride), f'{p}.downsample.1')
            else:
                out = out + t
        return F.relu(out)

    def first_dilation(d):
        if d == 1:
            return (1, 1)
        if dilation_mode == 'half':
            return (d // 2, d)
        return (1, 1) if arch == 'A' else (d, d)

    def res_level(t, name, n, stride, d, residual=True, contract=True):
        for j in range(n):
            dil = (first_dilation(d) if contract else (d, d)) if j == 0 else (d, d)
            t = block_forward(t, f'{name}.{j}', stride if j == 0 else 1, dil, residual)
        return t

    def conv_level(t, name, n, stride=1, d=1):
        for j in range(n):
            t = F.relu(
                bn(
                    conv(t, f'{name}.{3 * j}.weight', stride if j == 0 else 1, d),
                    f'{name}.{3 * j + 1}',
                )
            )
        return t

    if arch == 'A':
        x = F.relu(bn(conv(x, 'conv1.weight', 2), 'bn1'))
        x = F.max_pool2d(x, 3, 2, 1)
        for i, (s, d) in enumerate(zip((1, 2, 1, 1), (1, 1, 2, 4))):
            x = res_level(x, f'layer{i + 1}', blocks[i], s, d)
        return x
    strides, dilations = (1, 2, 2, 2, 1, 1, 1, 1), (1, 1, 1, 1, 2, 4, 2, 1)
    if arch == 'D':
        x = conv_level(x, 'layer0', 1)
    else:
        x = F.relu(bn(conv(x, 'conv1.weight'), 'bn1'))
    for i in range(8):
        name, s, d = f'layer{i + 1}', strides[i], dilations[i]
        if arch == 'D' and i in (0, 1, 6, 7):
            x = conv_level(x, name, blocks[i], s, d)
        elif i in (6, 7):  # DRN-C degridding: basic blocks without the shortcut
            x = res_level(x, name, blocks[i], s, d, residual=False, contract=False)
        else:
            x = res_level(x, name, blocks[i], s, d)
    return x


def load_pretrained(path, **kwargs):
    model = DRN(init_cfg=dict(type='Pretrained', checkpoint=str(path)), **kwargs)
    model.init_weights()
    return model.eval()


def assert_matches_reference(model, sd, arch, blocks, size=33, **kwargs):
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        (ours,) = model(x)
        ref = reference_forward(sd, arch, blocks, x, **kwargs)
    assert ours.shape == ref.shape
    diff = (ours - ref).abs().max().item()
    assert diff < 1e-4, diff
    assert ref.abs().max().item() > 1e-2  # not a trivially zero comparison
    return diff


def test_d22_imagenet_cli_loads_and_matches_reference(
    tmp_path, monkeypatch, capsys, strict_pretrained
):
    block, blocks = VARIANTS[('D', 22)]
    src = authors_state_dict('D', block, blocks, base=16)  # no num_batches_tracked (old torch)
    torch.save(src, tmp_path / 'drn_d_22.pth')
    run_script(
        monkeypatch,
        SCRIPT,
        tmp_path / 'drn_d_22.pth',
        tmp_path / 'out.pth',
        '--arch',
        'D',
        '--depth',
        '22',
    )
    assert 'DRN-D-22' in capsys.readouterr().out
    model = load_pretrained(tmp_path / 'out.pth', arch='D', depth=22)
    assert strict_pretrained == [set()]  # no missing, no unexpected key
    state = model.state_dict()
    for k, v in src.items():
        if not k.startswith('fc.'):
            assert torch.equal(state[k], v), k
    assert torch.equal(model.layer3[1].conv2.weight, src['layer3.1.conv2.weight'])
    assert torch.equal(model.layer0[1].running_var, src['layer0.1.running_var'])
    assert torch.equal(model.layer8[0].weight, src['layer8.0.weight'])
    assert int(model.layer5[0].bn1.num_batches_tracked) == 0  # filled in
    assert_matches_reference(model, src, 'D', blocks)


def test_c26_imagenet_loads_and_matches_reference(tmp_path, strict_pretrained):
    block, blocks = VARIANTS[('C', 26)]
    src = authors_state_dict('C', block, blocks, base=16, seed=3, with_nbt=True)
    torch.save(src, tmp_path / 'drn_c_26.pth')
    info = convert_drn_checkpoint(tmp_path / 'drn_c_26.pth', tmp_path / 'out.pth')
    assert (info['arch'], info['depth'], info['source']) == ('C', 26, 'imagenet')
    model = load_pretrained(tmp_path / 'out.pth', arch='C', depth=26)
    assert strict_pretrained == [set()]
    assert torch.equal(model.bn1.weight, src['bn1.weight'])
    assert torch.equal(model.layer7[0].conv1.weight, src['layer7.0.conv1.weight'])
    assert int(model.layer2[0].downsample[1].num_batches_tracked) == 100
    assert_matches_reference(model, src, 'C', blocks)


def test_torchvision_resnet18_to_drn_a18(tmp_path, strict_pretrained):
    block, blocks = VARIANTS[('A', 18)]
    src = authors_state_dict('A', block, blocks, base=64, seed=5)
    torch.save(src, tmp_path / 'resnet18.pth')
    info = convert_drn_checkpoint(tmp_path / 'resnet18.pth', tmp_path / 'out.pth', 'A', 18)
    assert info['depth'] == 18
    model = load_pretrained(tmp_path / 'out.pth', arch='A', depth=18)
    assert strict_pretrained == [set()]
    assert torch.equal(model.layer4[1].conv2.weight, src['layer4.1.conv2.weight'])
    assert_matches_reference(model, src, 'A', blocks)


@pytest.mark.parametrize('arch,depth', [('D', 22), ('D', 54), ('A', 18)])
def test_half_dilation_mode_matches_half_reference(arch, depth):
    block, blocks = VARIANTS[(arch, depth)]
    src = authors_state_dict(arch, block, blocks, base=4 if arch != 'A' else 8, seed=7)
    sd, _ = convert_drn(src)
    model = DRN(
        arch=arch, depth=depth, base_channels=4 if arch != 'A' else 8, dilation_mode='half'
    ).eval()
    model.load_state_dict(sd, strict=True)
    assert_matches_reference(model, src, arch, blocks, size=37, dilation_mode='half')
    # and the two modes really differ for basic blocks
    if block == 'basic':
        with torch.no_grad():
            x = torch.rand(1, 3, 37, 37)
            ref = reference_forward(src, arch, blocks, x)
            assert (model(x)[0] - ref).abs().max() > 1e-3


def drnseg_state_dict(src, arch, num_classes=19):
    """The authors' DRNSeg layout: base.N = the DRN's children in order, minus avgpool/fc."""
    children = {
        'D': [f'layer{i}' for i in range(9)],
        'C': ['conv1', 'bn1', 'relu'] + [f'layer{i}' for i in range(1, 9)],
        'A': ['conv1', 'bn1', 'relu', 'maxpool'] + [f'layer{i}' for i in range(1, 5)],
    }[arch]
    sd = OrderedDict()
    for k, v in src.items():
        head, rest = k.split('.', 1)
        if head != 'fc':
            sd[f'base.{children.index(head)}.{rest}'] = v
    channels = src['fc.weight'].shape[1]
    sd['seg.weight'] = torch.randn(num_classes, channels, 1, 1) * 0.05
    sd['seg.bias'] = torch.randn(num_classes)
    sd['up.weight'] = torch.rand(num_classes, 1, 16, 16)
    return sd


def test_drnseg_d22_backbone_and_full_model(tmp_path, strict_pretrained):
    block, blocks = VARIANTS[('D', 22)]
    src = authors_state_dict('D', block, blocks, base=4, seed=11)
    seg = drnseg_state_dict(src, 'D')
    # training checkpoints wrap it: {'state_dict': DataParallel's module.* keys}
    torch.save({'state_dict': {f'module.{k}': v for k, v in seg.items()}}, tmp_path / 'seg.pth')

    info = convert_drn_checkpoint(tmp_path / 'seg.pth', tmp_path / 'backbone.pth')
    assert (info['source'], info['depth'], info['num_classes']) == ('drnseg', 22, 19)
    model = load_pretrained(tmp_path / 'backbone.pth', arch='D', depth=22, base_channels=4)
    assert strict_pretrained == [set()]
    assert_matches_reference(model, src, 'D', blocks)

    convert_drn_checkpoint(tmp_path / 'seg.pth', tmp_path / 'full.pth', full_model=True)
    full = load_state_dict_file(tmp_path / 'full.pth')
    assert torch.equal(full['decode_head.conv_seg.weight'], seg['seg.weight'])
    assert not any(k.startswith(('up.', 'seg.', 'base.')) for k in full)
    segmentor = MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(type='DRN', arch='D', depth=22, base_channels=4),
            decode_head=dict(
                type='FCNHead',
                in_channels=128,
                channels=128,
                num_convs=0,
                concat_input=False,
                num_classes=19,
            ),
        )
    )
    segmentor.load_state_dict(full, strict=True)
    segmentor.eval()
    x = torch.rand(1, 3, 33, 33)
    with torch.no_grad():
        logits = segmentor.decode_head(segmentor.extract_feat(x))
        ref = F.conv2d(reference_forward(src, 'D', blocks, x), seg['seg.weight'], seg['seg.bias'])
    assert (logits - ref).abs().max().item() < 1e-4
    # the backbone part of a full-model file also serves init_cfg with a prefix
    model = DRN(
        arch='D',
        depth=22,
        base_channels=4,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'full.pth'), prefix='backbone.'),
    )
    model.init_weights()
    assert torch.equal(model.layer6[1].conv2.weight, src['layer6.1.conv2.weight'])


@pytest.mark.parametrize('arch,depth,base', [('C', 26, 4), ('A', 18, 8)])
def test_drnseg_child_indices_c_and_a(arch, depth, base):
    """C's children have a weightless relu at base.2, A's relu + maxpool at base.2/3."""
    block, blocks = VARIANTS[(arch, depth)]
    src = authors_state_dict(arch, block, blocks, base=base, seed=13)
    sd, info = convert_drn(drnseg_state_dict(src, arch))
    assert (info['arch'], info['depth']) == (arch, depth)
    model = DRN(arch=arch, depth=depth, base_channels=base).eval()
    model.load_state_dict(sd, strict=True)
    assert_matches_reference(model, src, arch, blocks)


def test_depth_mismatch_is_refused(tmp_path, monkeypatch):
    block, blocks = VARIANTS[('D', 38)]
    src = authors_state_dict('D', block, blocks, base=4)
    with pytest.raises(DRNCheckpointError) as e:
        convert_drn(src, arch='D', depth=22)
    msg = str(e.value)
    assert 'DRN-D-38' in msg and '1,1,3,4,6,3,1,1' in msg and '1,1,2,2,2,2,1,1' in msg
    assert convert_drn(src)[1]['depth'] == 38  # inferred without --depth
    torch.save(src, tmp_path / 'd38.pth')
    with pytest.raises(SystemExit) as e:
        run_script(monkeypatch, SCRIPT, tmp_path / 'd38.pth', tmp_path / 'out.pth', '--depth', '22')
    assert 'depth 22 mismatch' in str(e.value) and 'DRN-D-38' in str(e.value)
    assert not (tmp_path / 'out.pth').exists()
    # bottleneck vs basic with the same block counts: D-54 is not D-38
    block, blocks = VARIANTS[('D', 54)]
    with pytest.raises(DRNCheckpointError, match='bottleneck'):
        convert_drn(authors_state_dict('D', block, blocks, base=4), depth=38)


def test_arch_mismatch_and_unknown_variant():
    block, blocks = VARIANTS[('C', 26)]
    with pytest.raises(
        DRNCheckpointError, match=r"arch 'D' \(DRN-D\) expected, but the checkpoint is DRN-C"
    ):
        convert_drn(authors_state_dict('C', block, blocks, base=4), arch='D')
    # torchvision ResNet-101 has no DRN-A counterpart
    with pytest.raises(DRNCheckpointError, match='matches no DRN variant'):
        convert_drn(authors_state_dict('A', 'bottleneck', (3, 4, 23, 3), base=8))


def test_not_a_drn_checkpoint():
    vgg = {'features.0.weight': torch.zeros(64, 3, 3, 3), 'classifier.0.weight': torch.zeros(8, 8)}
    with pytest.raises(DRNCheckpointError, match='not a DRN checkpoint'):
        convert_drn(vgg)
    block, blocks = VARIANTS[('D', 22)]
    src = authors_state_dict('D', block, blocks, base=4)
    src['layer4.1.conv2.weight'] = torch.zeros(32, 32, 1, 1)
    with pytest.raises(DRNCheckpointError, match=r'shape mismatch: layer4\.1\.conv2\.weight'):
        convert_drn(src)
    src = authors_state_dict('D', block, blocks, base=4)
    src['aux.weight'] = torch.zeros(1)
    with pytest.raises(DRNCheckpointError, match='aux.weight'):
        convert_drn(src)


class _Payload:
    def __reduce__(self):
        return (print, ('executed',))


def test_loading_stays_weights_only(tmp_path, capsys):
    torch.save(
        {'state_dict': {'layer0.0.weight': torch.zeros(1)}, 'x': _Payload()}, tmp_path / 'evil.pth'
    )
    with pytest.raises(pickle.UnpicklingError):
        load_state_dict_file(tmp_path / 'evil.pth')
    assert 'executed' not in capsys.readouterr().out
