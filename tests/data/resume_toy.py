# configs/context_toy.py as shipped (dropout, augmentation, AdamW, validation) for 30 iterations,
# checkpoints and validation every 10: the resume tests' uninterrupted run.
_base_ = ['../../configs/context_toy.py']
custom_imports = dict(imports=['mmseg_dilated', 'kill_hooks'], allow_failed_imports=False)
train_cfg = dict(max_iters=30, val_interval=10)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=10, max_keep_ckpts=-1))
