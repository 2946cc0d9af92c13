# Cityscapes as the DRN authors train DRN-D-105 for their best result (fyu/drn README.md l. 173-177:
# `segment.py train -s 840 --random-scale 2 --random-rotate 10 --batch-size 16`), in segment.py's
# order (train_seg, l. 360-368: RandomRotate, RandomScale, RandomCrop, RandomHorizontalFlip):
# rotation by up to +-10 degrees, random scale 0.5-2 (data_transforms.py l. 48-66: RandomScale(2)
# draws from [1/2, 2]), 840x840 crops, horizontal flips. 2 images per GPU, i.e. the authors' 16 on
# 8 GPUs. Evaluation is mmseg's: whole 1024x2048 images, one scale.
# Padding: an image scaled below 0.82 is shorter than 840 px. The authors' RandomCrop pads it
# before cropping, split between both sides, the image by reflection and the label with 255
# (data_transforms.py l. 21-34); CenterPad (mmseg_dilated/datasets/transforms.py) does the same
# before mmseg's RandomCrop. (Without it, mmseg's RandomCrop returns the shorter crop and the data
# preprocessor pads it at the bottom with zeros.)
# Differs from data_transforms.py (l. 69-93): the rotation pads the image with zeros (the authors
# reflect it) and draws a real angle (the authors draw whole degrees); labels are padded with 255
# as theirs. The scaling interpolates bilinearly (the authors: bicubic up, antialiased down).
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
crop_size = (840, 840)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRotate', prob=1.0, degree=10, pad_val=0, seg_pad_val=255),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='CenterPad', size=crop_size, padding_mode='reflect', seg_pad_val=255),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
