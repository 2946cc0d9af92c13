"""Preemption: PreemptionHook and tools/slurm_train.sh.

The runs are tests/data/long_run_tiny.py (the tiny config for 40 iterations, checkpoints and
validation every 20) and its variants. A SIGTERM during iteration 30 must leave a checkpoint of
iteration 30 and exit status 75, and ``--resume`` from it must end with the weights and optimizer
state of the uninterrupted run, bit for bit. tools/slurm_train.sh runs against stand-ins for srun
and scontrol that record how they were called."""

import multiprocessing
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from mmseg_dilated.engine import PreemptionHook
from mmseg_dilated.engine.preemption_hook import protect_data_loader_workers
from mmseg_dilated.utils.checkpoint import safe_load

from _helpers import (
    REPO,
    assert_ok,
    assert_same_checkpoint,
    logged_losses,
    train,
    train_two_ranks,
)

TRAIN = osp.join(REPO, 'tools', 'train.py')
SLURM_TRAIN = osp.join(REPO, 'tools', 'slurm_train.sh')
DATA = osp.join(REPO, 'tests', 'data')
ENV = dict(PYTHONPATH=DATA, OMP_NUM_THREADS='1')


def _train(cwd, config, work_dir, *extra):
    return train(cwd, osp.join(DATA, config), work_dir, *extra)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The uninterrupted 40-iteration run (work_ref), data generated once."""
    cwd = tmp_path_factory.mktemp('preemption')
    assert_ok(_train(cwd, 'long_run_tiny.py', 'work_ref'), 'the uninterrupted run')
    return cwd


@pytest.mark.slow
def test_sigterm_saves_the_iteration_and_resume_is_bit_exact(runs):
    work = runs / 'work_term'
    proc = _train(runs, 'preempt_tiny.py', 'work_term')
    assert proc.returncode == 75, proc.stdout[-3000:]
    config = osp.join(DATA, 'preempt_tiny.py')
    assert (
        f'Preempted (SIGTERM): training stopped after iteration 30 of 40; the checkpoint of '
        f'iteration 30 is {work}/iter_30.pth. Exiting with status 75 (preempted: resume me). '
        f'Continue with: mmseg-dilated train {config} --work-dir {work} --resume'
    ) in proc.stdout
    assert 'SIGTERM received during iteration 30: writing a checkpoint and stopping.' in proc.stdout
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_20.pth', 'iter_30.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_30.pth')
    assert safe_load(str(work / 'iter_30.pth'), 'cpu')['meta']['iter'] == 30
    assert sorted(logged_losses(work)) == list(range(1, 31))  # iteration 30 finished, and no more

    out = assert_ok(_train(runs, 'preempt_tiny.py', 'work_term', '--resume'), 'resuming')
    assert 'resumed epoch: 0, iter: 30' in out
    assert_same_checkpoint(runs / 'work_ref' / 'iter_40.pth', work / 'iter_40.pth')
    assert logged_losses(work) == logged_losses(runs / 'work_ref')


@pytest.mark.slow
@pytest.mark.parametrize(
    'config', ['preempt_tiny_workers.py', 'preempt_tiny_workers_sigterm.py'], ids=['usr1', 'term']
)
def test_a_signal_to_the_process_group_spares_the_data_loader_workers(runs, config):
    """slurm signals every process of a job step: the two data-loader workers get the signal too
    (tests/data/preempt_tiny_workers*.py), at a checkpoint iteration that is also a validation
    iteration. SIGUSR1 comes from the training process; SIGTERM from another process, which
    PyTorch's own worker handler answers by ending the worker (rc 1, "DataLoader worker (pid N)
    is killed by signal: Terminated", before the hook reinstalls its handler in the workers)."""
    work = f'w_{config}'
    proc = subprocess.run(
        [sys.executable, TRAIN, osp.join(DATA, config), '--work-dir', work],
        cwd=str(runs),
        env=dict(os.environ, PYTHONUNBUFFERED='1', **ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        start_new_session=True,  # its own process group, which the hook signals
    )
    assert proc.returncode == 75, proc.stdout[-3000:]
    assert 'is killed by signal' not in proc.stdout
    assert proc.stdout.count('Saving checkpoint at 20 iterations') == 1  # not saved twice
    assert 'The validation due at iteration 20 was skipped' in proc.stdout
    assert 'Iter(val)' not in proc.stdout
    assert safe_load(str(runs / work / 'iter_20.pth'), 'cpu')['meta']['iter'] == 20


def _record(calls):
    return lambda signum, frame: calls.append(signum)


_NO_LOADERS = SimpleNamespace(train_loop=SimpleNamespace(dataloader=None), val_loop=None)


def test_outside_training_a_signal_does_what_it_did_before():
    calls = []
    previous = signal.signal(signal.SIGUSR1, _record(calls))
    try:
        hook = PreemptionHook(signals=('SIGUSR1',))
        os.kill(os.getpid(), signal.SIGUSR1)  # tools/test.py: no training
        assert calls == [signal.SIGUSR1]
        assert signal.getsignal(signal.SIGUSR1) is not hook._handle  # handed back

        hook = PreemptionHook(signals=('SIGUSR1',))
        hook.before_train(runner=_NO_LOADERS)
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)  # a second one changes nothing
        assert calls == [signal.SIGUSR1] and hook._received == 'SIGUSR1'
        hook.after_run(runner=None)  # restores the handler it replaced; nothing to stop
    finally:
        signal.signal(signal.SIGUSR1, previous)
    hook._message = None


