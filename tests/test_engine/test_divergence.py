"""A diverged run stops: DivergenceHook, and ResumableCheckpointHook refusing non-finite weights.

The runs are tests/data/long_run_tiny.py variants, trained through mmengine's Runner in this
process (the exit status of a real command is checked with the ``lr=1e5`` run). The references
are independent of the hook: mmengine's own log of each iteration's loss and learning rate, the
tensors of the checkpoints on disk, and the loss scaler's scale in the last checkpoint."""

import math
import os.path as osp
import re
import signal
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_dilated.engine import DivergenceHook, TrainingStopped
from mmseg_dilated.utils.checkpoint import safe_load

from _helpers import REPO, logged_iterations, run_tool, train_two_ranks

TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA = osp.join(REPO, 'tests', 'data')
ENV = dict(PYTHONPATH=DATA, OMP_NUM_THREADS='1')


def _train(tmp_path, monkeypatch, config, **options):
    """Train ``config`` (in tests/data) in this process, in ``tmp_path/work``; return the run's log
    text, and the TrainingStopped it raised (None if it finished)."""
    monkeypatch.syspath_prepend(DATA)
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(DATA, config))
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    stopped = None
    try:
        Runner.from_cfg(cfg).train()
    except TrainingStopped as err:
        stopped = err
    (log,) = (tmp_path / 'work').glob('*/*.log')
    return log.read_text(), stopped


def _checkpoints(work_dir):
    return sorted(p.name for p in work_dir.glob('*.pth'))


def _all_finite(path):
    state = safe_load(str(path), 'cpu')['state_dict']
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_a_nan_loss_stops_the_run_and_the_last_finite_checkpoint_survives(tmp_path, monkeypatch):
    """tests/data/diverge_tiny.py: checkpoints every 5 iterations, one kept; the weights set to
    NaN before iteration 7."""
    handler = signal.getsignal(signal.SIGTERM)
    log, stopped = _train(tmp_path, monkeypatch, 'diverge_tiny.py')
    work = tmp_path / 'work'
    assert stopped is not None and stopped.code == 65
    logged = logged_iterations(work)
    assert sorted(logged) == list(range(1, 8)) and math.isnan(logged[7]['loss'])
    assert not math.isnan(logged[6]['loss'])
    lr = logged[7]['lr']  # mmengine's record of the first parameter group's rate
    assert re.fullmatch(
        r'Training diverged at iteration 7: non-finite loss=nan, decode\.loss_ce=nan, '
        r'decode\.loss_frontend=nan \(1 iteration\(s\) in a row, max_bad_iters=1\); learning '
        rf'rate {lr:.4g}, [0-9.e-]+\. The last finite checkpoint is {work}/iter_5\.pth\. Lower '
        r'the learning rate \(or add optim_wrapper\.clip_grad, or check the data\) and continue '
        rf'from it: mmseg-dilated train {DATA}/diverge_tiny\.py --work-dir {work} --resume '
        r"--cfg-options optim_wrapper\.optimizer\.lr=LOWER \(with this run's other "
        r'--cfg-options, if any\)',
        stopped.message,
    ), stopped.message
    assert stopped.message in log
    assert _checkpoints(work) == ['iter_5.pth'] and _all_finite(work / 'iter_5.pth')
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_5.pth')
    # the preemption hook of the same run has handed SIGTERM back
    assert signal.getsignal(signal.SIGTERM) is handler


def test_max_bad_iters_waits_and_no_nan_checkpoint_is_written(tmp_path, monkeypatch):
    """tests/data/diverge_tiny_patient.py: NaN from iteration 9, max_bad_iters=3; the checkpoint
    of iteration 10 falls inside the bad iterations."""
    log, stopped = _train(tmp_path, monkeypatch, 'diverge_tiny_patient.py')
    work = tmp_path / 'work'
    assert stopped.code == 65
    assert stopped.message.startswith('Training diverged at iteration 11: ')
    assert '(3 iteration(s) in a row, max_bad_iters=3)' in stopped.message
    for step, count in ((9, 1), (10, 2)):
        assert (
            f'Iteration {step}: non-finite loss=nan, decode.loss_ce=nan, decode.loss_frontend=nan'
            f' ({count} in a row; the run stops at max_bad_iters=3).'
        ) in log
    tensors = [
        n
        for n, t in safe_load(str(work / 'iter_5.pth'), 'cpu')['state_dict'].items()
        if t.is_floating_point()
    ]
    assert (
        f'Refused to save {work}/iter_10.pth: {len(tensors)} of {len(tensors)} tensors of the '
        f'model are not finite ({", ".join(tensors[:5])}, ...). The last finite checkpoint, '
        f'{work}/iter_5.pth, stays the newest.'
    ) in log
    assert _checkpoints(work) == ['iter_5.pth'] and _all_finite(work / 'iter_5.pth')


