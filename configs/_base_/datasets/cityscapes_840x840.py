# Cityscapes as the DRN authors train DRN-D-105 for their best result (fyu/drn README.md:
# `segment.py train -s 840 --random-scale 2 --random-rotate 10 --batch-size 16`), in segment.py's
# order (train_seg: RandomRotate, RandomScale, RandomCrop, RandomHorizontalFlip): rotation by up to
# +-10 degrees, random scale 0.5-2 (data_transforms.py RandomScale(2) draws from [1/2, 2]), 840x840
# crops, horizontal flips. 2 images per GPU, i.e. the authors' 16 on 8 GPUs. Evaluation is mmseg's:
# whole 1024x2048 images, as segment.py's single-scale test.
# Differs from data_transforms.py: the rotation pads the image with zeros (the authors reflect it)
# and draws a real angle (the authors draw whole degrees); labels are padded with 255 as theirs.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
crop_size = (840, 840)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRotate', prob=1.0, degree=10, pad_val=0, seg_pad_val=255),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
