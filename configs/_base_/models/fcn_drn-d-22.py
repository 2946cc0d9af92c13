# The root of the DRN model bases: the DRN authors' segmentation model (DRNSeg, fyu/drn segment.py
# l. 81-119): DRN-D-22 at output stride 8, then a 1x1 classifier on the last level (mmseg's FCNHead
# with no convs), as DRNSeg has it:
#   - no dropout (DRNSeg has none);
#   - the classifier initialised N(0, 2 / n), n = 1 x 1 x classes (segment.py l. 96-98): mmengine's
#     Kaiming init, fan_out, ReLU gain, bias 0, which is that formula (std 0.324 for 19 classes);
#   - the loss averaged over the valid pixels (segment.py l. 351: NLLLoss2d(ignore_index=255)):
#     avg_non_ignore=True, where mmseg's default averages over all pixels, ignored ones included.
# DRNSeg upsamples the scores with a fixed bilinear ConvTranspose2d (segment.py l. 99-107);
# mmseg resizes the logits bilinearly instead.
# Every other DRN base inherits this file and replaces only the decode head, as the R-50-D8 bases
# inherit mmseg's deeplabv3_r50-d8.py. Leaves pick the DRN variant and its pretrained weights.
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
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True
        ),
        init_cfg=dict(
            type='Kaiming',
            mode='fan_out',
            nonlinearity='relu',
            distribution='normal',
            bias=0,
            override=dict(name='conv_seg'),
        ),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
