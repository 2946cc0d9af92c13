# tests/data/context_tiny.py for 40 iterations, checkpoints and validation every 20: the base of
# the preemption, divergence and checkpoint-rotation tests (tests/test_engine/). The schedule does
# not depend on max_iters, so a run stopped early and resumed follows the same learning rates.
_base_ = ['./context_tiny.py']
custom_imports = dict(imports=['mmseg_dilated', 'fault_hooks'], allow_failed_imports=False)
train_cfg = dict(max_iters=40, val_interval=20)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=40, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=-1), visualization=dict(interval=0))
