"""A CheckpointHook whose checkpoints resume bit-exactly and survive a crash.

mmengine's :class:`~mmengine.hooks.CheckpointHook` saves the model, the optimizer, the parameter
schedulers, the message hub and the seed. It leaves two gaps for long runs:

* **Random generators.** On ``--resume`` mmengine re-seeds, so from the first resumed iteration on,
  dropout and data augmentation draw other numbers than the uninterrupted run did (measured on
  ``context_toy.py``: iteration 21's loss already differed after a resume at 20). This hook stores
  every rank's torch (and CUDA), numpy and Python ``random`` states with each checkpoint, and
  restores them on resume right before the first new batch is loaded. The data pipeline's own
  draws do not depend on that history: the default loop
  (:class:`~mmseg_dilated.engine.fast_resume_loop.FastResumeIterBasedTrainLoop`) loads each sample
  under generators seeded from (seed, epoch, sample index) and starts the sampler after the samples
  already trained, so data-loader workers need nothing saved (with mmengine's stock loop, its
  replay of the trained batches feeds them the same batches in the same order instead). Validation
  is made neutral for the training stream (the generators are saved before it and restored after
  it), because mmengine validates after the checkpoint is written, so whatever validation drew
  would otherwise be missing from a resumed run.
* **Torn files.** A run killed while saving leaves a truncated ``iter_N.pth``. Here the checkpoint
  and ``last_checkpoint`` are written to a temporary file in the same folder, fsynced and renamed
  over the final name (:func:`~mmseg_dilated.utils.checkpoint.atomic_write`): a file is complete or
  absent. ``tools/train.py --resume`` also falls back past unreadable checkpoints. A hidden
  ``.iter_N.pth.*.tmp`` that a killed save left behind is removed when the next run starts.
* **Rotation order.** mmengine's ``_save_checkpoint_with_step`` (and ``_save_best_checkpoint``)
  removes the oldest checkpoint (``max_keep_ckpts``) *before* it writes the new one: with
  ``max_keep_ckpts=1`` a save that fails or is killed leaves no checkpoint at all, and
  ``last_checkpoint`` names the deleted file. Here mmengine's own bookkeeping runs unchanged, but
  the files it removes are removed only once the new checkpoint and ``last_checkpoint`` are written,
  fsynced and renamed into place.
* **Non-finite weights.** A checkpoint whose model holds a NaN or an infinity is not written (the
  hook says which tensors and which checkpoint stays the newest), so the newest checkpoint is always
  a finite one and rotation never removes the last finite checkpoint.
  :class:`~mmseg_dilated.engine.DivergenceHook` stops such a run.
* **Write failures.** A checkpoint that cannot be written (no space, a file size limit, no
  permission) stops the run on every rank with the path, the reason, the last good checkpoint and
  the resume command, exit status 74 (:mod:`mmseg_dilated.engine.stopping`); nothing partial is
  left.

Use it in place of ``CheckpointHook`` (every config of this package does, through its schedule
base, ``configs/_base_/schedules/schedule_*.py``)::

    default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook', interval=2000))
"""

import contextlib
import errno
import io
import logging
import os
import os.path as osp
import random
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.hooks import checkpoint_hook as _mmengine_checkpoint_hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..utils.checkpoint import atomic_write
from .stopping import (
    EXIT_CHECKPOINT_NOT_WRITTEN,
    any_rank,
    last_checkpoint,
    stop_process,
    train_command,
)

__all__ = ['ResumableCheckpointHook', 'rng_states', 'set_rng_states']

RNG_KEY = 'rng_states'


