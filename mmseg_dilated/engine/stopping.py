"""How a training run stops before ``max_iters`` on purpose, shared by the hooks that stop one.

Three hooks end a run early: :class:`~mmseg_dilated.engine.PreemptionHook` (a scheduler's
SIGTERM or SIGUSR1), :class:`~mmseg_dilated.engine.DivergenceHook` (non-finite losses) and
:class:`~mmseg_dilated.engine.ResumableCheckpointHook` (a checkpoint that cannot be written). Each
logs why, then ends the process with a status of its own, so that a job script can tell "resume
me" from "do not resume unchanged". The statuses are BSD's ``sysexits.h`` codes, which nothing
else in a training job uses (Python exits 1 on an uncaught exception and 2 on a bad command line,
``timeout(1)`` 124, a process killed by signal N 128 + N, e.g. 137 and 143):

======  ==============  ====================================================================
status  sysexits name   meaning
======  ==============  ====================================================================
75      ``EX_TEMPFAIL``  preempted; a checkpoint of the last iteration is written: resume me
74      ``EX_IOERR``     a checkpoint could not be written (disk full, file too large, denied)
65      ``EX_DATAERR``   the losses went non-finite: resuming unchanged diverges again
======  ==============  ====================================================================

75 is "temporary failure, the user is invited to retry", which is what a preempted run is; slurm
administrators can requeue on it with ``RequeueExit=75`` in ``slurm.conf``, and
``tools/slurm_train.sh`` requeues on it itself (``scontrol requeue``).
"""

import logging
import os.path as osp
from typing import Callable, List, Optional

import torch
from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.logging import print_log

__all__ = [
    'EXIT_PREEMPTED',
    'EXIT_CHECKPOINT_NOT_WRITTEN',
    'EXIT_DIVERGED',
    'TrainingStopped',
    'any_rank',
    'last_checkpoint',
    'train_command',
    'stop_process',
    'call_at_stop',
    'forget_at_stop',
]

EXIT_PREEMPTED = 75
EXIT_CHECKPOINT_NOT_WRITTEN = 74
EXIT_DIVERGED = 65


_AT_STOP: List[Callable[[], None]] = []


class TrainingStopped(SystemExit):
    """The process ends with ``code`` after a hook has logged ``message``.

    A :class:`SystemExit`, so that ``tools/train.py``, mmseg's own ``tools/train.py`` and ``mim``
    all exit with the status and without a traceback (the message is already in the log). Code
    that calls ``runner.train()`` itself can catch it.
    """

    def __init__(self, code: int, message: str):
        super().__init__(code)
        self.message = message

    def __str__(self):
        return self.message


def any_rank(flag: bool) -> bool:
    """``flag`` of every rank, or-ed: one all-reduce of one number (none in a single process)."""
    _, world_size = get_dist_info()
    if world_size == 1:
        return bool(flag)
    value = torch.tensor([int(bool(flag))])
    all_reduce(value, op='max')  # mmengine moves it to the backend's device (NCCL: the GPU)
    return bool(value.item())


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names (what ``--resume`` starts from), if it
    exists."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if path and osp.isfile(path) else None


def train_command(runner, options: str = '', resume: bool = True) -> str:
    """The command that runs this training again, continuing from the newest readable checkpoint
    when ``resume``, with ``options`` added."""
    config = getattr(runner.cfg, 'filename', None) or 'CONFIG'
    command = f'mmseg-dilated train {config} --work-dir {runner.work_dir}'
    command += (' --resume' if resume else '') + options
    _, world_size = get_dist_info()
    launcher = ' and launcher' if world_size > 1 else ''
    return f"{command} (with this run's other --cfg-options{launcher}, if any)"


def call_at_stop(function: Callable[[], None]) -> None:
    """Have :func:`stop_process` call ``function`` before it raises: a hook whose ``after_run``
    the stop skips undoes what it set up (the preemption hook's signal handlers)."""
    _AT_STOP.append(function)


def forget_at_stop(function: Callable[[], None]) -> None:
    """Undo :func:`call_at_stop` (the hook's ``after_run`` did the work)."""
    if function in _AT_STOP:
        _AT_STOP.remove(function)


def stop_process(code: int, message: str):
    """Log ``message`` (rank 0, as a warning: mmengine prefixes errors with its own source
    location), take the process group down and raise :class:`TrainingStopped`.

    Every rank must call this at the same point (the hooks agree through :func:`any_rank` first):
    the teardown waits for all of them. Left to interpreter exit, gloo's threads can outlive the
    process group and abort the process, which would replace ``code`` by SIGABRT's 134.
    """
    import torch.distributed as dist

    if is_main_process():
        print_log(message, logger='current', level=logging.WARNING)
    while _AT_STOP:
        _AT_STOP.pop()()
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    raise TrainingStopped(code, message)
