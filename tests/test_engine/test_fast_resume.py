"""Resume at the same cost at any iteration (FastResumeIterBasedTrainLoop, ResumableInfiniteSampler,
SampleSeededDataset).

The sampler is checked against mmengine's InfiniteSampler and against its own unpositioned stream;
the seeded dataset against the draws of the same sample loaded after other samples, in other
processes. The resume cost is a count of the samples a resumed run loads before its first new
iteration (tests/data/count_loads.py logs each), at iteration 20 and at iteration 2,000, against
mmengine's replay, which loads (N + 1) x batch_size."""

import itertools
import os.path as osp
import pickle
import random
import shutil
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler
from torch.utils.data import DataLoader

from mmseg_dilated.engine import (
    ResumableInfiniteSampler,
    SampleKey,
    SampleSeededDataset,
)
from mmseg_dilated.engine.fast_resume_loop import fast_resume_dataloader
from mmseg_dilated.utils.checkpoint import safe_load

from _helpers import REPO, assert_ok, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA = osp.join(REPO, 'tests', 'data')
COUNT_CONFIG = osp.join(DATA, 'fast_resume_count.py')
BATCH = 2  # the tiny config's batch size


def _sampler(cls, size, rank, world_size, **kwargs):
    with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, world_size)):
        return cls(list(range(size)), **kwargs)


def _take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


@pytest.mark.parametrize('world_size', [1, 2, 3])
def test_unshuffled_stream_is_mmengines(world_size):
    for rank in range(world_size):
        ours = _sampler(ResumableInfiniteSampler, 5, rank, world_size, shuffle=False, seed=0)
        theirs = _sampler(InfiniteSampler, 5, rank, world_size, shuffle=False, seed=0)
        assert _take(ours, 23) == _take(theirs, 23)


@pytest.mark.parametrize('world_size', [1, 2])
@pytest.mark.parametrize('position', [0, 3, 7, 40])
def test_positioned_stream_is_the_tail_of_the_stream(world_size, position):
    for rank in range(world_size):
        full = _sampler(ResumableInfiniteSampler, 5, rank, world_size, seed=3)
        positioned = _sampler(ResumableInfiniteSampler, 5, rank, world_size, seed=3)
        positioned.set_position(position)
        head = _take(full, position + 12)
        tail = _take(positioned, 12)
        assert tail == head[position:]
        assert [k.epoch for k in tail] == [k.epoch for k in head[position:]]


def test_ranks_together_see_every_sample_once_per_epoch():
    streams = [_take(_sampler(ResumableInfiniteSampler, 6, r, 2, seed=1), 9) for r in range(2)]
    merged = [key for pair in zip(*streams) for key in pair]  # positions 0, 1, 2, ... of all ranks
    epochs = [merged[i : i + 6] for i in range(0, 18, 6)]
    for epoch, keys in enumerate(epochs):
        assert sorted(keys) == list(range(6))
        assert {k.epoch for k in keys} == {epoch}
    assert epochs[0] != epochs[1]  # shuffled anew each epoch


def test_sample_key_is_an_index_that_travels_to_workers():
    key = SampleKey(3, epoch=2, seed=7)
    copy = pickle.loads(pickle.dumps(key))
    assert (copy, copy.epoch, copy.seed) == (3, 2, 7)
    assert [10, 11, 12, 13][key] == 13 and f'{key}' == '3'


