# The tiny config (dropout, augmentation, AdamW) for 6 iterations on 2 processes, checkpoints every
# 2: the elastic restart test's uninterrupted run.
_base_ = ['./context_tiny.py']
custom_imports = dict(imports=['mmseg_dilated', 'elastic_hooks'], allow_failed_imports=False)
train_cfg = dict(max_iters=6, val_interval=100000)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=6, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=-1))
