import math

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmseg.registry import MODELS

from mmseg_dilated.models import common
from mmseg_dilated.models.backbones import DilatedVGG

CONVS = [
    'conv1_1',
    'conv1_2',
    'conv2_1',
    'conv2_2',
    'conv3_1',
    'conv3_2',
    'conv3_3',
    'conv4_1',
    'conv4_2',
    'conv4_3',
    'conv5_1',
    'conv5_2',
    'conv5_3',
]


def test_param_count_is_vgg16_without_classifier():
    with torch.device('meta'):
        m = DilatedVGG()
    # torchvision vgg16: 138,357,544 parameters, of which the last classifier
    # (4096 x 1000 + 1000) is not part of the front-end.
    assert sum(p.numel() for p in m.parameters()) == 138_357_544 - 4_097_000


def test_structure():
    with torch.device('meta'):
        m = DilatedVGG()
    for name in CONVS:
        conv = getattr(m, name).conv
        d = 2 if name.startswith('conv5') else 1
        assert (conv.kernel_size, conv.dilation, conv.padding, conv.stride) == (
            (3, 3),
            (d, d),
            (d, d),
            (1, 1),
        )
        assert conv.bias is not None and not getattr(m, name).with_norm
    fc6, fc7 = m.fc6.conv, m.fc7.conv
    assert (fc6.kernel_size, fc6.dilation, fc6.padding) == ((7, 7), (4, 4), (12, 12))
    assert (fc6.in_channels, fc6.out_channels) == (512, 4096)
    assert (fc7.kernel_size, fc7.in_channels, fc7.out_channels) == ((1, 1), 4096, 4096)
    assert m.drop6.p == m.drop7.p == 0.5
    pools = [n for n, x in m.named_children() if isinstance(x, nn.MaxPool2d)]
    assert pools == ['pool1', 'pool2', 'pool3']  # pool4 / pool5 removed
    assert m.level_channels == (64, 128, 256, 512, 512, 4096)


@pytest.mark.parametrize(
    'size,sides',
    [(33, (17, 9, 5, 5, 5, 5)), (64, (32, 16, 8, 8, 8, 8)), (65, (33, 17, 9, 9, 9, 9))],
)
def test_levels_output_stride_8(size, sides):
    m = DilatedVGG(fc_channels=32, out_indices=(0, 1, 2, 3, 4, 5)).eval()
    with torch.no_grad():
        outs = m(torch.rand(1, 3, size, size))
    assert [tuple(o.shape) for o in outs] == [
        (1, c, s, s) for c, s in zip((64, 128, 256, 512, 512, 32), sides)
    ]
    assert m.out_channels == (64, 128, 256, 512, 512, 32)
    m = DilatedVGG(fc_channels=16, out_indices=(4,)).eval()
    assert m.out_channels == (512,)
    with torch.no_grad():
        (out,) = m(torch.rand(1, 3, size, size))
    assert out.shape == (1, 512, sides[4], sides[4])


def test_dropout_only_in_train_mode():
    m = DilatedVGG(fc_channels=16)
    m.init_weights()
    x = torch.rand(1, 3, 33, 33)
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(x)[0], m(x)[0])
        ref = m(x)[0]
        m.train()
        a, b = m(x)[0], m(x)[0]
    assert not torch.equal(a, b)
    # the dropout after fc7 zeroes entries and scales the kept ones by 1 / (1 - 0.5)
    assert ((a == 0) & (ref > 0)).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match='dilations'):
        DilatedVGG(dilations=(1, 1, 2, 4))
    with pytest.raises(ValueError, match='out_indices'):
        DilatedVGG(out_indices=(6,))
    with pytest.raises(ValueError, match='frozen_stages'):
        DilatedVGG(frozen_stages=7)
    with pytest.raises(ValueError, match='fc_channels'):
        DilatedVGG(fc_channels=0)


def test_batch_norm_option_and_norm_eval():
    m = DilatedVGG(fc_channels=16, norm_cfg=dict(type='BN'), norm_eval=True)
    for name in CONVS:
        assert getattr(m, name).with_norm and getattr(m, name).conv.bias is None
    assert not m.fc6.with_norm and not m.fc7.with_norm
    m.init_weights()
    m.train()
    bns = [x for x in m.modules() if isinstance(x, _BatchNorm)]
    assert len(bns) == 13 and all(not bn.training for bn in bns)
    before = bns[5].running_mean.clone()
    m(torch.rand(2, 3, 33, 33))
    assert torch.equal(before, bns[5].running_mean)


def test_frozen_stages():
    m = DilatedVGG(fc_channels=16, frozen_stages=2, norm_cfg=dict(type='BN'))
    m.train()
    for name in ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2']:
        mod = getattr(m, name)
        assert not any(p.requires_grad for p in mod.parameters()) and not mod.bn.training
    for name in ['conv3_1', 'conv5_3', 'fc6', 'fc7']:
        mod = getattr(m, name)
        assert all(p.requires_grad for p in mod.parameters()) and mod.training
    assert all(p.requires_grad for p in DilatedVGG(fc_channels=16).parameters())


