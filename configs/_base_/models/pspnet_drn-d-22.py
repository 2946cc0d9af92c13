# DRN-D-22 (output stride 8, from fcn_drn-d-22.py) + mmseg's PSPHead (pyramid pooling 1, 2, 3, 6) on
# the 512-channel last level, and mmseg's PSPNet auxiliary head: an FCNHead (one 3x3 conv, loss
# weight 0.4) on DRN level 5 (index 4: 256 channels at dilation 2), the level that plays ResNet-D8's
# stage 3 (dilation 2), where mmseg's pspnet_r50-d8 hangs it. Leaves pick the DRN variant and its
# pretrained weights; a Bottleneck variant (DRN-D-54/105) must set auxiliary_head.in_channels=1024.
# Dropout 0.1 and the N(0, 0.01) classifier init are mmseg's PSPNet heads'; both losses are averaged
# over the valid pixels as the DRN authors' (fyu/drn segment.py l. 351), avg_non_ignore=True.
_base_ = './fcn_drn-d-22.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(out_indices=(4, 7)),
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=512,
        in_index=1,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True
        ),
    ),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=0,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4, avg_non_ignore=True
        ),
    ),
)
