"""mmengine's InfiniteSampler with a position that can be set, for resuming without replay.

mmengine's :class:`~mmengine.dataset.InfiniteSampler` is one generator that a training run consumes
from its start; the only way to reach sample ``k`` of its stream is to draw the ``k`` before it,
which is what mmengine's ``IterBasedTrainLoop`` does on resume ("Advance dataloader N steps"),
loading and transforming every batch already trained on. Here each pass over the data (epoch) is
a permutation seeded with ``seed + epoch``, as torch's ``DistributedSampler`` seeds its epochs, so
any position of the stream is reached in O(1): :meth:`ResumableInfiniteSampler.set_position`.
"""

from typing import Iterator, List

import torch
from mmengine.dataset import InfiniteSampler
from mmseg.registry import DATA_SAMPLERS

__all__ = ['ResumableInfiniteSampler', 'SampleKey']


class SampleKey(int):
    """A dataset index (an ``int``, usable wherever an index is) that also carries the pass over
    the data (``epoch``) that drew it and the sampler's ``seed``.

    :class:`~mmseg_dilated.engine.SampleSeededDataset` seeds the sample's pipeline from the three,
    so that the same image drawn in two epochs is augmented differently, and the same draw is
    augmented the same way in every run and in every data-loader worker (workers receive their
    indices pickled, so the key, not the worker's copy of the dataset, has to carry the seed).
    """

    def __new__(cls, index: int, epoch: int, seed: int):
        key = super().__new__(cls, index)
        key.epoch = epoch
        key.seed = seed
        return key

    def __reduce__(self):
        return SampleKey, (int(self), self.epoch, self.seed)


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """:class:`~mmengine.dataset.InfiniteSampler` that starts anywhere in its stream.

    The stream is the concatenation of one permutation of the dataset per epoch (the identity with
    ``shuffle=False``), epoch ``e`` shuffled by a generator seeded with ``seed + e``. As in
    mmengine's sampler, rank ``r`` of ``w`` processes takes positions ``r, r + w, r + 2w, ...`` of
    it, so the ranks together see every sample once per epoch. Each index is a :class:`SampleKey`
    carrying its epoch and the seed.

    :class:`~mmseg_dilated.engine.FastResumeIterBasedTrainLoop` calls :meth:`set_position` on
    resume; every ``iter()`` starts at the position last set (0 until then).

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Whether to shuffle each epoch. Default: True.
        seed (int, optional): Seed of the permutations; None draws one, the same on every rank.
            Default: None.
    """

    def __init__(self, dataset, shuffle: bool = True, seed=None) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed)
        if self.size == 0:
            raise ValueError('ResumableInfiniteSampler needs a dataset with samples; it has none.')
        self._position = 0

    @property
    def position(self) -> int:
        """How many samples of the stream this rank skips at the start of the next ``iter()``."""
        return self._position

    def set_position(self, samples: int) -> None:
        """Start the next ``iter()`` after the first ``samples`` samples this rank would take."""
        if samples < 0:
            raise ValueError(f'set_position needs a count of samples >= 0, got {samples}')
        self._position = int(samples)

    def epoch_order(self, epoch: int) -> List[int]:
        """The dataset indices of pass ``epoch`` over the data, in stream order."""
        if not self.shuffle:
            return list(range(self.size))
        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        return torch.randperm(self.size, generator=generator).tolist()

    def __iter__(self) -> Iterator[SampleKey]:
        position = self._position * self.world_size + self.rank  # in the stream of all ranks
        epoch, order = None, None
        while True:
            this_epoch, offset = divmod(position, self.size)
            if this_epoch != epoch:
                epoch, order = this_epoch, self.epoch_order(this_epoch)
            yield SampleKey(order[offset], epoch, self.seed)
            position += self.world_size