def _signal_self():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)  # the default action would have ended the process by now


class _SignalSelf(torch.utils.data.Dataset):
    """A dataset whose worker sends itself SIGTERM and returns its pid if it survives."""

    def __len__(self):
        return 1

    def __getitem__(self, index):
        _signal_self()
        return os.getpid()


def _loader(**kwargs):
    return torch.utils.data.DataLoader(
        _SignalSelf(), num_workers=1, multiprocessing_context='fork', **kwargs
    )


def test_a_data_loader_worker_ignores_the_signal_while_the_run_trains():
    """PyTorch's worker loop replaces SIGTERM's handler; a protected loader's workers install
    the hook's again, after the loader's own worker_init_fn."""
    hook = PreemptionHook(signals=('SIGTERM',))
    try:
        hook._trains_now.value = 1  # as before_train sets it
        with pytest.raises(RuntimeError, match='killed by signal|exited unexpectedly'):
            list(_loader())  # not protected: PyTorch's handler ends the worker
        seeded = []
        loader = _loader(worker_init_fn=seeded.append)
        protect_data_loader_workers(loader)
        protect_data_loader_workers(loader)  # once is enough: not wrapped twice
        assert loader.worker_init_fn.keywords == {'init_fn': seeded.append}
        (pid,) = list(loader)
        assert int(pid) != os.getpid()
    finally:
        hook._restore()


def test_outside_training_a_data_loader_worker_ends_at_the_signal():
    hook = PreemptionHook(signals=('SIGTERM',))
    try:
        loader = _loader()
        protect_data_loader_workers(loader)
        with pytest.raises(RuntimeError, match='exited unexpectedly'):
            list(loader)  # quietly, as PyTorch's handler ends a worker its parent ends
    finally:
        hook._restore()


def test_another_forked_process_gets_the_earlier_action():
    """A process forked from one that built the hook but is not a data-loader worker (a
    multiprocessing.Pool after a run that raised) dies of SIGTERM as it would have: ignoring
    the signal there would make Pool.terminate wait for it for ever."""
    hook = PreemptionHook(signals=('SIGTERM',))
    try:
        child = multiprocessing.get_context('fork').Process(target=_signal_self)
        child.start()
        child.join(30)
        assert child.exitcode == -signal.SIGTERM
        hook._training = True  # forked during training: still the earlier action
        child = multiprocessing.get_context('fork').Process(target=_signal_self)
        child.start()
        child.join(30)
        assert child.exitcode == -signal.SIGTERM
        with multiprocessing.get_context('fork').Pool(2) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]
        # (the with block's exit is Pool.terminate: it returns, the workers ended by SIGTERM)
    finally:
        hook._restore()


def test_unknown_or_uncatchable_signals_are_refused():
    with pytest.raises(ValueError, match=r"\['SIGKILL'\] cannot be caught .* SIGTERM"):
        PreemptionHook(signals=('SIGTERM', 'SIGKILL'))
    with pytest.raises(ValueError, match='exit_code=0'):
        PreemptionHook(exit_code=0)


# tools/slurm_train.sh against stand-ins for srun and scontrol -----------------------------------

