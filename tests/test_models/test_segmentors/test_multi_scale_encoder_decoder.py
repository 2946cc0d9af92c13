"""MultiScaleEncoderDecoder against the wrapped EncoderDecoder run scale by scale by hand, and end
to end through tools/train.py and tools/test.py."""

import copy
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_dilated.models.segmentors import MultiScaleEncoderDecoder

from _helpers import REPO, TINY_CONFIG, assert_ok, run_tool

# A small decode path: DRN-D-22's stem and first three levels (output stride 4, 8 channels) and
# mmseg's FCNHead, without dropout so that training-mode runs repeat exactly.
BASE = dict(
    type='EncoderDecoder',
    backbone=dict(type='DRN', arch='D', depth=22, base_channels=2, num_levels=3),
    decode_head=dict(
        type='FCNHead',
        in_channels=8,
        channels=8,
        num_convs=1,
        num_classes=3,
        dropout_ratio=0.0,
        loss_decode=dict(type='CrossEntropyLoss'),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
SIZE = 40


def build(**ms):
    """(EncoderDecoder, MultiScaleEncoderDecoder with ``ms``), the same weights."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    plain = MODELS.build(ConfigDict(copy.deepcopy(BASE)))
    plain.init_weights()
    multi = MODELS.build(ConfigDict(copy.deepcopy(BASE), type='MultiScaleEncoderDecoder', **ms))
    multi.init_weights()
    missing, unexpected = multi.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('attention.') for k in missing)
    assert type(multi) is MultiScaleEncoderDecoder
    return plain, multi


def samples(n, size=SIZE):
    torch.manual_seed(1)
    out = []
    for _ in range(n):
        s = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size))
        )
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, size, size)))
        out.append(s)
    return out


def by_hand(plain, inputs, scales):
    """Each scale's logits from the plain EncoderDecoder (its ``_forward``: backbone + decode
    head) on the input resized by hand, resized back to the input's size."""
    h, w = inputs.shape[-2:]
    logits = []
    for s in scales:
        x = (
            inputs
            if s == 1
            else F.interpolate(
                inputs,
                size=(int(h * s + 0.5), int(w * s + 0.5)),
                mode='bilinear',
                align_corners=False,
            )
        )
        logits.append(
            F.interpolate(plain._forward(x), size=(h, w), mode='bilinear', align_corners=False)
        )
    return logits


@pytest.mark.parametrize('fusion', ['mean', 'max'])
def test_fusion_equals_the_scales_computed_by_hand(fusion):
    scales = (0.5, 0.75, 1.0, 1.5)
    plain, multi = build(scales=scales, fusion=fusion)
    plain.eval(), multi.eval()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        logits = torch.stack(by_hand(plain, inputs, scales))
        expected = logits.mean(0) if fusion == 'mean' else logits.max(0).values
        results = multi.predict(inputs, samples(2))
    got = torch.stack([r.seg_logits.data for r in results])
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.equal(torch.stack([r.pred_sem_seg.data[0] for r in results]), expected.argmax(1))
    # the scales differ, or the test would prove nothing
    assert not torch.allclose(logits[0], logits[2], atol=1e-3)


def test_attention_weights_sum_to_one_per_pixel():
    scales = (0.5, 1.0, 1.5)
    plain, multi = build(scales=scales, fusion='attention', attention_cfg=dict(channels=16))
    # the last layer starts at zero: uniform weights, the mean
    assert not multi.attention.scale_logits.weight.any()
    torch.nn.init.normal_(multi.attention.scale_logits.weight, std=0.5)
    plain.eval(), multi.eval()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        weights = multi.scale_weights(inputs)
        fused = multi(inputs, mode='tensor')
        logits = by_hand(plain, inputs, scales)
    assert weights.shape == (2, 3, SIZE, SIZE)
    assert (weights >= 0).all()
    assert torch.allclose(weights.sum(1), torch.ones(2, SIZE, SIZE), atol=1e-6)
    assert weights.std(dim=(2, 3)).min() > 1e-3  # they vary over the image
    expected = sum(weights[:, i : i + 1] * logits[i] for i in range(3))
    assert torch.allclose(fused, expected, atol=1e-5)


@pytest.mark.parametrize('fusion', ['mean', 'max', 'attention'])
@pytest.mark.parametrize(
    'test_cfg', [dict(mode='whole'), dict(mode='slide', crop_size=(24, 24), stride=(16, 16))]
)
def test_one_scale_equals_the_encoder_decoder(fusion, test_cfg):
    plain, multi = build(scales=(1.0,), fusion=fusion)
    plain.test_cfg = multi.test_cfg = ConfigDict(test_cfg)
    plain.eval(), multi.eval()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        ref, got = plain.predict(inputs, samples(2)), multi.predict(inputs, samples(2))
        # tensor mode: the plain model's logits at feature resolution, ours at the input's size
        assert torch.equal(
            multi(inputs, mode='tensor'),
            F.interpolate(plain(inputs, mode='tensor'), size=(SIZE, SIZE), mode='bilinear'),
        )
    for r, g in zip(ref, got):
        assert torch.equal(r.seg_logits.data, g.seg_logits.data)
        assert torch.equal(r.pred_sem_seg.data, g.pred_sem_seg.data)
    if fusion == 'mean':
        plain.train(), multi.train()
        ref_loss = plain.loss(inputs, samples(2))
        got_loss = multi.loss(inputs, samples(2))
        assert ref_loss.keys() == got_loss.keys() == {'decode.loss_ce', 'decode.acc_seg'}
        assert torch.equal(ref_loss['decode.loss_ce'], got_loss['decode.loss_ce'])


@pytest.mark.parametrize(
    'fusion, scale_loss_weight', [('mean', 0.0), ('attention', 0.0), ('max', 0.5)]
)
def test_gradients_reach_the_backbone_through_every_scale(fusion, scale_loss_weight):
    scales = (0.5, 1.0, 1.25)
    _, multi = build(scales=scales, fusion=fusion, scale_loss_weight=scale_loss_weight)
    if fusion == 'attention':
        torch.nn.init.normal_(multi.attention.scale_logits.weight, std=0.5)
    features = []

    def keep(module, args, output):
        output[-1].retain_grad()
        features.append(output[-1])

    multi.backbone.register_forward_hook(keep)
    multi.train()
    losses = multi.loss(torch.rand(2, 3, SIZE, SIZE), samples(2))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert [tuple(f.shape[-2:]) for f in features] == [(5, 5), (10, 10), (13, 13)]
    for scale, feat in zip(scales, features):
        assert feat.grad is not None and feat.grad.abs().sum() > 0, f'no gradient at {scale}'
    assert multi.backbone.layer0[0].weight.grad.abs().sum() > 0
    if fusion == 'attention':
        assert multi.attention.scale_logits.weight.grad.abs().sum() > 0


def test_per_scale_losses_are_the_heads_own_losses_weighted():
    scales = (0.5, 1.0)
    plain, multi = build(scales=scales, fusion='mean', scale_loss_weight=0.4)
    plain.train(), multi.train()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    losses = multi.loss(inputs, samples(2))
    assert set(losses) == {
        'decode.loss_ce',
        'decode.acc_seg',
        'decode_x0.5.loss_ce',
        'decode_x0.5.acc_seg',
        'decode_x1.loss_ce',
        'decode_x1.acc_seg',
    }
    gt = torch.stack([s.gt_sem_seg.data[0] for s in samples(2)])
    fused = torch.stack(by_hand(plain, inputs, scales)).mean(0)
    assert torch.allclose(losses['decode.loss_ce'], F.cross_entropy(fused, gt), atol=1e-6)
    # the plain model's loss on the half-size input: its head resizes the logits to the label
    half = F.interpolate(inputs, size=(SIZE // 2, SIZE // 2), mode='bilinear', align_corners=False)
    ref = plain.loss(half, samples(2))['decode.loss_ce']
    assert torch.allclose(losses['decode_x0.5.loss_ce'], 0.4 * ref, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"fusion must be one of \('mean', 'max', 'attention'\)"):
        build(fusion='sum')
    with pytest.raises(ValueError, match='scales must be a non-empty list/tuple of distinct'):
        build(scales=(0.5, 0.5))
    with pytest.raises(ValueError, match='scales must be'):
        build(scales=(0, 1.0))
    with pytest.raises(ValueError, match='scale_loss_weight must be a number >= 0'):
        build(scale_loss_weight=-1)
    with pytest.raises(ValueError, match="attention_cfg is only used with fusion='attention'"):
        build(fusion='mean', attention_cfg=dict(channels=8))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, python):
    """Four iterations of the tiny config as a two-scale attention model, with tools/train.py."""
    cwd = tmp_path_factory.mktemp('multiscale')
    config = cwd / 'multiscale_tiny.py'
    config.write_text(
        f'_base_ = [{TINY_CONFIG!r}]\n'
        "model = dict(type='MultiScaleEncoderDecoder', scales=(0.5, 1.0), fusion='attention',\n"
        '             attention_cfg=dict(channels=8), scale_loss_weight=0.4)\n'
    )
    proc = run_tool(
        [python, osp.join(REPO, 'tools', 'train.py'), str(config), '--work-dir', 'work'], cwd
    )
    return cwd, config, assert_ok(proc, 'tools/train.py')


@pytest.mark.slow
def test_trains_and_tests_through_the_tools(trained, python):
    cwd, config, out = trained
    # the fused loss, both per-scale losses and the context head's front-end loss per scale
    for key in (
        'decode.loss_ce',
        'decode_x0.5.loss_ce',
        'decode_x1.loss_ce',
        'decode_x0.5.loss_frontend',
    ):
        assert re.search(rf'\b{re.escape(key)}: [0-9.]+', out), out[-3000:]
    assert re.search(r'Iter\(val\) \[3/3\].*mIoU: [0-9.]+', out)
    ckpt = torch.load(cwd / 'work' / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert 'attention.scale_logits.weight' in ckpt['state_dict']
    # mmseg's test-time augmentation (SegTTAModel) on top of the multi-scale model
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'test.py'),
            str(config),
            'work/iter_4.pth',
            '--work-dir',
            'eval',
            '--tta',
        ],
        cwd,
    )
    assert re.search(r'Iter\(test\) \[3/3\].*mIoU: [0-9.]+', assert_ok(proc, 'tools/test.py'))
