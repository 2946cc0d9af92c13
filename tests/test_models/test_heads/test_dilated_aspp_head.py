import copy

import pytest
import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmseg.models.decode_heads import ASPPHead

from mmseg_dilated.models.decode_heads import DilatedASPPHead

from _helpers import assert_head_same_outputs_and_grads

BN = dict(type='BN')


def _rates(head):
    """Dilation of each conv branch, read from the modules themselves."""
    rates = []
    for branch in head.aspp_modules:
        conv = (
            branch.depthwise_conv.conv
            if isinstance(branch, DepthwiseSeparableConvModule)
            else branch.conv
        )
        rates.append(conv.dilation[0])
    return tuple(rates)


def test_parity_with_mmseg_aspp_head():
    torch.manual_seed(0)
    common = dict(
        in_channels=32, channels=16, num_classes=7, norm_cfg=BN, dilations=(1, 12, 24, 36)
    )
    theirs = ASPPHead(**common)
    ours = DilatedASPPHead(fusion_kernel_size=3, **common)
    # Non-trivial BN statistics and affine parameters.
    for m in theirs.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_()
    state = theirs.state_dict()
    # The names are identical: the state dict loads as is.
    assert set(ours.state_dict()) == set(state)
    ours.load_state_dict(state, strict=True)
    theirs.eval()
    ours.eval()
    x = torch.randn(2, 32, 23, 29)
    with torch.no_grad():
        expected = theirs([x])
        out = ours([x])
    assert out.shape == (2, 7, 23, 29)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize(
    'output_stride,rates', [(16, (1, 6, 12, 18)), (8, (1, 12, 24, 36)), (None, (1, 12, 24, 36))]
)
def test_rates_follow_output_stride(output_stride, rates):
    head = DilatedASPPHead(in_channels=16, channels=8, num_classes=3, output_stride=output_stride)
    assert head.dilations == rates
    assert _rates(head) == rates
    kernels = [b.conv.kernel_size for b in head.aspp_modules]
    assert kernels == [(1, 1), (3, 3), (3, 3), (3, 3)]
    assert [b.conv.padding for b in head.aspp_modules] == [(0, 0)] + [(r, r) for r in rates[1:]]


def test_paper_defaults():
    head = DilatedASPPHead(in_channels=16, channels=8, num_classes=3, norm_cfg=BN)
    # Image pooling: global average pool, 1x1 conv, BN, ReLU.
    pool, conv = head.image_pool
    assert isinstance(pool, torch.nn.AdaptiveAvgPool2d)
    assert conv.conv.kernel_size == (1, 1)
    assert conv.with_norm and conv.with_activation
    # 1x1 projection of 4 conv branches + pooling, with BN + ReLU.
    assert head.bottleneck.conv.kernel_size == (1, 1)
    assert head.bottleneck.conv.in_channels == 5 * 8
    assert head.bottleneck.with_norm and head.bottleneck.with_activation
    assert all(b.with_norm for b in head.aspp_modules)
    head.eval()
    assert head([torch.randn(1, 16, 9, 9)]).shape == (1, 3, 9, 9)


def test_rates_given_directly():
    head = DilatedASPPHead(in_channels=16, channels=8, num_classes=3, dilations=(1, 3, 5))
    assert _rates(head) == (1, 3, 5)
    assert head.output_stride is None
    assert head.bottleneck.conv.in_channels == 4 * 8
    assert head([torch.randn(1, 16, 9, 9)]).shape == (1, 3, 9, 9)


def test_image_pooling_off():
    kwargs = dict(in_channels=4, channels=4, num_classes=2, dilations=(1,))
    local = DilatedASPPHead(image_pooling=False, **kwargs)
    assert local.image_pool is None
    assert local.bottleneck.conv.in_channels == 4
    pooled = DilatedASPPHead(**kwargs)
    local.eval()
    pooled.eval()
    # With only 1x1 convs and no pooling the head is pixel-wise: a change at
    # one corner leaves the opposite corner alone; image pooling spreads it.
    x = torch.randn(1, 4, 8, 8)
    y = x.clone()
    y[..., 0, 0] += 5
    with torch.no_grad():
        assert torch.equal(local([x])[..., -1, -1], local([y])[..., -1, -1])
        assert not torch.equal(pooled([x])[..., -1, -1], pooled([y])[..., -1, -1])


