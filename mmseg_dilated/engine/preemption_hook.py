"""Stop a run cleanly when the scheduler takes the machine back (SIGTERM, SIGUSR1).

Clusters end jobs with a signal and a grace period. slurm sends SIGTERM at preemption and at the
time limit, and SIGKILL ``KillWait`` seconds later (30 by default); asked with
``#SBATCH --signal=USR1@120`` it also sends SIGUSR1 120 s before the time limit. torchrun passes a
SIGTERM it receives on to its workers. Without this hook the training process dies at the signal
(exit status 143) and loses every iteration since its last checkpoint: up to a whole checkpoint
interval, hours on a real run.

With the hook, the signal only raises a flag. At the end of the iteration in progress:

* every rank learns of it: one all-reduce of the flag each iteration (none in a single process), so
  all ranks stop after the same iteration even when only some of them got the signal;
* the checkpoint hook writes the checkpoint of that iteration (rank 0 writes, atomically; nothing
  is written twice when the iteration is a checkpoint iteration anyway); ``--resume`` continues
  from it bit-exactly (:class:`~mmseg_dilated.engine.ResumableCheckpointHook`);
* a validation due at that iteration is skipped, as it would eat the grace period
  (``tools/test.py`` on the checkpoint gives its scores);
* the run ends through mmengine's ``after_train`` and ``after_run`` hooks, and the process exits
  with status 75, "preempted: resume me" (:mod:`mmseg_dilated.engine.stopping`).
  ``tools/slurm_train.sh`` requeues the job on it.

Further signals while the run is stopping change nothing: slurm may deliver one signal twice (to
the task and through srun), and the checkpoint must not be cut short; SIGKILL ends the process at
once. Outside training (``tools/test.py`` builds the same hooks) a signal gets what it would have
got without the hook.

slurm signals every process of a job step, data-loader workers included, and a worker killed by
the signal makes the main process fail ("DataLoader worker ... is killed by signal") before any
checkpoint is written. Two things keep the workers alive:

* The handler is installed when the hook is built, before mmengine starts the train loop's
  workers, so workers forked from the training process (mmseg's default start method, ``fork``)
  inherit it. That is enough for SIGUSR1.
* PyTorch's worker loop replaces the handler of SIGTERM (and only of that signal of the default
  two) by its own, which ends the worker when another process sends it. So each data-loader
  worker of the run installs the hook's handler again after PyTorch's, from the loader's
  ``worker_init_fn`` (:func:`protect_data_loader_workers`): :class:`FastResumeIterBasedTrainLoop`
  wraps its loader before it starts a worker; the hook wraps the train and validation loaders at
  ``before_train``, for the workers started after it (validation's, and those of a new pass over
  the data). mmengine's stock ``IterBasedTrainLoop`` starts its first workers while it is built,
  before any hook runs: with it, a SIGTERM from another process still ends them (SIGUSR1 does
  not).

In a worker, while the training process trains, the handler ignores the signal: the training
process stops at the end of its iteration and ends its workers. Otherwise it does what PyTorch's
would have done (a SIGTERM, how Python's multiprocessing ends a worker, ends it quietly). With
``spawn`` or ``forkserver`` workers keep the default action. Any other process forked from one that
built the hook (a ``multiprocessing.Pool`` of the same Python session, after a run that ended by an
exception or a runner built and never trained) gets the signal's earlier action: ``Pool.terminate``
ends its workers with SIGTERM, and a worker that ignored it would hang its parent.
"""

import functools
import logging
import math
import multiprocessing
import os
import os.path as osp
import signal
import threading
from typing import Optional, Sequence

from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS
from torch.utils.data import get_worker_info

from .stopping import (
    EXIT_PREEMPTED,
    any_rank,
    call_at_stop,
    forget_at_stop,
    last_checkpoint,
    stop_process,
    train_command,
)

__all__ = ['PreemptionHook', 'protect_data_loader_workers']

_UNCATCHABLE = ('SIGKILL', 'SIGSTOP')

# The hooks whose handlers are installed in this process (forked workers inherit the list).
_INSTALLED: list = []


def _init_worker(worker_id, init_fn=None):
    if init_fn is not None:
        init_fn(worker_id)
    for hook in _INSTALLED:
        hook._install_in_worker()


