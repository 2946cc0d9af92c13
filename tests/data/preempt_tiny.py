# long_run_tiny.py, sent SIGTERM at the start of iteration 30 (checkpoints at 20 and 40).
_base_ = ['./long_run_tiny.py']
custom_hooks = [dict(type='SignalAtIter', iteration=30, signal='SIGTERM')]
