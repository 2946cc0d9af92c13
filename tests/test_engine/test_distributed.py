"""Data-parallel training on CPU processes (gloo) through tools/dist_train.sh: SyncBN configs train,
2 processes x 4 images train the same weights as 1 process x 8, and two "nodes" rendezvous over
NNODES / NODE_RANK / MASTER_ADDR / PORT."""

import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmseg_dilated.utils.checkpoint import safe_load

from _helpers import REPO, assert_ok, free_port, run_tool

# Trainings of two processes through tools/dist_train.sh: end-to-end, slow.
pytestmark = pytest.mark.slow

DIST_TRAIN = osp.join(REPO, 'tools', 'dist_train.sh')
TRAIN = osp.join(REPO, 'tools', 'train.py')
DATA = osp.join(REPO, 'tests', 'data')


def _env(port, **extra):
    return dict(PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1', **extra)


def test_syncbn_config_trains_on_two_cpu_processes(tmp_path):
    out = assert_ok(
        run_tool(
            [
                'bash',
                DIST_TRAIN,
                osp.join(DATA, 'context_tiny_syncbn.py'),
                '2',
                '--work-dir',
                'work',
                '--cfg-options',
                'train_cfg.max_iters=2',
                'train_cfg.val_interval=2',
            ],
            tmp_path,
            env=_env(free_port()),
        ),
        'dist_train.sh on a SyncBN config',
    )
    assert 'SyncBatchNorm needs GPUs: its layers are reverted to BatchNorm' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()


def test_two_processes_of_four_equal_one_process_of_eight(tmp_path):
    config = osp.join(DATA, 'ddp_equivalence.py')
    assert_ok(
        run_tool(
            [sys.executable, TRAIN, config, '--work-dir', 'single'],
            tmp_path,
            env=dict(OMP_NUM_THREADS='2'),
        ),
        'one process, batch 8',
    )
    # two "nodes" of one process each, rendezvousing on 127.0.0.1
    port = free_port()
    nodes = [
        subprocess.Popen(
            [
                'bash',
                DIST_TRAIN,
                config,
                '1',
                '--work-dir',
                'dist',
                '--cfg-options',
                'train_dataloader.batch_size=4',
            ],
            cwd=str(tmp_path),
            env=dict(
                os.environ, **_env(port, NNODES='2', NODE_RANK=str(rank), MASTER_ADDR='127.0.0.1')
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outs = [node.communicate(timeout=900)[0] for node in nodes]
    for rank, (node, out) in enumerate(zip(nodes, outs)):
        assert node.returncode == 0, f'node {rank} failed:\n{out[-6000:]}'
    # the c10d rendezvous numbers the nodes in the order they join, so either may be rank 0, the
    # one that logs the environment
    assert sum('GPU number: 2' in out for out in outs) == 1, outs[0][-3000:] + outs[1][-3000:]
    single = safe_load(str(tmp_path / 'single' / 'iter_10.pth'), 'cpu')['state_dict']
    dist = safe_load(str(tmp_path / 'dist' / 'iter_10.pth'), 'cpu')['state_dict']
    assert single.keys() == dist.keys()
    for name in single:
        torch.testing.assert_close(dist[name], single[name], rtol=0, atol=1e-5, msg=name)
