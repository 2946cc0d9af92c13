import pytest
import torch

from mmseg_dilated.models.decode_heads import ParallelContextHead

from _helpers import assert_head_same_outputs_and_grads


def test_structure_and_shape():
    head = ParallelContextHead(
        in_channels=2048, channels=32, num_classes=19, norm_cfg=dict(type='BN')
    )
    assert head.dilations == (1, 2, 4, 8)
    assert [b.conv.dilation for b in head.branches] == [(1, 1), (2, 2), (4, 4), (8, 8)]
    assert [b.conv.padding for b in head.branches] == [(1, 1), (2, 2), (4, 4), (8, 8)]
    assert all(b.conv.kernel_size == (3, 3) for b in head.branches)
    # 2048 backbone channels are reduced before the branches.
    assert head.input_conv.conv.in_channels == 2048
    assert head.input_conv.conv.out_channels == 32
    # The fusion conv sees the four concatenated branches.
    assert head.fusion.conv.in_channels == 4 * 32
    assert head.fusion.conv.kernel_size == (1, 1)
    assert all(m.with_norm for m in [head.input_conv, head.fusion] + list(head.branches))
    out = head([torch.randn(2, 2048, 11, 13)])
    assert out.shape == (2, 19, 11, 13)

    # No reduction needed when the input already has `channels` channels.
    head = ParallelContextHead(in_channels=512, channels=512, num_classes=19, dilations=(1, 3))
    assert head.input_conv is None
    assert head.fusion.conv.in_channels == 2 * 512
    assert head([torch.randn(1, 512, 6, 6)]).shape == (1, 19, 6, 6)


def test_fusion_by_hand():
    """Branch k copies the input from its top-left tap, i.e. shifts it by
    (d_k, d_k); the fusion weighs branch k by k + 1. By hand, the features
    are sum_k (k + 1) * shift(x, d_k) with zeros shifted in."""
    channels, dilations = 3, (1, 2, 4, 8)
    head = ParallelContextHead(
        in_channels=channels, channels=channels, num_classes=2, dilations=dilations
    )
    eye = torch.eye(channels)
    with torch.no_grad():
        for branch in head.branches:
            branch.conv.weight.zero_()
            branch.conv.weight[:, :, 0, 0] = eye
            branch.conv.bias.zero_()
        head.fusion.conv.weight.copy_(
            torch.cat([(k + 1) * eye for k in range(4)], dim=1)[:, :, None, None]
        )
        head.fusion.conv.bias.zero_()
        x = torch.rand(2, channels, 12, 12)  # >= 0: the ReLUs pass it
        feats = head._forward_feature([x])
    expected = torch.zeros_like(x)
    for k, d in enumerate(dilations):
        shifted = torch.zeros_like(x)
        shifted[:, :, d:, d:] = x[:, :, :-d, :-d]
        expected += (k + 1) * shifted
    assert torch.allclose(feats, expected, atol=1e-6)
    # cls_seg on top (eval: no dropout).
    head.eval()
    with torch.no_grad():
        assert torch.allclose(head([x]), head.conv_seg(expected), atol=1e-5)


def test_with_cp():
    torch.manual_seed(0)
    kwargs = dict(
        in_channels=16, channels=8, num_classes=4, dropout_ratio=0, norm_cfg=dict(type='BN')
    )
    ref = ParallelContextHead(**kwargs)
    cp_head = ParallelContextHead(with_cp=True, **kwargs)
    cp_head.load_state_dict(ref.state_dict())
    assert_head_same_outputs_and_grads(
        ref, cp_head, torch.randn(2, 16, 10, 10), torch.randn(2, 4, 10, 10)
    )


def test_bad_arguments():
    for dilations in [(), (1, 0), 2]:
        with pytest.raises(ValueError, match='dilations'):
            ParallelContextHead(in_channels=8, channels=4, num_classes=3, dilations=dilations)
