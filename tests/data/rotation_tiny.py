# long_run_tiny.py for 30 iterations, a checkpoint every 10, only the newest kept (max_keep_ckpts=1):
# the checkpoint-rotation tests.
_base_ = ['./long_run_tiny.py']
train_cfg = dict(max_iters=30)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=1))
