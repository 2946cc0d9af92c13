"""An iteration-based training loop whose resume costs the same at any iteration.

On ``--resume`` at iteration N, mmengine's ``IterBasedTrainLoop`` draws N batches from the data
loader and throws them away ("Advance dataloader N steps to skip data that has already been
trained"), so that the sampler, and with ``num_workers=0`` the random generators, are where the
uninterrupted run had them: every skipped image is read, decoded and augmented again. The cost is
linear in N (about 12 ms a batch on ``configs/context_toy.py``; at a Cityscapes crop and batch,
hours at iteration 80k). This loop reaches the same place without loading anything: the sampler
(:class:`~mmseg_dilated.engine.ResumableInfiniteSampler`) starts at the first untrained sample,
and the random draws of the data pipeline do not depend on the batches before
(:class:`~mmseg_dilated.engine.SampleSeededDataset`). Together with
:class:`~mmseg_dilated.engine.ResumableCheckpointHook`, which restores the training processes'
own generators, a resumed run trains bit for bit as the uninterrupted one, with any
``num_workers``, persistent or not.

Every schedule base of this package selects it (``configs/_base_/schedules/``); mmengine's replay
stays available with ``train_cfg=dict(type='IterBasedTrainLoop')``.
"""

import copy
import logging
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import DATA_SAMPLERS, LOOPS
from torch.utils.data import DataLoader

from ..utils.errors import UserError
from .preemption_hook import protect_data_loader_workers
from .resumable_sampler import ResumableInfiniteSampler
from .sample_seeded_dataset import SampleSeededDataset

__all__ = ['FastResumeIterBasedTrainLoop', 'FastResumeLoaderError', 'fast_resume_dataloader']

_STOCK_LOOP = "train_cfg=dict(type='IterBasedTrainLoop') (mmengine's replay of the trained batches)"


class FastResumeLoaderError(UserError, ValueError):
    """The training data loader cannot start at a given sample."""


def _sampler_class(sampler_type):
    if isinstance(sampler_type, str):
        return DATA_SAMPLERS.get(sampler_type)
    return sampler_type


def fast_resume_dataloader(dataloader: dict) -> dict:
    """The training data loader config as :class:`FastResumeIterBasedTrainLoop` builds it: its
    dataset wrapped in :class:`SampleSeededDataset`, mmengine's ``InfiniteSampler`` replaced by its
    subclass :class:`ResumableInfiniteSampler` (same arguments).

    Raises:
        FastResumeLoaderError: the loader cannot be positioned: another sampler, or a
            ``batch_sampler``.
    """
    dataloader = copy.copy(dataloader)
    if dataloader.get('batch_sampler') is not None:
        raise FastResumeLoaderError(
            'FastResumeIterBasedTrainLoop resumes by starting the sampler after the samples '
            'already trained on, counted as iterations x batch_size, so train_dataloader needs '
            f'batch_size and no batch_sampler (it has batch_sampler={dataloader["batch_sampler"]}).'
            f' Remove the batch_sampler, or use {_STOCK_LOOP}.'
        )
    sampler = dict(dataloader.get('sampler') or {})
    sampler_cls = _sampler_class(sampler.get('type'))
    if sampler_cls is InfiniteSampler:
        sampler['type'] = ResumableInfiniteSampler
    elif not (isinstance(sampler_cls, type) and issubclass(sampler_cls, ResumableInfiniteSampler)):
        raise FastResumeLoaderError(
            'FastResumeIterBasedTrainLoop resumes by starting the sampler after the samples '
            'already trained on, which needs a sampler that can start there: '
            "train_dataloader.sampler must be dict(type='ResumableInfiniteSampler', shuffle=...) "
            "(mmengine's InfiniteSampler is taken as that), not "
            f'{sampler.get("type")!r}. Change the sampler, or use {_STOCK_LOOP}.'
        )
    dataloader['sampler'] = sampler
    dataset = dataloader['dataset']
    if not (
        isinstance(dataset, dict)
        and dataset.get('type') in ('SampleSeededDataset', SampleSeededDataset)
    ):
        dataloader['dataset'] = dict(type=SampleSeededDataset, dataset=dataset)
    return dataloader


