# For the data-parallel equivalence test: nothing that depends on how a batch is split (GroupNorm,
# no dropout, no random augmentation) and plain SGD, so 2 processes x 4 images must train the same
# weights as 1 process x 8 images. Every iteration sees all 8 training images.
_base_ = ['./context_tiny.py']
norm_cfg = dict(type='GN', num_groups=1, requires_grad=True)
fixed_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=fixed_pipeline))
model = dict(backbone=dict(norm_cfg=norm_cfg), decode_head=dict(dropout_ratio=0.0))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0))
train_cfg = dict(max_iters=10, val_interval=100)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=10))
