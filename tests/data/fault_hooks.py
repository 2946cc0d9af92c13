"""Hooks that bring the faults of a long run into a tiny one at a chosen iteration: a scheduler's
signal, a NaN in the weights, an infinite gradient, a checkpoint write that fails (for
tests/test_engine/test_{preemption,divergence,checkpoint_rotation}.py; imported through
custom_imports with tests/data on PYTHONPATH). Iterations are 1-based, as mmengine logs them."""

import errno as errno_module
import math
import os
import signal as signal_module
import subprocess
import tempfile

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

import mmseg_dilated.utils.checkpoint as checkpoint_module


def _model(runner):
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


@HOOKS.register_module()
class SignalAtIter(Hook):
    """Send ``signal`` at the start of iteration ``iteration``, before its forward pass, to this
    process or (``group=True``) to its whole process group, data-loader workers included, as
    slurm signals a job step; with ``rank``, in that rank's process only."""

    priority = 'HIGHEST'

    def __init__(self, iteration, signal='SIGTERM', group=False, rank=None, from_outside=False):
        self.iteration = iteration
        self.signal = signal_module.Signals[signal]
        self.group = group
        self.rank = rank
        self.from_outside = from_outside  # sent by another process, as slurmstepd sends it

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.rank is not None and self.rank != runner.rank:
            return
        if runner.iter + 1 == self.iteration:
            if self.group and self.from_outside:
                target = f'-{os.getpgid(0)}'
                subprocess.run(
                    ['kill', f'-{self.signal.name[3:]}', '--', target],
                    check=True,
                    start_new_session=True,
                )
            elif self.group:
                os.killpg(os.getpgid(0), self.signal)
            else:
                os.kill(os.getpid(), self.signal)


@HOOKS.register_module()
class PlantNaN(Hook):
    """Set the first parameter of the model to NaN before iteration ``iteration`` (with ``rank``,
    in that rank's process only): from then on the losses, the gradients and (after the step)
    every weight are NaN."""

    def __init__(self, iteration, rank=None):
        self.iteration = iteration
        self.rank = rank

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.rank is not None and self.rank != runner.rank:
            return
        if runner.iter + 1 == self.iteration:
            with torch.no_grad():
                next(_model(runner).parameters()).fill_(math.nan)


@HOOKS.register_module()
class InfGradAt(Hook):
    """Make the gradient of the first parameter infinite in the backward pass of each of
    ``iterations`` (the loss stays finite)."""

    def __init__(self, iterations):
        self.iterations = set(iterations)
        self._armed = False

    def before_train(self, runner):
        param = next(_model(runner).parameters())
        param.register_hook(lambda grad: grad * math.inf if self._armed else grad)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._armed = runner.iter + 1 in self.iterations


@HOOKS.register_module()
class FailCheckpointWrite(Hook):
    """Make the atomic write of the checkpoint of iteration ``iteration`` fail with ``errno``:
    ENOSPC where a full disk reports it at the latest, in the fsync of the written bytes; EACCES
    where a folder without write permission does, creating the temporary file."""

    def __init__(self, iteration, errno='ENOSPC'):
        self.iteration = iteration
        self.errno = getattr(errno_module, errno)

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] != self.iteration:
            return
        code = self.errno

        def fail(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        if code == errno_module.ENOSPC:
            checkpoint_module.os.fsync = fail  # the os module itself: the run stops right after
        else:
            tempfile.mkstemp = fail
