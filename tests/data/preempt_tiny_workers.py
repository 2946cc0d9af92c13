# long_run_tiny.py with two persistent data-loader workers, its whole process group (the workers
# too, as slurm signals a job step) sent SIGUSR1 at the start of iteration 20, a checkpoint
# iteration.
_base_ = ['./long_run_tiny.py']
train_dataloader = dict(num_workers=2, persistent_workers=True)
custom_hooks = [dict(type='SignalAtIter', iteration=20, signal='SIGUSR1', group=True)]
