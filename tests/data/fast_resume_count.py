# The tiny config with every loaded training sample logged to ./loads.txt (CountLoads), for the
# resume-cost test: checkpoints every 20 iterations, no validation in the way.
_base_ = ['./context_tiny.py']
custom_imports = dict(imports=['mmseg_dilated', 'count_loads'], allow_failed_imports=False)
train_pipeline = [
    dict(type='CountLoads'),
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=21, val_interval=100000)
default_hooks = dict(checkpoint=dict(interval=20))
