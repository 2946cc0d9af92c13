"""Hooks that SIGKILL the training process at a chosen point, for the crash and resume tests
(imported through custom_imports with tests/data on PYTHONPATH)."""
import os
import signal

from mmengine.hooks import Hook

from mmseg.registry import HOOKS


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillAfterIter(Hook):
    """Kill the process at the end of training iteration ``iteration`` (1-based), after every
    other hook of that iteration, the checkpoint hook included, has run."""
    priority = 'LOWEST'

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            _die()


@HOOKS.register_module()
class KillInsideSave(Hook):
    """Kill the process inside the save of the checkpoint of iteration ``iteration``: once its
    bytes are written and flushed, when the writer goes on to put the file in place."""

    def __init__(self, iteration):
        self.iteration = iteration

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] == self.iteration:
            os.replace = lambda *args, **kwargs: _die()
