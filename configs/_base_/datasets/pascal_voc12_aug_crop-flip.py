# Pascal VOC 2012 + SBD ("aug", 21 classes) as the Yu-Koltun release trains on it (fyu/dilation
# network.py make_image_label_data: Caffe's transform_param with mirror, crop_size and mean only):
# random crops and horizontal flips at the images' own scale, no random scaling and no photometric
# distortion; testing at the images' own size (fyu/dilation test.py), not mmseg's 512-short-side
# resize. Datasets, splits and test-time augmentation are mmseg's pascal_voc12_aug.py.
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        datasets=[
            dict(
                type='PascalVOCDataset',
                data_root='data/VOCdevkit/VOC2012',
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=train_pipeline,
            ),
            dict(
                type='PascalVOCDataset',
                data_root='data/VOCdevkit/VOC2012',
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                ann_file='ImageSets/Segmentation/aug.txt',
                pipeline=train_pipeline,
            ),
        ]
    )
)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
