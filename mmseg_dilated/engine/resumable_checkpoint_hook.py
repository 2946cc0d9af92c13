"""A CheckpointHook whose checkpoints resume bit-exactly and survive a crash.

mmengine's :class:`~mmengine.hooks.CheckpointHook` saves the model, the optimizer, the parameter
schedulers, the message hub and the seed. It leaves two gaps for long runs:

* **Random generators.** On ``--resume`` mmengine re-seeds, so from the first resumed iteration on,
  dropout and data augmentation draw other numbers than the uninterrupted run did (measured on
  ``context_toy.py``: iteration 21's loss already differed after a resume at 20). This hook stores
  every rank's torch (and CUDA), numpy and Python ``random`` states with each checkpoint, and
  restores them on resume right before the first new batch is loaded, after mmengine has replayed
  the batches already trained to advance the data loader (with ``num_workers=0`` that replay draws
  from the same generators). Data-loader workers need nothing saved: mmengine seeds each from
  (seed, rank, worker id) and the replay feeds them the same batches in the same order. Validation
  is made neutral for the training stream (the generators are saved before it and restored after
  it), because mmengine validates after the checkpoint is written, so whatever validation drew
  would otherwise be missing from a resumed run.
* **Torn files.** A run killed while saving leaves a truncated ``iter_N.pth``. Here the checkpoint
  and ``last_checkpoint`` are written to a temporary file in the same folder, fsynced and renamed
  over the final name (:func:`~mmseg_dilated.utils.checkpoint.atomic_write`): a file is complete or
  absent. ``tools/train.py --resume`` also falls back past unreadable checkpoints.

Use it in place of ``CheckpointHook`` (every config of this package does, through
``configs/_base_/default_runtime.py``)::

    default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook', interval=2000))
"""

import contextlib
import io
import logging
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook
from mmengine.hooks import checkpoint_hook as _mmengine_checkpoint_hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..utils.checkpoint import atomic_write

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
            atomic_write(self._path, self.getvalue().encode())
        return super().__exit__(exc_type, exc, tb)


@contextlib.contextmanager
def _atomic_local_writes():
    """While saving: mmengine's local file backend (which writes the checkpoint) and the hook's
    ``open`` (which writes ``last_checkpoint``) write atomically."""
    from mmengine.fileio.backends import LocalBackend

    original_put = LocalBackend.put

    def put(self, obj, filepath):
        atomic_write(str(filepath), obj)

    LocalBackend.put = put
    _mmengine_checkpoint_hook.open = _AtomicTextFile  # module global shadows the builtin
    try:
        yield
    finally:
        LocalBackend.put = original_put
        del _mmengine_checkpoint_hook.open


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

    def _save_checkpoint_with_step(self, runner, step, meta):
        # every rank runs this hook (only rank 0 writes): gather all ranks' generators here
        self._states_to_save = all_gather_object(rng_states())
        try:
            with _atomic_local_writes():
                super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self._states_to_save = None

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
