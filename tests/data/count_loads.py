"""Measuring what a resume costs (imported through custom_imports with tests/data on PYTHONPATH):
a transform that counts the samples a run loads, and a hook that times the way to the first
batch."""
import time

from mmcv.transforms import BaseTransform
from mmengine.hooks import Hook

from mmseg.registry import HOOKS, TRANSFORMS


@TRANSFORMS.register_module()
class CountLoads(BaseTransform):
    """Append the index of every sample that enters the pipeline to ``log``, one line each
    (appends of one short line are atomic, so data-loader workers can share the file)."""

    def __init__(self, log='loads.txt'):
        self.log = log

    def transform(self, results):
        with open(self.log, 'a') as f:
            f.write(f"{results['sample_idx']}\n")
        return results


@HOOKS.register_module()
class TimeToFirstBatch(Hook):
    """Print the seconds from ``before_train`` (the checkpoint is loaded by then) to the first
    training iteration's batch: on a resume, the time spent getting the data loader in place."""
    priority = 'VERY_HIGH'

    def before_train(self, runner):
        self._start = time.perf_counter()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._start is not None:
            print(f'time to the first batch: {time.perf_counter() - self._start:.3f} s', flush=True)
            self._start = None