@pytest.mark.parametrize(
    'clip_grad, stop_at, terms',
    [
        # mmengine computes the gradient norm for clip_grad: the infinite gradient stops at once
        (dict(max_norm=1e9), 3, 'grad_norm=inf'),
        # no norm is computed without it: the NaN weights that follow stop the next iteration
        (None, 4, 'loss=nan, decode.loss_ce=nan, decode.loss_frontend=nan'),
    ],
)
def test_gradients_are_checked_where_the_wrapper_computes_their_norm(
    tmp_path, monkeypatch, clip_grad, stop_at, terms
):
    _, stopped = _train(
        tmp_path,
        monkeypatch,
        'long_run_tiny.py',
        **{
            'train_cfg.max_iters': 6,
            'optim_wrapper.clip_grad': clip_grad,
            'custom_hooks': [dict(type='InfGradAt', iterations=[3])],
        },
    )
    assert stopped.code == 65
    assert stopped.message.startswith(
        f'Training diverged at iteration {stop_at}: non-finite {terms} (1 iteration(s)'
    )
    assert 'No checkpoint of this run has been written yet.' in stopped.message
    assert f' and start again: mmseg-dilated train {DATA}/long_run_tiny.py --work-dir ' in (
        stopped.message
    )


def test_amp_skipped_steps_are_counted_not_divergence(tmp_path, monkeypatch):
    """tests/data/amp_tiny.py: mmengine's AmpOptimWrapper (on CPU), infinite gradients in
    iterations 3 and 4, loss scale 1024 that only a skipped step changes in 12 iterations."""
    log, stopped = _train(tmp_path, monkeypatch, 'amp_tiny.py')
    assert stopped is None, stopped
    for step, scale, count in ((3, 1024, 1), (4, 512, 2)):
        assert (
            f'The AMP loss scaler skipped the optimizer step of iteration {step} (non-finite '
            f'gradients at scale {scale}, now {scale // 2}): {count} in a row, {count} in this '
            'run.'
        ) in log
    assert 'The AMP loss scaler skipped 2 of 12 optimizer steps' in log
    ckpt = safe_load(str(tmp_path / 'work' / 'iter_12.pth'), 'cpu')
    assert ckpt['optimizer']['loss_scaler']['scale'] == 1024 / 2**2  # two skips, no growth
    assert _all_finite(tmp_path / 'work' / 'iter_12.pth')


def test_a_run_of_amp_skipped_steps_stops(tmp_path, monkeypatch):
    _, stopped = _train(
        tmp_path,
        monkeypatch,
        'amp_tiny.py',
        **{
            'default_hooks.divergence.max_skipped_steps': 3,
            'custom_hooks': [dict(type='InfGradAt', iterations=range(3, 12))],
        },
    )
    assert stopped.code == 65
    assert stopped.message.startswith(
        'Training diverged: the AMP loss scaler skipped the optimizer step of iteration 5 '
        '(non-finite gradients at scale 256, now 128): 3 in a row, 3 in this run, which reaches '
        'max_skipped_steps=3: the gradients are non-finite at any scale.'
    ), stopped.message


@pytest.mark.parametrize('name', ['max_bad_iters', 'max_skipped_steps'])
def test_bad_arguments_are_refused(name):
    with pytest.raises(ValueError, match=f'DivergenceHook: {name}=0: give an int >= 1'):
        DivergenceHook(**{name: 0})


@pytest.mark.slow
def test_lr_1e5_stops_with_status_65_and_keeps_the_last_finite_checkpoint(tmp_path):
    """The issue's case through tools/train.py: optim_wrapper.optimizer.lr=1e5, a checkpoint every
    iteration, one kept."""
    proc = run_tool(
        [
            sys.executable,
            TRAIN,
            osp.join(DATA, 'long_run_tiny.py'),
            '--work-dir',
            'work',
            '--cfg-options',
            'optim_wrapper.optimizer.lr=1e5',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1',
        ],
        tmp_path,
        env=ENV,
    )
    assert proc.returncode == 65, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    work = tmp_path / 'work'
    found = re.search(r'Training diverged at iteration (\d+): non-finite ', proc.stdout)
    step = int(found[1])
    logged = logged_iterations(work)
    assert max(logged) == step and math.isnan(logged[step]['loss'])  # the first NaN stops it
    assert _checkpoints(work) == [f'iter_{step - 1}.pth'] and _all_finite(
        work / f'iter_{step - 1}.pth'
    )
    assert f'The last finite checkpoint is {work}/iter_{step - 1}.pth.' in proc.stdout


@pytest.mark.slow
def test_nan_on_one_rank_stops_every_rank_at_the_same_iteration(tmp_path):
    """tests/data/diverge_tiny_ddp.py: rank 1's weights go NaN before iteration 4, so rank 0's
    loss of iteration 4 is still finite; the all-reduce of the flags stops both at 4."""
    codes, outs = train_two_ranks(tmp_path, osp.join(DATA, 'diverge_tiny_ddp.py'), 'ddp', ENV)
    assert codes == [65, 65], outs[0][-3000:] + outs[1][-3000:]
    assert (
        'Training diverged at iteration 4: non-finite loss (non-finite on another rank), '
        'decode.loss_ce (non-finite on another rank)'
    ) in outs[0]
