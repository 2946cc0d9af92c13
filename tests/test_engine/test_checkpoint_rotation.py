"""Checkpoint rotation and write failures (ResumableCheckpointHook) at max_keep_ckpts=1.

mmengine's CheckpointHook removes the oldest checkpoint before it writes the new one, so with one
checkpoint kept, a save that fails or is killed leaves none. The runs are
tests/data/rotation_tiny.py (30 iterations of the tiny config, a checkpoint every 10, one kept);
the reference is the same run uninterrupted, and a resumed run must end with its weights and
optimizer state bit for bit."""

import os
import os.path as osp
import resource
import signal
import subprocess
import sys
import tempfile

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_dilated.engine import TrainingStopped
from mmseg_dilated.utils.checkpoint import safe_load

from _helpers import REPO, assert_ok, assert_same_checkpoint, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA = osp.join(REPO, 'tests', 'data')
CONFIG = osp.join(DATA, 'rotation_tiny.py')
ENV = dict(PYTHONPATH=DATA, OMP_NUM_THREADS='1')


def _train(cwd, work_dir, *extra, config=CONFIG, file_size_limit=None):
    args = [sys.executable, TRAIN, config, '--work-dir', work_dir, *extra]
    if file_size_limit is None:
        return run_tool(args, cwd, env=ENV)

    def limit():  # `ulimit -f` for the training process only
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        args,
        cwd=str(cwd),
        env=dict(os.environ, PYTHONUNBUFFERED='1', **ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        preexec_fn=limit,
    )


