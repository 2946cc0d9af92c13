# The quick start (docs/en/get_started.md): a small-field front-end (DRN-D-22's stem and first
# three levels at half width: output stride 4, 32 channels, a 39 px receptive field) + the large
# context module on the bundled context-shapes data, trained from scratch on CPU (single process,
# so plain BN). The shapes are wider than the front-end's field, so only the context module can
# carry each shape's class (shown at its rim) to its interior: frontend_toy.py is the same model
# without it (the ablation).
_base_ = [
    './_base_/models/context-large_drn-d-22.py',
    './_base_/datasets/context_shapes.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k.py',
]
crop_size = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, base_channels=8, num_levels=3, out_indices=(2,)),
    # frontend_loss_weight: a loss on the class scores entering the module as well, standing in for
    # the paper's staged training (front-end first, then the module).
    decode_head=dict(
        in_channels=32,
        num_classes=4,
        frontend_loss_weight=0.4,
        # The documented CPU figures were measured with these, mmseg's usual head settings; the GPU
        # configs on this base use the DRN authors' instead (no dropout, classifier N(0, 2 / C),
        # loss averaged over the valid pixels: _base_/models/context-large_drn-d-22.py).
        dropout_ratio=0.1,
        classifier_init_std=0.01,
        loss_decode=dict(avg_non_ignore=False),
    ),
)
max_iters = 2000
# The context module is identity-initialised and trained jointly with a front-end that starts from
# scratch: at the front-end's rate (AdamW 2e-3) its ReLU units die before the class scores mean
# anything (measured: two of three shape classes stuck at 0 IoU). A tenth of the rate and no weight
# decay keep it near the identity while the scores form, as the paper's staged training does.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(lr_mult=0.1, decay_mult=0.0),
            'decode_head.conv_seg': dict(lr_mult=0.1, decay_mult=0.0),
        }
    ),
)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=500, max_keep_ckpts=2),
    # with --show-dir, draw every 10th validation image
    visualization=dict(interval=10),
)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
