# DRN-D-105 + basic context module (Cityscapes schedule); optimiser and schedule as the DRN-D-22
# config. The training pipeline below is shared with aspp_drn-d-105_8xb2-80k_cityscapes-840x840.py
# (tests/test_configs.py checks they agree).
#   python tools/model_converters/drn2mmseg.py drn_d_105-12b40979.pth pretrain/drn_d_105_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb2-80k_cityscapes-512x1024.py'
# The DRN authors' DRN-D-105 recipe (75.6 mIoU val): 840x840 crops, random scale 0.5-2 and random
# rotation within +-10 degrees, batch 16; whole-image testing at 1024x2048 as mmseg's base.
crop_size = (840, 840)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomRotate', prob=1.0, degree=10, pad_val=0, seg_pad_val=255),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=105, init_cfg=dict(checkpoint='pretrain/drn_d_105_mmseg.pth')))