def _files(work_dir):
    """The checkpoints and hidden partial files of a work dir."""
    return sorted(n for n in os.listdir(work_dir) if n.endswith(('.pth', '.tmp')))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The uninterrupted run (work_ref); data generated once."""
    cwd = tmp_path_factory.mktemp('rotation')
    assert_ok(_train(cwd, 'work_ref'), 'the uninterrupted run')
    assert _files(cwd / 'work_ref') == ['iter_30.pth']  # iter_10 and iter_20 rotated out
    return cwd


@pytest.mark.slow
def test_a_kill_during_the_save_keeps_the_previous_checkpoint(runs):
    work = runs / 'work_kill'
    proc = _train(runs, 'work_kill', config=osp.join(DATA, 'rotation_tiny_killed_in_save.py'))
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    (partial,) = [n for n in _files(work) if n.endswith('.tmp')]
    assert partial.startswith('.iter_20.pth.')
    assert _files(work) == sorted([partial, 'iter_10.pth'])  # the only good one is still there
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_10.pth')
    assert safe_load(str(work / 'iter_10.pth'), 'cpu')['meta']['iter'] == 10

    out = assert_ok(_train(runs, 'work_kill', '--resume'), 'resuming')
    assert f'Removed 1 partial file(s) that a killed save left behind: {work / partial}' in out
    assert 'resumed epoch: 0, iter: 10' in out
    assert _files(work) == ['iter_30.pth']
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', work / 'iter_30.pth')


@pytest.mark.slow
def test_a_file_size_limit_stops_the_run_and_keeps_the_only_checkpoint(runs):
    """The issue's case: train to 20, then resume under `ulimit -f` below a checkpoint's size, so
    that the save at 30 fails with EFBIG."""
    work = runs / 'work_efbig'
    assert_ok(_train(runs, 'work_efbig', '--cfg-options', 'train_cfg.max_iters=20'), 'to 20')
    assert _files(work) == ['iter_20.pth']
    good = (work / 'iter_20.pth').read_bytes()

    proc = _train(runs, 'work_efbig', '--resume', file_size_limit=len(good) // 2)
    assert proc.returncode == 74, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    assert (
        f'Could not write the checkpoint {work}/iter_30.pth: [Errno 27] File too large (the file '
        'is larger than this process may write (see `ulimit -f`) or than the file system allows: '
        'raise the limit, or save the checkpoints elsewhere with --cfg-options '
        'default_hooks.checkpoint.out_dir=DIR). Nothing of it is left on disk and no older '
        f'checkpoint was removed. The last good checkpoint is {work}/iter_20.pth. Training '
        'stopped (exit status 74); once checkpoints can be written, continue with: '
        f'mmseg-dilated train {CONFIG} --work-dir {work} --resume'
    ) in proc.stdout
    assert _files(work) == ['iter_20.pth']  # nothing partial, nothing removed
    assert (work / 'iter_20.pth').read_bytes() == good
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_20.pth')

    assert_ok(_train(runs, 'work_efbig', '--resume'), 'resuming without the limit')
    assert _files(work) == ['iter_30.pth']  # iter_20 removed once iter_30 was in place
    assert_same_checkpoint(runs / 'work_ref' / 'iter_30.pth', work / 'iter_30.pth')


@pytest.mark.parametrize(
    'errno, reason',
    [
        (
            'ENOSPC',
            '[Errno 28] No space left on device (the file system is full: free space on it, or '
            'save the checkpoints elsewhere with --cfg-options '
            'default_hooks.checkpoint.out_dir=DIR)',
        ),
        (
            'EACCES',
            '[Errno 13] Permission denied (this process may not write there: fix the permissions, '
            'or save the checkpoints elsewhere with --cfg-options '
            'default_hooks.checkpoint.out_dir=DIR)',
        ),
    ],
)
def test_a_write_error_names_the_path_the_reason_and_the_resume_command(
    tmp_path, monkeypatch, errno, reason
):
    """tests/data/fault_hooks.py's FailCheckpointWrite makes the save of iteration 20 fail where
    each error occurs (the fsync of the written bytes; creating the temporary file), in this
    process: monkeypatch puts back what the hook replaces."""
    monkeypatch.setattr(os, 'fsync', os.fsync)
    monkeypatch.setattr(tempfile, 'mkstemp', tempfile.mkstemp)
    monkeypatch.syspath_prepend(DATA)
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(
        {
            'train_cfg.max_iters': 20,
            'custom_hooks': [dict(type='FailCheckpointWrite', iteration=20, errno=errno)],
        }
    )
    work = tmp_path / 'work'
    cfg.work_dir = str(work)
    with pytest.raises(TrainingStopped) as stopped:
        Runner.from_cfg(cfg).train()
    assert stopped.value.code == 74
    assert stopped.value.message == (
        f'Could not write the checkpoint {work}/iter_20.pth: {reason}. Nothing of it is left on '
        f'disk and no older checkpoint was removed. The last good checkpoint is '
        f'{work}/iter_10.pth. Training stopped (exit status 74); once checkpoints can be '
        f'written, continue with: mmseg-dilated train {CONFIG} --work-dir {work} --resume (with '
        "this run's other --cfg-options, if any)"
    )
    assert _files(work) == ['iter_10.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_10.pth')
    assert safe_load(str(work / 'iter_10.pth'), 'cpu')['meta']['iter'] == 10


def test_the_best_checkpoint_rotates_after_its_save_too(tmp_path, monkeypatch):
    """save_best: mmengine removes the previous best checkpoint before it writes the new one, then
    saves the periodic checkpoint again from inside that save (the hook's guard is re-entrant)."""
    monkeypatch.syspath_prepend(DATA)
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(
        {
            'train_cfg.max_iters': 20,
            'train_cfg.val_interval': 5,
            'default_hooks.checkpoint.interval': 5,
            'default_hooks.checkpoint.save_best': 'mIoU',
            'default_hooks.checkpoint.rule': 'greater',
        }
    )
    work = tmp_path / 'work'
    cfg.work_dir = str(work)
    runner = Runner.from_cfg(cfg)
    runner.train()
    best = runner.message_hub.get_info('best_ckpt')
    assert _files(work) == sorted(['iter_20.pth', osp.basename(best)])
    assert safe_load(best, 'cpu')['meta']['iter'] == int(best.rsplit('_', 1)[1][:-4])