def protect_data_loader_workers(dataloader) -> None:
    """Make the workers that ``dataloader`` starts from now on install the handlers of this
    process's :class:`PreemptionHook` again, after PyTorch's worker loop replaced SIGTERM's.

    The loader's own ``worker_init_fn`` (mmengine's seeding) runs first, unchanged. Without a
    hook, or with workers started by ``spawn``, it is only the loader's function.
    """
    init_fn = getattr(dataloader, 'worker_init_fn', None)
    if getattr(dataloader, 'num_workers', 0) == 0 or (
        isinstance(init_fn, functools.partial) and init_fn.func is _init_worker
    ):
        return
    dataloader.worker_init_fn = functools.partial(_init_worker, init_fn=init_fn)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Finish the iteration, write a checkpoint and exit with status 75 on SIGTERM or SIGUSR1.

    See the module docstring for what happens when. Every config of this package registers it
    through its schedule base (``configs/_base_/schedules/schedule_*.py``)::

        default_hooks = dict(preemption=dict(type='PreemptionHook'))

    Args:
        signals (Sequence[str]): The signals that mean "preempted", by name.
            Default: ('SIGTERM', 'SIGUSR1').
        exit_code (int): The exit status of a preempted run.
            Default: 75 (``EX_TEMPFAIL``, see :mod:`mmseg_dilated.engine.stopping`).
    """

    # after the checkpoint hook (VERY_LOW): a checkpoint it wrote at this iteration is seen
    priority = 'LOWEST'

    def __init__(
        self, signals: Sequence[str] = ('SIGTERM', 'SIGUSR1'), exit_code: int = EXIT_PREEMPTED
    ):
        if isinstance(signals, str):
            signals = (signals,)
        valid = sorted(s.name for s in signal.Signals if s.name not in _UNCATCHABLE)
        unknown = [s for s in signals if s not in valid]
        if unknown or not signals:
            raise ValueError(
                f'PreemptionHook: signals={list(signals)!r}: '
                + (f'{unknown} cannot be caught or are not signals' if unknown else 'empty')
                + f'; give names from: {", ".join(valid)}'
            )
        if not isinstance(exit_code, int) or not 1 <= exit_code <= 255:
            raise ValueError(f'PreemptionHook: exit_code={exit_code!r}: give an int in 1..255')
        self.signals = tuple(signal.Signals[s] for s in signals)
        self.exit_code = exit_code
        self._pid = os.getpid()
        self._previous = {}
        self._training = False
        # read by forked data-loader workers: is the training process training now?
        self._trains_now = multiprocessing.RawValue('b', 0)
        self._received: Optional[str] = None
        self._message: Optional[str] = None
        self._install()

    # signal handling -----------------------------------------------------------------------------

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            print_log(
                'PreemptionHook: the runner was built outside the main thread, where Python '
                'cannot install signal handlers; a SIGTERM will end training without a checkpoint.',
                logger='current',
                level=logging.WARNING,
            )
            return
        for sig in self.signals:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)
        _INSTALLED.append(self)

    def _restore(self) -> None:
        if os.getpid() != self._pid or threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}
        if self in _INSTALLED:
            _INSTALLED.remove(self)

    def _install_in_worker(self) -> None:
        for sig in self.signals:
            signal.signal(sig, self._handle_in_worker)

    def _handle_in_worker(self, signum, frame) -> None:
        """A data-loader worker forked from the training process."""
        if self._trains_now.value:
            return  # that process stops at the end of its iteration and ends this worker
        if signum == signal.SIGTERM:
            os._exit(0)  # as PyTorch's worker handler does when its parent ends it
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def _handle(self, signum, frame) -> None:
        if os.getpid() != self._pid:
            if get_worker_info() is not None:
                self._handle_in_worker(signum, frame)
            else:
                self._pass_on(signum, frame)
        elif not self._training:
            self._pass_on(signum, frame)
        elif self._received is None:
            self._received = signal.Signals(signum).name

    def _pass_on(self, signum, frame) -> None:
        """What the signal would have done without this hook."""
        previous = self._previous.pop(signal.Signals(signum), signal.SIG_DFL)
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            os.kill(os.getpid(), signum)

    # the run -------------------------------------------------------------------------------------

    def before_train(self, runner) -> None:
        self._training = True
        self._trains_now.value = 1
        call_at_stop(self._end_training)  # a divergence or write error skips after_run
        protect_data_loader_workers(runner.train_loop.dataloader)
        if runner.val_loop is not None:
            protect_data_loader_workers(getattr(runner.val_loop, 'dataloader', None))

    def _end_training(self) -> None:
        self._training = False
        self._trains_now.value = 0
        self._restore()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self._message is not None or not any_rank(self._received is not None):
            return
        loop = runner.train_loop
        step = runner.iter + 1
        received = self._received or 'a signal on another rank'
        print_log(
            f'{received} received during iteration {step}: writing a checkpoint and stopping.',
            logger='current',
            level=logging.WARNING,
        )
        saved = self._save(runner, step)
        loop.stop_training = True
        skipped = ''
        if self._validation_due(runner, step):
            loop.val_begin = math.inf  # the loop ends after this iteration: no validation now
            skipped = (
                f' The validation due at iteration {step} was skipped (tools/test.py on the '
                'checkpoint gives its scores).'
            )
        last = last_checkpoint(runner.work_dir)
        if saved and last:
            written = f'the checkpoint of iteration {step} is {last}.'
        elif last:
            written = (
                f'no checkpoint of iteration {step} was written ({saved}); the newest is {last}.'
            )
        else:
            written = f'no checkpoint was written ({saved}).'
        self._message = (
            f'Preempted ({received}): training stopped after iteration {step} of '
            f'{loop.max_iters}; {written}{skipped} Exiting with status {self.exit_code} '
            f'(preempted: resume me). Continue with: {train_command(runner)}'
        )

    def _save(self, runner, step):
        """True once the checkpoint of ``step`` is written, else why it is not."""
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        if not hooks:
            return 'the run has no CheckpointHook'
        hook = hooks[0]
        if hook.by_epoch:
            return 'an epoch-based CheckpointHook cannot save a resumable mid-epoch checkpoint'
        name = hook.filename_tmpl.format(step)
        if hook.last_ckpt is None or osp.basename(str(hook.last_ckpt)) != name:
            hook._save_checkpoint(runner)  # a failed write stops the run (exit status 74)
        if hook.last_ckpt is not None and osp.basename(str(hook.last_ckpt)) == name:
            return True
        return 'the checkpoint hook refused it'

    @staticmethod
    def _validation_due(runner, step) -> bool:
        loop = runner.train_loop
        if runner.val_loop is None or not hasattr(loop, 'val_begin'):
            return False
        return step >= loop.val_begin and (step % loop.val_interval == 0 or step == loop.max_iters)

    def after_run(self, runner) -> None:
        forget_at_stop(self._end_training)
        self._end_training()
        if self._message is not None:
            stop_process(self.exit_code, self._message)
