# preempt_tiny_workers.py with SIGTERM sent to the whole process group by another process, as
# slurmstepd sends it: PyTorch's worker loop has its own SIGTERM handler, which ends a worker
# signalled by any process but its parent.
_base_ = ['./preempt_tiny_workers.py']
custom_hooks = [
    dict(type='SignalAtIter', iteration=20, signal='SIGTERM', group=True, from_outside=True)
]
