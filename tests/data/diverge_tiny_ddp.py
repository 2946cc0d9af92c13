# long_run_tiny.py in two processes, the weights of rank 1 only set to NaN before iteration 4:
# rank 0's loss of iteration 4 is finite, yet both ranks must stop at 4.
_base_ = ['./long_run_tiny.py']
train_cfg = dict(max_iters=10, val_interval=10)
train_dataloader = dict(batch_size=1)
custom_hooks = [dict(type='PlantNaN', iteration=4, rank=1)]