class _Draws:
    """A dataset whose samples are what the pipeline's generators give: (index, random, numpy,
    torch) draws."""

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return (index, random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_a_sample_draws_the_same_whatever_came_before():
    dataset = SampleSeededDataset(_Draws())
    key = SampleKey(4, epoch=1, seed=0)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    first = dataset[key]
    random.seed(2), np.random.seed(2), torch.manual_seed(2)
    dataset[SampleKey(0, epoch=0, seed=0)]
    assert dataset[key] == first
    assert dataset[SampleKey(4, epoch=2, seed=0)][1:] != first[1:]  # another epoch
    assert dataset[SampleKey(4, epoch=1, seed=1)][1:] != first[1:]  # another seed
    assert dataset[SampleKey(3, epoch=1, seed=0)][1:] != first[1:]  # another sample


def test_loading_leaves_the_process_generators_alone():
    dataset = SampleSeededDataset(_Draws())
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    for i in range(4):
        dataset[SampleKey(i, epoch=0, seed=0)]
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


@pytest.mark.parametrize('num_workers, persistent', [(2, False), (2, True)])
def test_workers_load_what_the_main_process_loads(num_workers, persistent):
    def batches(**kwargs):
        sampler = ResumableInfiniteSampler(_Draws(), seed=0)
        loader = DataLoader(
            SampleSeededDataset(_Draws()), batch_size=2, sampler=sampler, collate_fn=list, **kwargs
        )
        out = list(itertools.islice(iter(loader), 4))
        sampler.set_position(4)  # a resume after 2 batches: the next ones again, from a new iter
        again = list(itertools.islice(iter(loader), 2))
        return out, again

    main, main_again = batches()
    workers, workers_again = batches(num_workers=num_workers, persistent_workers=persistent)
    assert workers == main
    assert main_again == workers_again == main[2:]


def test_plain_indices_are_refused():
    with pytest.raises(TypeError, match="sampler=dict\\(type='ResumableInfiniteSampler'\\)"):
        SampleSeededDataset(_Draws())[3]


def test_train_loader_config():
    dataset = dict(type='ContextShapesDataset', data_root='d')
    built = fast_resume_dataloader(
        dict(batch_size=2, sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dataset)
    )
    assert built['sampler'] == dict(type=ResumableInfiniteSampler, shuffle=True)
    assert built['dataset'] == dict(type=SampleSeededDataset, dataset=dataset)
    assert fast_resume_dataloader(built)['dataset'] == built['dataset']  # not wrapped twice
    with pytest.raises(ValueError, match="DefaultSampler.*type='IterBasedTrainLoop'"):
        fast_resume_dataloader(dict(sampler=dict(type=DefaultSampler), dataset=dataset))
    with pytest.raises(ValueError, match='needs batch_size and no batch_sampler'):
        fast_resume_dataloader(
            dict(
                batch_sampler=dict(type='AspectRatioBatchSampler'),
                sampler=dict(type='InfiniteSampler'),
                dataset=dataset,
            )
        )


# ---- the cost of a resume, counted in samples loaded ----


def _train(cwd, work_dir, *options):
    """tools/train.py on the counting config; returns (output, the sample indices it loaded)."""
    log = cwd / 'loads.txt'
    if log.exists():
        log.unlink()
    out = assert_ok(
        run_tool(
            [sys.executable, TRAIN, COUNT_CONFIG, '--work-dir', work_dir, *options],
            cwd,
            env=dict(PYTHONPATH=DATA, OMP_NUM_THREADS='1'),
        ),
        f'training into {work_dir}',
    )
    return out, [int(line) for line in log.read_text().split()]


def _work_dir_with(cwd, name, checkpoint):
    work = cwd / name
    work.mkdir()
    shutil.copy(checkpoint, work / osp.basename(checkpoint))
    (work / 'last_checkpoint').write_text(str(work / osp.basename(checkpoint)))
    return name


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """21 iterations without interruption, the checkpoint of iteration 20 kept, and a copy of it
    relabelled as iteration 2,000 (the weights do not matter for what a resume loads)."""
    cwd = tmp_path_factory.mktemp('fast_resume')
    _, loads = _train(cwd, 'ref')
    ckpt = safe_load(str(cwd / 'ref' / 'iter_20.pth'), 'cpu')
    ckpt['meta']['iter'] = 2000
    (cwd / 'crafted').mkdir()
    torch.save(ckpt, cwd / 'crafted' / 'iter_2000.pth')
    return cwd, loads


@pytest.mark.slow
def test_counter_counts_every_sample(reference):
    _, loads = reference
    assert len(loads) == 21 * BATCH


@pytest.mark.slow
def test_resume_at_20_loads_one_batch_the_right_one(reference):
    cwd, ref_loads = reference
    work = _work_dir_with(cwd, 'at20', cwd / 'ref' / 'iter_20.pth')
    out, loads = _train(cwd, work, '--resume')
    assert 'Resuming at iteration 20: the train sampler starts after the 40 samples' in out
    assert loads == ref_loads[20 * BATCH :]  # exactly batch 21 of the uninterrupted run
    ref = safe_load(str(cwd / 'ref' / 'iter_21.pth'), 'cpu')['state_dict']
    resumed = safe_load(str(cwd / work / 'iter_21.pth'), 'cpu')['state_dict']
    for name in ref:
        assert torch.equal(ref[name], resumed[name]), name


@pytest.mark.slow
def test_resume_at_2000_loads_one_batch(reference):
    cwd, _ = reference
    work = _work_dir_with(cwd, 'at2000', cwd / 'crafted' / 'iter_2000.pth')
    out, loads = _train(cwd, work, '--resume', '--cfg-options', 'train_cfg.max_iters=2001')
    assert 'resumed epoch: 0, iter: 2000' in out
    assert len(loads) == BATCH


@pytest.mark.slow
def test_mmengines_replay_loads_every_trained_batch_again(reference):
    cwd, _ = reference
    work = _work_dir_with(cwd, 'stock20', cwd / 'ref' / 'iter_20.pth')
    out, loads = _train(cwd, work, '--resume', '--cfg-options', 'train_cfg.type=IterBasedTrainLoop')
    assert 'Advance dataloader 20 steps' in out and 'Resuming at iteration' not in out
    assert len(loads) == (20 + 1) * BATCH
