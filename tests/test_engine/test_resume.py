"""Exact resume and crash-safe checkpoints (ResumableCheckpointHook, FastResumeIterBasedTrainLoop,
tools/train.py --resume) on configs/context_toy.py as shipped (dropout, augmentation, AdamW,
validation), run for 30 iterations with checkpoints and validation every 10
(tests/data/resume_toy.py); data loaded in the main process, or by 2 workers (persistent or not),
and resumed without replay or with mmengine's.

The reference is the same run without interruption: after a SIGKILL and a resume, the final
weights, the optimizer state and every logged loss must equal it bit for bit."""

import os
import os.path as osp
import shutil
import signal

import pytest

from mmseg_dilated.utils.checkpoint import find_resumable_checkpoint, safe_load

from _helpers import REPO, assert_ok, assert_same_checkpoint, logged_losses, train

# Every test trains context_toy.py through tools/train.py (the runs fixture): end-to-end, slow.
pytestmark = pytest.mark.slow

TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA = osp.join(REPO, 'tests', 'data')
CONFIG = osp.join(DATA, 'resume_toy.py')


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The uninterrupted run (work_ref) in a folder of its own, data generated once."""
    cwd = tmp_path_factory.mktemp('resume')
    assert_ok(train(cwd, CONFIG, 'work_ref'), 'the uninterrupted run')
    return cwd


def test_checkpoints_carry_every_generator(runs):
    ckpt = safe_load(str(runs / 'work_ref' / 'iter_10.pth'), 'cpu')
    (states,) = ckpt['rng_states']  # one process
    assert set(states) >= {'torch', 'numpy', 'python'}
    assert not any(n.endswith('.tmp') for n in os.listdir(runs / 'work_ref'))


def test_resume_after_sigkill_is_bit_exact(runs):
    proc = train(runs, osp.join(DATA, 'resume_toy_killed.py'), 'work_kill')
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    work = runs / 'work_kill'
    assert (work / 'last_checkpoint').read_text().endswith('iter_20.pth')
    assert not (work / 'iter_30.pth').exists()
    assert_ok(train(runs, CONFIG, 'work_kill', '--resume'), 'resuming')
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', work / 'iter_30.pth')
    reference, resumed = logged_losses(runs / 'work_ref'), logged_losses(work)
    assert sorted(reference) == list(range(1, 31))
    assert resumed == reference  # iterations 1-21 from the killed run, 21-30 from the resumed one


def _workers(persistent):
    return [
        '--cfg-options',
        'train_dataloader.num_workers=2',
        f'train_dataloader.persistent_workers={persistent}',
    ]


@pytest.mark.slow
def test_workers_do_not_change_the_training(runs):
    """Each sample's augmentation depends on its place in the sampler's stream alone
    (SampleSeededDataset), so 2 data-loader workers train what the main process trains."""
    assert_ok(train(runs, CONFIG, 'work_workers', *_workers(True)), 'the run with 2 workers')
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', runs / 'work_workers' / 'iter_30.pth')
    assert logged_losses(runs / 'work_workers') == logged_losses(runs / 'work_ref')


@pytest.mark.slow
@pytest.mark.parametrize('persistent', [False, True])
def test_resume_with_two_workers_is_bit_exact(runs, persistent):
    work = f'work_kill_workers_{persistent}'
    proc = train(runs, osp.join(DATA, 'resume_toy_killed.py'), work, *_workers(persistent))
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    out = assert_ok(train(runs, CONFIG, work, '--resume', *_workers(persistent)), 'resuming')
    assert 'Resuming at iteration 20: the train sampler starts after the 160 samples' in out
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', runs / work / 'iter_30.pth')
    assert logged_losses(runs / work) == logged_losses(runs / 'work_ref')


@pytest.mark.slow
def test_mmengines_replay_resumes_bit_exact_too(runs):
    """train_cfg.type='IterBasedTrainLoop': mmengine's replay of the trained batches, with
    ResumableCheckpointHook restoring the generators after it (num_workers=0)."""
    stock = ['--cfg-options', 'train_cfg.type=IterBasedTrainLoop']
    assert_ok(train(runs, CONFIG, 'work_stock_ref', *stock), 'the uninterrupted run')
    proc = train(runs, osp.join(DATA, 'resume_toy_killed.py'), 'work_stock', *stock)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    out = assert_ok(train(runs, CONFIG, 'work_stock', '--resume', *stock), 'resuming')
    assert 'Advance dataloader 20 steps' in out and 'Resuming at iteration' not in out
    assert_same_checkpoint(
        runs / 'work_stock_ref' / 'iter_30.pth', runs / 'work_stock' / 'iter_30.pth'
    )
    assert logged_losses(runs / 'work_stock') == logged_losses(runs / 'work_stock_ref')


def test_kill_inside_a_save_leaves_the_previous_checkpoint(runs):
    proc = train(runs, osp.join(DATA, 'resume_toy_killed_in_save.py'), 'work_save')
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    work = runs / 'work_save'
    # the checkpoint of iteration 20 never appeared under its name; last_checkpoint still names 10
    assert not (work / 'iter_20.pth').exists()
    assert [n for n in os.listdir(work) if n.startswith('.iter_20.pth.')]
    assert (work / 'last_checkpoint').read_text().endswith('iter_10.pth')
    out = assert_ok(train(runs, CONFIG, 'work_save', '--resume'), 'resuming')
    assert 'resumed epoch: 0, iter: 10' in out
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', work / 'iter_30.pth')


def _broken_work_dir(runs, tmp_path, breakage):
    work = tmp_path / 'work'
    work.mkdir()
    for n in (10, 20, 30):
        shutil.copy(runs / 'work_ref' / f'iter_{n}.pth', work / f'iter_{n}.pth')
    (work / 'last_checkpoint').write_text(str(work / 'iter_30.pth'))
    breakage(work)
    return work


def _truncate(work):
    data = (work / 'iter_30.pth').read_bytes()
    (work / 'iter_30.pth').write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    'breakage, problem',
    [
        (_truncate, 'truncated or corrupt'),
        (lambda w: (w / 'iter_30.pth').write_bytes(b''), 'truncated or corrupt'),
        (lambda w: (w / 'last_checkpoint').write_text(''), None),
    ],
)
def test_newest_readable_checkpoint_is_found(runs, tmp_path, breakage, problem):
    work = _broken_work_dir(runs, tmp_path, breakage)
    chosen, problems = find_resumable_checkpoint(str(work))
    if problem is None:  # empty last_checkpoint: the newest file is intact
        assert chosen == str(work / 'iter_30.pth')
        assert problems == [
            (str(work / 'last_checkpoint'), 'empty (the run was killed while writing it)')
        ]
    else:
        assert chosen == str(work / 'iter_20.pth')
        assert [p for p, _ in problems] == [str(work / 'iter_30.pth')]
        assert problem in problems[0][1]


def test_resume_falls_back_and_says_why(runs, tmp_path):
    work = _broken_work_dir(runs, tmp_path, _truncate)
    out = assert_ok(
        train(tmp_path, CONFIG, str(work), '--resume', '--cfg-options', 'train_cfg.max_iters=21'),
        'resuming past a truncated checkpoint',
    )
    assert f'--resume: resuming from {work / "iter_20.pth"}' in out
    assert f'{work / "iter_30.pth"}: Checkpoint' in out
    assert 'resumed epoch: 0, iter: 20' in out


def test_resume_with_nothing_readable_stops_with_the_list(runs, tmp_path):
    def break_all(work):
        for n in (10, 20, 30):
            (work / f'iter_{n}.pth').write_bytes(b'not a checkpoint')

    work = _broken_work_dir(runs, tmp_path, break_all)
    proc = train(tmp_path, CONFIG, str(work), '--resume')
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout
    assert f'--resume found no readable checkpoint in {work}' in proc.stdout
    for n in (10, 20, 30):
        assert str(work / f'iter_{n}.pth') in proc.stdout
