# The root of the DRN model bases: the DRN authors' segmentation model (DRNSeg in fyu/drn
# segment.py): DRN-D-22 at output stride 8, then a 1x1 classifier on the last level (mmseg's
# FCNHead with no convs; DRNSeg has no dropout, so none here). Every other DRN base inherits this
# file and replaces only the decode head, as the R-50-D8 bases inherit mmseg's deeplabv3_r50-d8.py.
# Leaves pick the DRN variant and its pretrained weights.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='DRN', arch='D', depth=22, out_indices=(7,), norm_cfg=norm_cfg),
    decode_head=dict(
        type='FCNHead',
        in_channels=512,
        in_index=0,
        channels=512,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
