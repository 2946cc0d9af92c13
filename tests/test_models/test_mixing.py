"""Our heads on mmseg's backbones and mmseg's heads on ours, as full EncoderDecoders."""

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import mmseg_dilated  # noqa: F401

register_all_modules()
NUM_CLASSES = 5
SIZE = 64

PREPROCESSOR = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
# A narrow DRN-D-22 (base_channels=8) keeps the test fast; its structure is the full one.
DRN = dict(type='DRN', arch='D', depth=22, base_channels=8, out_indices=(5, 7))  # layer6, layer8
DRN_CHANNELS = 256  # 512 * 8 / 16
# mmseg's ResNetV1c-D8 as in its deeplabv3_r50-d8 base, at depth 18 for speed.
RESNET_D8 = dict(
    type='ResNetV1c',
    depth=18,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    contract_dilation=True,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
)
HEAD_COMMON = dict(
    num_classes=NUM_CLASSES,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
)

CASES = {
    # mmseg's heads on DRN
    'drn+FCNHead': (
        DRN,
        dict(type='FCNHead', in_channels=DRN_CHANNELS, in_index=1, channels=32, num_convs=1),
    ),
    'drn+ASPPHead': (
        DRN,
        dict(
            type='ASPPHead',
            in_channels=DRN_CHANNELS,
            in_index=1,
            channels=32,
            dilations=(1, 12, 24, 36),
        ),
    ),
    'drn+PSPHead': (
        DRN,
        dict(
            type='PSPHead',
            in_channels=DRN_CHANNELS,
            in_index=1,
            channels=32,
            pool_scales=(1, 2, 3, 6),
        ),
    ),
    # ours on mmseg's ResNetV1c-D8
    'resnet+ContextHead': (
        RESNET_D8,
        dict(type='ContextHead', in_channels=512, in_index=3, module_type='large'),
    ),
    'resnet+DilatedASPPHead': (
        RESNET_D8,
        dict(type='DilatedASPPHead', in_channels=512, in_index=3, channels=32, output_stride=8),
    ),
    'resnet+ParallelContextHead': (
        RESNET_D8,
        dict(type='ParallelContextHead', in_channels=512, in_index=3, channels=32),
    ),
    # ours on ours, with an auxiliary mmseg FCNHead on an earlier DRN level
    'drn+ContextHead+aux': (
        DRN,
        dict(type='ContextHead', in_channels=DRN_CHANNELS, in_index=1, module_type='basic'),
    ),
}


def _samples(n):
    samples = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, NUM_CLASSES, (1, SIZE, SIZE)))
        s.set_metainfo(dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE)))
        samples.append(s)
    return samples


@pytest.mark.parametrize('name', list(CASES))
def test_encoder_decoder_trains_and_predicts(name):
    backbone, head = CASES[name]
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=PREPROCESSOR,
        backbone=backbone,
        decode_head=dict(head, **HEAD_COMMON),
        train_cfg=dict(),
        test_cfg=ConfigDict(mode='whole'),
    )
    if name.endswith('+aux'):
        cfg['auxiliary_head'] = dict(
            type='FCNHead',
            in_channels=DRN_CHANNELS,
            in_index=0,
            channels=16,
            num_convs=1,
            **HEAD_COMMON,
        )
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    inputs = torch.randn(2, 3, SIZE, SIZE)
    samples = _samples(2)
    losses = model.loss(inputs, samples)
    assert 'decode.loss_ce' in losses
    if name.endswith('+aux'):
        assert 'aux.loss_ce' in losses
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    head_params = [p for p in model.decode_head.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in head_params)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.parameters())
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, samples)
        logits = model._forward(inputs)
    # output stride 8 on both backbones
    assert logits.shape == (2, NUM_CLASSES, SIZE // 8, SIZE // 8)
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert preds[0].seg_logits.data.shape == (NUM_CLASSES, SIZE, SIZE)
