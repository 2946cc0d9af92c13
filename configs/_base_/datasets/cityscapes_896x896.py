# Cityscapes as the DRN authors' README trains DRN-D-22 (fyu/drn README.md l. 160-169:
# `segment.py train -s 896 --batch-size 32`, "basic data augmentation (random crops + flips)"),
# used here for C-26 and D-38 as well: 896x896 random crops of the full 1024x2048 images and
# horizontal flips, nothing else (segment.py l. 360-368 builds only RandomCrop and
# RandomHorizontalFlip without --random-scale or --random-rotate). The images are larger than the
# crop, so nothing is ever padded. 4 images per GPU, i.e. the authors' 32 on 8 GPUs. Evaluation is
# mmseg's: whole 1024x2048 images, one scale.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
crop_size = (896, 896)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