def test_with_cp_same_outputs_and_gradients(monkeypatch):
    torch.manual_seed(0)
    ref = DilatedVGG(fc_channels=16)
    ref.init_weights()
    cp_model = DilatedVGG(fc_channels=16, with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    ref.train()
    cp_model.train()  # dropout on: checkpointing must replay the same masks
    calls = []
    real_checkpoint = common.cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real_checkpoint(*args, **kwargs)

    monkeypatch.setattr(common.cp, 'checkpoint', counting_checkpoint)
    x = torch.rand(1, 3, 33, 33)
    results = []
    for model in (ref, cp_model):
        torch.manual_seed(1)
        inp = x.clone().requires_grad_(True)
        (out,) = model(inp)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), inp.grad, {n: p.grad for n, p in model.named_parameters()}))
    assert len(calls) == 6 and set(calls) == {False}  # conv1..conv5 levels + the fc6/fc7 level
    (o1, g1, p1), (o2, g2, p2) = results
    torch.testing.assert_close(o2, o1, rtol=0, atol=1e-6)
    torch.testing.assert_close(g2, g1, rtol=1e-5, atol=1e-8)
    for n in p1:
        assert p1[n] is not None, n
        torch.testing.assert_close(p2[n], p1[n], rtol=1e-5, atol=1e-8, msg=n)
    # without a grad-requiring input (an image) the levels are still checkpointed
    calls.clear()
    cp_model(x)[0].sum().backward()
    assert len(calls) == 6
    assert cp_model.conv1_1.conv.weight.grad is not None
    # and not at inference
    calls.clear()
    with torch.no_grad():
        cp_model(x)
        cp_model.eval()
        cp_model(x)
    assert not calls
    # the package's one rule (models/common.py checkpoint_if): whenever autograd records, also in
    # eval mode (gradients of an eval-mode model, as the receptive-field analysis takes them)
    cp_model(x)[0].sum().backward()
    assert len(calls) == 6


def test_default_init_and_registry():
    m = MODELS.build(dict(type='DilatedVGG', fc_channels=16))
    assert isinstance(m, DilatedVGG)
    m.init_weights()
    w = m.conv5_1.conv.weight  # 512 x 512 x 3 x 3, fan_out 4608
    assert abs(w.std().item() - math.sqrt(2.0 / 4608)) < 0.02 * math.sqrt(2.0 / 4608)
    assert torch.all(m.conv5_1.conv.bias == 0)
    assert all(isinstance(getattr(m, n), ConvModule) for n in CONVS)
    with pytest.warns(UserWarning, match='deprecated'):
        m = DilatedVGG(fc_channels=16, pretrained='x.pth')
    assert m.init_cfg == dict(type='Pretrained', checkpoint='x.pth')


def test_block_dilations_per_conv():
    m = DilatedVGG(fc_channels=16, block_dilations={5: (1, 2, 5), 6: (3,)})
    assert [getattr(m, f'conv5_{j}').conv.dilation for j in (1, 2, 3)] == [(1, 1), (2, 2), (5, 5)]
    assert [getattr(m, f'conv5_{j}').conv.padding for j in (1, 2, 3)] == [(1, 1), (2, 2), (5, 5)]
    assert m.fc6.conv.dilation == (3, 3) and m.fc6.conv.padding == (9, 9)
    assert m.conv4_3.conv.dilation == (1, 1)
    # rates are not weights: same keys, same output side (stride 8)
    default = DilatedVGG(fc_channels=16)
    assert m.state_dict().keys() == default.state_dict().keys()
    assert m.eval()(torch.rand(1, 3, 33, 33))[0].shape == (1, 16, 5, 5)
    # the default schedule spelled per conv is the same network
    m.load_state_dict(default.state_dict())
    same = DilatedVGG(fc_channels=16, block_dilations={5: (2,), 6: (4,)}).eval()
    same.load_state_dict(default.state_dict())
    x = torch.rand(1, 3, 40, 40)
    assert torch.equal(same(x)[0], default.eval()(x)[0])
    assert not torch.allclose(m(x)[0], default(x)[0])


def test_block_dilations_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r'block_dilations\[5\] must give 3 rates .*'
        r'valid lengths: \(1, 3\)\); got 2',
    ):
        DilatedVGG(block_dilations={5: (1, 2)})
    with pytest.raises(ValueError, match=r'unknown level 7; valid levels are 1..6'):
        DilatedVGG(block_dilations={7: (1,)})
    with pytest.raises(ValueError, match=r'block_dilations\[6\] must be .*positive ints'):
        DilatedVGG(block_dilations={6: (-4,)})
