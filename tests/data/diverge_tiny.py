# long_run_tiny.py with checkpoints every 5 iterations, one kept, and the weights set to NaN
# before iteration 7: the divergence hook must stop at 7 and iter_5.pth must survive.
_base_ = ['./long_run_tiny.py']
train_cfg = dict(max_iters=12)
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=1))
custom_hooks = [dict(type='PlantNaN', iteration=7)]
