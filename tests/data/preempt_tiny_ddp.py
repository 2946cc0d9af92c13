# long_run_tiny.py in two processes, only rank 1 sent SIGTERM, at the start of iteration 6: both
# ranks must stop after iteration 6, with one checkpoint of it.
_base_ = ['./long_run_tiny.py']
train_cfg = dict(max_iters=10, val_interval=10)
train_dataloader = dict(batch_size=1)
custom_hooks = [dict(type='SignalAtIter', iteration=6, signal='SIGTERM', rank=1)]
