# mmseg's ResNet-50-D8 (ResNetV1c, dilations 1, 1, 2, 4: output stride 8) + DeepLabV3's ASPP as
# the paper has it (DilatedASPPHead: 1x1 fusion, 256 channels, rates 12, 24, 36 from output_stride);
# mmseg's deeplabv3_r50-d8 differs only in the head (ASPPHead: 3x3 fusion, 512 channels).
# Backbone, auxiliary FCNHead and ImageNet weights come from mmseg's own deeplabv3_r50-d8 base;
# only the decode head (and the class count, 21 for VOC) is replaced. The loss stays mmseg's,
# averaged over all pixels, ignored ones included (avg_non_ignore=False), as in the mmseg config
# whose figure it compares with.
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='DilatedASPPHead',
        in_channels=2048,
        in_index=3,
        channels=256,
        output_stride=8,
        image_pooling=True,
        fusion_kernel_size=1,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=dict(num_classes=21),
)
