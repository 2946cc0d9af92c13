# DRN-D-22 (output stride 8) + DeepLabV3's ASPP as the paper has it (DilatedASPPHead): a 1x1 branch,
# 3x3 branches at rates (12, 24, 36) (taken from output_stride=8), image pooling, 1x1 fusion,
# 256 channels, BN + ReLU everywhere. Leaves pick the DRN variant and its pretrained weights.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='DRN', arch='D', depth=22, out_indices=(7, ), norm_cfg=norm_cfg),
    decode_head=dict(
        type='DilatedASPPHead',
        in_channels=512,
        in_index=0,
        channels=256,
        output_stride=8,
        image_pooling=True,
        fusion_kernel_size=1,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