class _SkipTrainedBatches:
    """The loop's data iterator. mmengine's ``run()`` first calls ``next()`` once per trained
    batch; those calls load nothing and return None here, the sampler having been moved past the
    samples they stand for."""

    def __init__(self, loop, iterator):
        self._loop = loop
        self._iterator = iterator
        self._skip = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip is None:  # the first call: the loop is at the iteration it resumed at
            self._skip = self._loop.iter
            if self._skip:
                self._start_after(self._skip)
        if self._skip:
            self._skip -= 1
            return None
        return next(self._iterator)

    def skip_iter(self, n: int) -> None:
        """OneDL's mmengine skips the trained batches with one ``skip_iter(n)`` call instead of
        ``n`` calls of ``next()``: the sampler moves past them the same way."""
        if self._skip is None:
            self._skip = 0
            if n:
                self._start_after(n)

    def _start_after(self, iterations):
        loop = self._loop
        sampler = loop.dataloader.sampler
        samples = iterations * loop.dataloader.batch_size
        sampler.set_position(samples)
        # mmengine has just taken the seed of the resumed run (Runner.resume); the sampler was
        # built before, with the seed drawn for this process when the config leaves it to chance
        if not loop.runner._randomness_cfg.get('diff_rank_seed', False):
            sampler.seed = loop.runner.seed
        # A new data iterator draws its workers' base seed from torch's generator; the
        # uninterrupted run drew it once, at the start, not here.
        with torch.random.fork_rng(devices=[]):
            self._iterator = type(self._iterator)(loop.dataloader)
        print_log(
            f'Resuming at iteration {iterations}: the train sampler starts after the {samples} '
            'samples this process has trained on, so the "Advance dataloader" steps load nothing '
            '(FastResumeIterBasedTrainLoop; train_cfg.type=IterBasedTrainLoop replays them).',
            logger='current',
            level=logging.INFO,
        )

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@LOOPS.register_module()
class FastResumeIterBasedTrainLoop(IterBasedTrainLoop):
    """:class:`~mmengine.runner.IterBasedTrainLoop` that resumes without loading the batches it
    has already trained on (see the module docstring).

    Takes the same arguments. Its data loader is built by :func:`fast_resume_dataloader`.
    """

    def __init__(
        self,
        runner,
        dataloader: Union[DataLoader, Dict],
        max_iters: int,
        val_begin: int = 1,
        val_interval: int = 1000,
        dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
    ) -> None:
        if isinstance(dataloader, dict):
            # built here, as mmengine's BaseLoop builds it, so that its workers, started by the
            # stock loop's constructor, keep a PreemptionHook's handlers (preemption_hook.py)
            dataloader = runner.build_dataloader(
                fast_resume_dataloader(dataloader),
                seed=runner.seed,
                diff_rank_seed=runner._randomness_cfg.get('diff_rank_seed', False),
            )
        protect_data_loader_workers(dataloader)
        super().__init__(runner, dataloader, max_iters, val_begin, val_interval, dynamic_intervals)
        if not hasattr(self.dataloader.sampler, 'set_position') or not self.dataloader.batch_size:
            raise FastResumeLoaderError(
                'FastResumeIterBasedTrainLoop needs a data loader with a batch_size and a '
                'ResumableInfiniteSampler; the one given has '
                f'{type(self.dataloader.sampler).__name__} and batch_size '
                f'{self.dataloader.batch_size}. Pass the loader as a config, or use {_STOCK_LOOP}.'
            )
        self.dataloader_iterator = _SkipTrainedBatches(self, self.dataloader_iterator)
