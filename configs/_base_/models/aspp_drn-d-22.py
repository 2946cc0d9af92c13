# DRN-D-22 (output stride 8, from fcn_drn-d-22.py) + DeepLabV3's ASPP as the paper has it
# (DilatedASPPHead): a 1x1 branch, 3x3 branches at rates (12, 24, 36) (taken from output_stride=8),
# image pooling, 1x1 fusion, 256 channels, BN + ReLU everywhere. Dropout 0.1 before the classifier
# and its N(0, 0.01) init are those of mmseg's heads and DeepLabV3 configs (the head is theirs, not
# DRNSeg's); the loss is averaged over the valid pixels as the DRN authors' (fyu/drn segment.py
# l. 351: NLLLoss2d(ignore_index=255)), avg_non_ignore=True. Leaves pick the DRN variant and its
# pretrained weights.
_base_ = './fcn_drn-d-22.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
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
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True
        ),
    )
)