FAKE_SRUN = """#!/usr/bin/env bash
echo "$@" > "$FAKE_DIR/srun_args"
trap 'echo USR1 >> "$FAKE_DIR/srun_signals"; kill $SLEEP; exit 75' USR1
touch "$FAKE_DIR/srun_started"
if [ -n "${FAKE_SRUN_WAIT:-}" ]; then sleep 30 & SLEEP=$!; wait $SLEEP; fi
exit "${FAKE_SRUN_STATUS:-0}"
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
echo "$@" >> "$FAKE_DIR/scontrol_calls"
"""


def _slurm_env(tmp_path, **extra):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM_')}
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', FAKE_DIR=str(tmp_path), **extra)
    return env


def _slurm_train(tmp_path, env, *extra):
    return subprocess.Popen(
        ['bash', SLURM_TRAIN, 'gpu', 'job', 'configs/context_toy.py', '--work-dir', 'w', *extra],
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _calls(tmp_path, name):
    path = tmp_path / name
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize('status, requeued', [(75, True), (0, False), (65, False), (1, False)])
def test_slurm_train_requeues_a_preempted_batch_job(tmp_path, status, requeued):
    env = _slurm_env(tmp_path, SLURM_JOB_ID='4242', FAKE_SRUN_STATUS=str(status))
    proc = _slurm_train(tmp_path, env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == status, out
    (srun_args,) = _calls(tmp_path, 'srun_args')
    # inside the job: a step on the job's own tasks
    assert srun_args.startswith('--kill-on-bad-exit=1 ')
    assert '--partition' not in srun_args
    assert srun_args.endswith(
        '-u -m mmseg_dilated.cli.train configs/context_toy.py --launcher slurm --work-dir w'
    )
    assert _calls(tmp_path, 'scontrol_calls') == (['requeue 4242'] if requeued else [])
    if requeued:
        assert 'slurm_train.sh: preempted; job 4242 is requeued' in out


def test_a_requeued_job_resumes(tmp_path):
    env = _slurm_env(tmp_path, SLURM_JOB_ID='4242', SLURM_RESTART_COUNT='1')
    proc = _slurm_train(tmp_path, env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert 'slurm_train.sh: restart 1 of job 4242: resuming.' in out
    assert _calls(tmp_path, 'srun_args')[0].endswith('--launcher slurm --work-dir w --resume')


def test_a_signal_to_the_batch_shell_reaches_the_training(tmp_path):
    """--signal=B:USR1@120 signals the batch shell only: the script passes it on to srun (the
    stand-in exits 75 on it, as the training does) and requeues."""
    env = _slurm_env(tmp_path, SLURM_JOB_ID='4242', FAKE_SRUN_WAIT='1')
    proc = _slurm_train(tmp_path, env)
    deadline = time.time() + 30
    while not (tmp_path / 'srun_started').exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGUSR1)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 75, out
    assert _calls(tmp_path, 'srun_signals') == ['USR1']
    assert _calls(tmp_path, 'scontrol_calls') == ['requeue 4242']


def test_outside_a_batch_job_it_prints_the_resume_command(tmp_path):
    env = _slurm_env(tmp_path, FAKE_SRUN_STATUS='75')
    proc = _slurm_train(tmp_path, env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 75, out
    (srun_args,) = _calls(tmp_path, 'srun_args')
    assert srun_args.startswith('--partition=gpu --job-name=job --gres=gpu:8 --ntasks=8 ')
    assert '--signal=USR1@120' in srun_args
    assert _calls(tmp_path, 'scontrol_calls') == []
    assert (
        'no batch job to requeue. Resume with: bash '
        + SLURM_TRAIN
        + ' gpu job configs/context_toy.py --work-dir w --resume'
    ) in out


# two processes ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_signal_to_one_rank_stops_every_rank_after_the_same_iteration(runs):
    """Only rank 1 gets SIGTERM (tests/data/preempt_tiny_ddp.py); the flag's all-reduce makes
    rank 0 stop after the same iteration and write the one checkpoint."""
    codes, outs = train_two_ranks(runs, osp.join(DATA, 'preempt_tiny_ddp.py'), 'ddp', ENV)
    assert codes == [75, 75], outs[0][-3000:] + outs[1][-3000:]
    assert 'Preempted (a signal on another rank): training stopped after iteration 6' in outs[0]
    ckpt = safe_load(str(runs / 'ddp' / 'iter_6.pth'), 'cpu')
    assert len(ckpt['rng_states']) == 2  # both ranks' generators, gathered for rank 0's file
    assert sorted(p.name for p in (runs / 'ddp').glob('*.pth')) == ['iter_6.pth']
