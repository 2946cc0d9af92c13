# Cityscapes as the DRN authors train DRN-C-26, DRN-D-22 and DRN-D-38 (fyu/drn README.md,
# "Training": `segment.py train -s 896 --batch-size 32`, "basic data augmentation (random crops +
# flips)"): 896x896 random crops of the full 1024x2048 images and horizontal flips, nothing else
# (segment.py train_seg builds only RandomCrop and RandomHorizontalFlip without --random-scale or
# --random-rotate). 4 images per GPU, i.e. the authors' 32 on 8 GPUs. Evaluation is mmseg's:
# whole 1024x2048 images, as segment.py's single-scale test.
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
