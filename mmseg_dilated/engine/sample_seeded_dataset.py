"""A dataset wrapper whose samples draw random numbers that depend only on what is drawn.

mmcv's and mmseg's random transforms (crops, flips, scales, rotations) draw from the process's
global ``random``, numpy and torch generators. What a sample gets then depends on everything the
process drew before it: on how many batches came earlier, and with ``num_workers > 0`` on which
worker loaded it and how that worker was seeded. A resumed run that does not load the trained
batches again (:class:`~mmseg_dilated.engine.FastResumeIterBasedTrainLoop`) would augment every
later sample differently. Here each sample's pipeline runs under generators seeded from
(seed, epoch, sample index), and the process's own generators are put back afterwards, so
augmentation is a function of the sample's place in the sampler's stream alone, the same with any
number of workers, persistent or not, and the main process's stream (dropout, with
``num_workers=0``) is not touched by data loading.
"""

import random

import numpy as np
import torch
from mmseg.registry import DATASETS

from .resumable_checkpoint_hook import rng_states, set_rng_states

__all__ = ['SampleSeededDataset', 'sample_seed']


def sample_seed(seed: int, epoch: int, index: int) -> np.ndarray:
    """Four 32-bit words seeding the generators of sample ``index`` drawn in epoch ``epoch``
    (numpy's ``SeedSequence`` mixes the three numbers, so nearby ones give unrelated seeds)."""
    return np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, epoch, index]).generate_state(4)


@DATASETS.register_module()
class SampleSeededDataset:
    """Wrap a dataset so that sample ``i`` drawn in epoch ``e`` by a sampler seeded with ``s`` is
    loaded under ``random``, numpy and torch (CPU) generators seeded from ``(s, e, i)``.

    It needs indices that carry their epoch and seed: the
    :class:`~mmseg_dilated.engine.SampleKey` of
    :class:`~mmseg_dilated.engine.ResumableInfiniteSampler`.
    :class:`~mmseg_dilated.engine.FastResumeIterBasedTrainLoop` wraps its training dataset in it.

    Args:
        dataset (dict | Dataset): The dataset, or its config.
    """

    def __init__(self, dataset) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        if not (hasattr(key, 'epoch') and hasattr(key, 'seed')):
            raise TypeError(
                f'SampleSeededDataset needs indices that carry their epoch and seed, got {key!r} '
                f"({type(key).__name__}): use sampler=dict(type='ResumableInfiniteSampler') in "
                'its data loader.'
            )
        index = int(key)
        words = [int(w) for w in sample_seed(key.seed, key.epoch, index)]
        saved = rng_states()
        try:
            random.seed(words[0])
            np.random.seed(words[1])
            # CPU only: torch.manual_seed would re-seed the CUDA generators as well
            torch.default_generator.manual_seed(words[2] << 32 | words[3])
            return self.dataset[index]
        finally:
            set_rng_states(saved)

    def __repr__(self):
        return f'SampleSeededDataset({type(self.dataset).__name__}, {len(self)} samples)'
