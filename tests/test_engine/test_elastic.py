"""Elastic restarts through tools/dist_train.sh (torchrun, c10d rendezvous, gloo on CPU): rank 1 of
2 is SIGKILLed after the checkpoint of iteration 2; with MAX_RESTARTS=1 torchrun restarts both
workers, they resume from that checkpoint by themselves and finish. The reference is the same
2-process run without a kill: the final weights and optimizer state must equal it bit for bit.
And the process-group timeout ($MMSEG_DILATED_PG_TIMEOUT) that ends a hang."""

import os
import os.path as osp
import subprocess
import sys
import textwrap
import time

import pytest
from mmengine.config import Config

from mmseg_dilated.apis import launch
from mmseg_dilated.apis.launch import (
    ProcessGroupTimeoutError,
    distributed_options,
    process_group_timeout,
)

from _helpers import REPO, assert_ok, assert_same_checkpoint, free_port, run_tool

DIST_TRAIN = osp.join(REPO, 'tools', 'dist_train.sh')
DATA = osp.join(REPO, 'tests', 'data')


def _dist_train(cwd, config, work_dir, **env):
    return run_tool(
        ['bash', DIST_TRAIN, osp.join(DATA, config), '2', '--work-dir', work_dir],
        cwd,
        env=dict(
            PYTHON=sys.executable,
            PYTHONPATH=DATA,
            PORT=str(free_port()),
            RDZV_ID=work_dir,
            OMP_NUM_THREADS='1',
            **env,
        ),
    )


@pytest.mark.slow
def test_killed_worker_restarts_resumes_and_finishes_bit_exact(tmp_path):
    assert_ok(_dist_train(tmp_path, 'elastic_toy.py', 'ref'), 'the uninterrupted 2-process run')
    out = assert_ok(
        _dist_train(tmp_path, 'elastic_toy_killed.py', 'elastic', MAX_RESTARTS='1'),
        'the run with a killed worker and one restart',
    )
    # the first attempt died after the checkpoint of iteration 2 (rank 1 by SIGKILL) ...
    assert 'failed (exitcode: -9) local_rank: 1' in out  # torchrun's agent
    # ... and the restarted workers took it up by themselves
    assert 'Elastic restart 1: resuming from the newest checkpoint of the work dir.' in out
    assert 'resumed epoch: 0, iter: 2' in out
    assert_same_checkpoint(tmp_path / 'ref' / 'iter_6.pth', tmp_path / 'elastic' / 'iter_6.pth')


@pytest.mark.slow
def test_without_restarts_the_kill_fails_the_run(tmp_path):
    """The control: MAX_RESTARTS=0 (the default) leaves the run failed at the kill."""
    proc = _dist_train(tmp_path, 'elastic_toy_killed.py', 'no_restart')
    assert proc.returncode != 0
    assert 'Elastic restart' not in proc.stdout
    assert not (tmp_path / 'no_restart' / 'iter_4.pth').exists()


def test_timeout_from_the_environment_or_the_config(monkeypatch):
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=600))))
    monkeypatch.delenv('MMSEG_DILATED_PG_TIMEOUT', raising=False)
    assert process_group_timeout(Config()) is None
    assert process_group_timeout(cfg) == 600
    monkeypatch.setenv('MMSEG_DILATED_PG_TIMEOUT', '90')
    assert process_group_timeout(cfg) == 90  # the environment wins
    assert distributed_options('none', cfg) == []
    started = []  # the CPU options would start a gloo process group in this process
    monkeypatch.setattr(
        launch, 'cpu_distributed_options', lambda launcher, timeout: started.append(timeout) or []
    )
    assert distributed_options('pytorch', cfg) == ['env_cfg.dist_cfg.timeout=90']
    assert started == [90]


@pytest.mark.parametrize('value', ['abc', '0', '-5'])
def test_bad_timeout_names_the_variable(monkeypatch, value):
    monkeypatch.setenv('MMSEG_DILATED_PG_TIMEOUT', value)
    with pytest.raises(ProcessGroupTimeoutError, match=f"must be a number > 0, got '{value}'"):
        process_group_timeout(Config())


RANK_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import torch.distributed as dist
    from mmseg_dilated.apis.launch import cpu_distributed_options
    cpu_distributed_options('pytorch', timeout=float(sys.argv[1]))
    if dist.get_rank() == 1:
        time.sleep(120)  # a hung peer
    start = time.monotonic()
    try:
        dist.barrier()
    except Exception as err:
        print(f'FAILED after {time.monotonic() - start:.0f} s: {type(err).__name__}', flush=True)
        sys.exit(3)
    """
)


@pytest.mark.slow
def test_timeout_ends_a_hang(tmp_path):
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()), WORLD_SIZE='2')
    ranks = [
        subprocess.Popen(
            [sys.executable, '-c', RANK_SCRIPT, '5'],
            env=dict(env, RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        start = time.monotonic()
        out = ranks[0].communicate(timeout=100)[0]
        assert ranks[0].returncode == 3, out[-3000:]
        waited = int(out.split('FAILED after ')[1].split()[0])
        assert 4 <= waited <= 30, out[-3000:]
        # started, 5 s of waiting, failed: far sooner than torch's 30 minutes
        assert time.monotonic() - start < 60
    finally:
        for proc in ranks:
            proc.kill()
            proc.wait()