def rng_states() -> Dict:
    """The states of this process's torch, CUDA (where initialised), numpy and ``random``
    generators."""
    states = dict(
        torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate()
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Dict) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states['torch'])
    np.random.set_state(states['numpy'])
    random.setstate(states['python'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class _AtomicTextFile(io.StringIO):
    """``open(path, 'w')`` whose text reaches ``path`` atomically when the ``with`` block ends."""

    def __init__(self, path, mode='w', *args, **kwargs):
        if mode != 'w':
            raise ValueError(f'_AtomicTextFile writes text only, not mode {mode!r}')
        super().__init__()
        self._path = path

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            _write_file(self._path, self.getvalue().encode())
        return super().__exit__(exc_type, exc, tb)


def _write_file(path, data: bytes) -> None:
    """:func:`atomic_write`, its errors naming the file written (a failing ``write`` names
    none, and a failing ``mkstemp`` names the temporary file)."""
    try:
        atomic_write(str(path), data)
    except OSError as err:
        err.checkpoint_path = str(path)
        raise


@contextlib.contextmanager
def _atomic_local_writes():
    """While saving: mmengine's local file backend (which writes the checkpoint) and the hook's
    ``open`` (which writes ``last_checkpoint``) write atomically."""
    from mmengine.fileio.backends import LocalBackend

    original_put = LocalBackend.put

    def put(self, obj, filepath):
        _write_file(filepath, obj)

    LocalBackend.put = put
    _mmengine_checkpoint_hook.open = _AtomicTextFile  # module global shadows the builtin
    try:
        yield
    finally:
        LocalBackend.put = original_put
        del _mmengine_checkpoint_hook.open


@contextlib.contextmanager
def _removals_deferred(backend):
    """mmengine's CheckpointHook removes outdated checkpoints through its file backend: while the
    body runs, the backend lists them instead (instance attributes shadow its methods)."""
    pending: List[str] = []
    backend.remove = pending.append
    backend.rmtree = pending.append
    try:
        yield pending
    finally:
        del backend.remove, backend.rmtree


def _non_finite_tensors(model) -> Tuple[List[str], int]:
    """(names of the model's floating-point tensors holding a NaN or an infinity, how many there
    are in all), with one device synchronisation."""
    if is_model_wrapper(model):
        model = model.module
    tensors = [(n, t) for n, t in model.state_dict().items() if t.is_floating_point()]
    if not tensors:
        return [], 0
    flags = [torch.isfinite(t).all() for _, t in tensors]
    finite = torch.stack([f.to(flags[0].device) for f in flags]).tolist()
    return [name for (name, _), ok in zip(tensors, finite) if not ok], len(tensors)


# What to do about the errors a checkpoint write meets most.
_ELSEWHERE = (
    'or save the checkpoints elsewhere with --cfg-options default_hooks.checkpoint.out_dir=DIR'
)
_WRITE_HINTS = {
    errno.ENOSPC: f'the file system is full: free space on it, {_ELSEWHERE}',
    errno.EDQUOT: f'the disk quota is used up: free space, {_ELSEWHERE}',
    errno.EFBIG: 'the file is larger than this process may write (see `ulimit -f`) or than the '
    f'file system allows: raise the limit, {_ELSEWHERE}',
    errno.EACCES: f'this process may not write there: fix the permissions, {_ELSEWHERE}',
    errno.EPERM: f'this process may not write there: fix the permissions, {_ELSEWHERE}',
    errno.EROFS: f'the file system is read-only: {_ELSEWHERE}',
}

# atomic_write's temporary files: `.NAME.XXXXXXXX.tmp` (tempfile.mkstemp's random part)
_PARTIAL_FILE = re.compile(r'^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$')


class _RestoreBeforeBatch:
    """The train loop's data iterator, restoring the saved generators right before batch
    ``skip + 1`` (mmengine first replays ``skip`` batches to advance the loader)."""

    def __init__(self, iterator, skip: int, states: Dict):
        self._iterator = iterator
        self._skip = skip
        self._states: Optional[Dict] = states

    def __iter__(self):
        return self

    def __next__(self):
        if self._states is not None:
            if self._skip == 0:
                set_rng_states(self._states)
                self._states = None
            else:
                self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` with exact resume and crash-safe files.

    Takes the same arguments. Checkpoints gain a ``rng_states`` entry: one dict per rank, in rank
    order (see the module docstring).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._states_to_save: Optional[List[Dict]] = None
        self._before_val: Optional[Dict] = None
        self._in_save = False

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not is_main_process():
            return
        stale = []
        for folder in {str(self.out_dir), runner.work_dir}:
            if not osp.isdir(folder):
                continue  # a remote out_dir: mmengine's own backend writes there
            for name in sorted(os.listdir(folder)):
                match = _PARTIAL_FILE.match(name)
                if match and (match['name'].endswith('.pth') or match['name'] == 'last_checkpoint'):
                    os.unlink(osp.join(folder, name))
                    stale.append(osp.join(folder, name))
        if stale:
            print_log(
                f'Removed {len(stale)} partial file(s) that a killed save left behind: '
                + ', '.join(stale),
                logger='current',
            )

    def _save_checkpoint_with_step(self, runner, step, meta):
        # Every rank runs this (only rank 0 writes): one gather brings every rank's generators and
        # whether its weights are finite.
        bad, total = _non_finite_tensors(runner.model)
        gathered = all_gather_object((rng_states(), bad))
        bad = next((names for _, names in gathered if names), [])
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if bad:
            self._refuse(runner, path, bad, total)
            return
        self._states_to_save = [states for states, _ in gathered]
        try:
            with self._writing(runner):
                super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self._states_to_save = None

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._writing(runner):
            super()._save_best_checkpoint(runner, metrics)

    @contextlib.contextmanager
    def _writing(self, runner):
        """Around mmengine's save: atomic local writes, removals of outdated checkpoints only
        after the save succeeded, and a write error (on rank 0) stopping every rank. Re-entrant:
        mmengine's ``_save_best_checkpoint`` ends by calling ``_save_checkpoint_with_step``."""
        if self._in_save:
            yield
            return
        self._in_save = True
        try:
            with self._writing_once(runner):
                yield
        finally:
            self._in_save = False

    @contextlib.contextmanager
    def _writing_once(self, runner):
        error = None
        with _atomic_local_writes(), _removals_deferred(self.file_backend) as removals:
            try:
                yield
            except OSError as err:  # rank 0: the one that writes
                error = err
        if any_rank(error is not None):
            self._stop_on_write_error(runner, error)
        if is_main_process():
            for old in removals:
                if self.file_backend.isfile(old):
                    self.file_backend.remove(old)
                elif self.file_backend.isdir(old):  # checkpoints saved by deepspeed are folders
                    self.file_backend.rmtree(old)

    def _refuse(self, runner, path, bad: List[str], total: int) -> None:
        last = last_checkpoint(runner.work_dir)
        names = ', '.join(bad[:5]) + (', ...' if len(bad) > 5 else '')
        kept = (
            f'The last finite checkpoint, {last}, stays the newest.'
            if last
            else 'No checkpoint of this run has been written yet.'
        )
        print_log(
            f'Refused to save {path}: {len(bad)} of {total} tensors of the model are not finite '
            f'({names}). {kept}',
            logger='current',
            level=logging.WARNING,
        )

    def _stop_on_write_error(self, runner, error: Optional[OSError]):
        last = last_checkpoint(runner.work_dir)
        good = (
            f'The last good checkpoint is {last}.'
            if last
            else 'No checkpoint of this run has been written yet.'
        )
        if error is None:  # another rank failed; its log says why
            message = f'Rank 0 could not write a checkpoint (its log says why). {good}'
        else:
            path = getattr(error, 'checkpoint_path', None) or error.filename
            hint = _WRITE_HINTS.get(error.errno)
            reason = f'[Errno {error.errno}] {error.strerror}' + (f' ({hint})' if hint else '')
            message = (
                f'Could not write the checkpoint {path}: {reason}. Nothing of it is left on disk '
                f'and no older checkpoint was removed. {good} Training stopped (exit status '
                f'{EXIT_CHECKPOINT_NOT_WRITTEN}); once checkpoints can be written, continue '
                f'with: {train_command(runner)}'
            )
        stop_process(EXIT_CHECKPOINT_NOT_WRITTEN, message)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._states_to_save is not None:
            checkpoint[RNG_KEY] = self._states_to_save

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from / testing: weights only, the run keeps its own generators
        saved = checkpoint.get(RNG_KEY)
        rank, world_size = get_dist_info()
        if saved is None:
            print_log(
                'The checkpoint holds no random generator states (it was saved by a plain '
                'CheckpointHook): the resumed run draws other random numbers than an '
                'uninterrupted run would.',
                logger='current',
                level=logging.WARNING,
            )
            return
        if len(saved) != world_size:
            print_log(
                f'The checkpoint holds the random generators of {len(saved)} processes and '
                f'this run has {world_size}: they are not restored, so the resumed run draws '
                'other random numbers than an uninterrupted run would.',
                logger='current',
                level=logging.WARNING,
            )
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):
            # mmengine calls this hook before it sets the loop's iteration from the checkpoint
            loop.dataloader_iterator = _RestoreBeforeBatch(
                loop.dataloader_iterator, checkpoint['meta']['iter'], saved[rank]
            )
        else:  # epoch-based loops start a new data iterator at the resumed epoch
            set_rng_states(saved[rank])

    def before_val(self, runner) -> None:
        self._before_val = rng_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_states(self._before_val)
            self._before_val = None