def test_separable():
    kwargs = dict(in_channels=32, channels=16, num_classes=3, norm_cfg=BN)
    sep = DilatedASPPHead(separable=True, **kwargs)
    dense = DilatedASPPHead(**kwargs)
    assert isinstance(sep.aspp_modules[0], ConvModule)  # the 1x1 branch
    for branch, rate in zip(sep.aspp_modules[1:], (12, 24, 36)):
        assert isinstance(branch, DepthwiseSeparableConvModule)
        assert branch.depthwise_conv.conv.groups == 32
        assert branch.depthwise_conv.conv.dilation == (rate, rate)
        assert branch.pointwise_conv.conv.kernel_size == (1, 1)
    assert _rates(sep) == (1, 12, 24, 36)
    n_sep = sum(p.numel() for p in sep.aspp_modules.parameters())
    n_dense = sum(p.numel() for p in dense.aspp_modules.parameters())
    assert n_sep < n_dense
    sep.eval()
    assert sep([torch.randn(1, 32, 10, 10)]).shape == (1, 3, 10, 10)


def test_backbone_widths():
    for in_channels in (512, 2048):  # DRN, ResNetV1c-D8
        head = DilatedASPPHead(in_channels=in_channels, channels=16, num_classes=19, norm_cfg=BN)
        out = head([torch.randn(2, in_channels, 9, 9)])
        assert out.shape == (2, 19, 9, 9)


@pytest.mark.parametrize('separable', [False, True])
def test_with_cp(separable):
    torch.manual_seed(0)
    kwargs = dict(
        in_channels=16,
        channels=8,
        num_classes=4,
        dropout_ratio=0,
        norm_cfg=BN,
        dilations=(1, 2, 3),
        separable=separable,
    )
    ref = DilatedASPPHead(**kwargs)
    cp_head = DilatedASPPHead(with_cp=True, **kwargs)
    cp_head.load_state_dict(ref.state_dict())
    assert_head_same_outputs_and_grads(
        ref, cp_head, torch.randn(2, 16, 10, 10), torch.randn(2, 4, 10, 10)
    )


def test_bad_arguments():
    kwargs = dict(in_channels=8, channels=4, num_classes=3)
    with pytest.raises(ValueError, match='not both'):
        DilatedASPPHead(output_stride=8, dilations=(1, 12), **kwargs)
    with pytest.raises(ValueError, match=r'output_stride must be one of'):
        DilatedASPPHead(output_stride=4, **kwargs)
    with pytest.raises(ValueError, match='dilations'):
        DilatedASPPHead(dilations=(), **kwargs)
    with pytest.raises(ValueError, match='dilations'):
        DilatedASPPHead(dilations=(1, -2), **kwargs)
    with pytest.raises(ValueError, match='fusion_kernel_size'):
        DilatedASPPHead(fusion_kernel_size=2, **kwargs)


def test_channels_last_input_stays_channels_last():
    """The upsampled pooling branch takes the layout of the input, so the
    concatenation fed to the fusion conv is NHWC like every other branch
    (mixed layouts make torch.cat fall back to NCHW, and the fusion conv then
    transposes it back on every forward); the output is unchanged."""
    torch.manual_seed(0)
    head = DilatedASPPHead(
        in_channels=16, channels=8, num_classes=3, norm_cfg=BN, dilations=(1, 2, 3)
    ).eval()
    fused_inputs = []
    head.bottleneck.register_forward_pre_hook(lambda m, args: fused_inputs.append(args[0]))
    x = torch.randn(2, 16, 11, 13)
    x_nhwc = x.contiguous(memory_format=torch.channels_last)
    head_nhwc = copy.deepcopy(head).to(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = head([x])
        out = head_nhwc([x_nhwc])
    assert fused_inputs[0].is_contiguous()
    concat = fused_inputs[1]
    assert concat.shape == (2, 4 * 8, 11, 13)
    assert concat.is_contiguous(memory_format=torch.channels_last)
    assert not concat.is_contiguous()
    assert torch.allclose(out, expected, atol=1e-5)
