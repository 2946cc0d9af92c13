"""Shared by the tests (importable as `_helpers`: pyproject puts tests/ on sys.path)."""

import json
import os
import os.path as osp
import subprocess
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'context_tiny.py')
# The quick start's config and its ablation, trained once per session by conftest's toy_runs.
TOY_CONFIGS = ('context_toy.py', 'frontend_toy.py')


def run_tool(args, cwd, env=None, timeout=900):
    """Run a command line (a list) in ``cwd``; return the CompletedProcess, output merged."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    full_env.update(env or {})
    return subprocess.run(
        args,
        cwd=str(cwd),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for a process group's master)."""
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def logged_iterations(work_dir):
    """{iteration: mmengine's record of it (loss, lr, ...)} over every run logged in ``work_dir``
    (each run's ``*/vis_data/scalars.json``; a resumed run's records replace the first run's)."""
    records = {}
    for path in sorted(osp.join(work_dir, d) for d in os.listdir(work_dir)):
        scalars = osp.join(path, 'vis_data', 'scalars.json')
        if osp.isfile(scalars):
            with open(scalars) as f:
                for line in f:
                    record = json.loads(line)
                    if 'loss' in record:
                        records[record['step']] = record
    return records


def logged_losses(work_dir):
    """{iteration: loss} over every run logged in ``work_dir`` (see ``logged_iterations``)."""
    return {step: record['loss'] for step, record in logged_iterations(work_dir).items()}


def train(cwd, config, work_dir, *extra):
    """``tools/train.py config --work-dir work_dir [extra]`` in ``cwd``, one thread, with
    tests/data importable (the fault-planting hooks of its configs); returns run_tool's result."""
    return run_tool(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            config,
            '--work-dir',
            work_dir,
            *extra,
        ],
        cwd,
        env=dict(PYTHONPATH=osp.join(REPO, 'tests', 'data'), OMP_NUM_THREADS='1'),
    )


def train_two_ranks(cwd, config, work_dir, env, timeout=600):
    """``tools/train.py config --launcher pytorch`` as two processes (ranks 0 and 1 on this
    machine, gloo); returns their exit statuses and outputs."""
    port = str(free_port())
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                osp.join(REPO, 'tools', 'train.py'),
                config,
                '--launcher',
                'pytorch',
                '--work-dir',
                work_dir,
            ],
            cwd=str(cwd),
            env=dict(
                os.environ,
                PYTHONUNBUFFERED='1',
                MASTER_ADDR='127.0.0.1',
                MASTER_PORT=port,
                WORLD_SIZE='2',
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                **env,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    return [p.returncode for p in procs], outs


def assert_ok(proc, what):
    """A finished command (``run_tool``'s result) succeeded; its output otherwise. Returns it."""
    assert proc.returncode == 0, f'{what} failed ({proc.returncode}):\n{proc.stdout[-6000:]}'
    return proc.stdout


def run_script(monkeypatch, script, *args):
    """Run a command-line script in this process (so monkeypatches reach it), as ``script args``."""
    import runpy
    import sys

    monkeypatch.setattr(sys, 'argv', [str(script), *map(str, args)])
    runpy.run_path(str(script), run_name='__main__')


def assert_head_same_outputs_and_grads(ref, other, feats, grad_out, atol=1e-6):
    """``ref`` and ``other`` (two decode heads with the same weights, e.g. without and with
    ``with_cp``) give the same output, input gradient and parameter gradients for ``feats``."""
    outs, grads = [], []
    for head in (ref, other):
        x = feats.clone().requires_grad_()
        out = head([x])
        out.backward(grad_out)
        outs.append(out)
        grads.append([x.grad] + [p.grad for p in head.parameters()])
    assert torch.allclose(outs[0], outs[1], atol=atol)
    assert len(grads[0]) == len(grads[1])
    for g_ref, g_other in zip(*grads):
        assert torch.allclose(g_ref, g_other, atol=atol)


def load_script(path, name):
    """Import a script under tools/ (not a package) as a module called ``name``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_config_at(root):
    """The tiny config with every split's data under ``root``."""
    from mmengine.config import Config

    cfg = Config.fromfile(TINY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
    return cfg


def make_broken_tiny_data(root):
    """Generate the tiny data set under ``root`` and break it five ways: a validation label with
    its shapes set to 30, a training label of another size than its image (64x50 for 64x64), a
    truncated label PNG, an image listed but deleted, a truncated JPEG.

    Returns:
        tuple: (the tiny config pointing at ``root``, {'out_of_range': pixels set to 30}).
    """
    import numpy as np
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    from PIL import Image

    import mmseg_dilated  # noqa: F401

    cfg = tiny_config_at(root)
    init_default_scope('mmseg')
    DATASETS.build(cfg.train_dataloader.dataset)  # generates train and val
    labels, images = root / 'SegmentationClass', root / 'JPEGImages'
    label = np.array(Image.open(labels / 'val_00001.png'))
    shapes = (label > 0) & (label != 255)
    label[shapes] = 30
    Image.fromarray(label).save(labels / 'val_00001.png')
    Image.open(labels / 'train_00002.png').resize((50, 64), Image.NEAREST).save(
        labels / 'train_00002.png'
    )
    raw = (labels / 'train_00003.png').read_bytes()
    (labels / 'train_00003.png').write_bytes(raw[: len(raw) // 2])
    (images / 'train_00004.jpg').unlink()
    raw = (images / 'train_00005.jpg').read_bytes()
    (images / 'train_00005.jpg').write_bytes(raw[: len(raw) // 2])
    return cfg, {'out_of_range': int(shapes.sum())}


def assert_same_checkpoint(path_a, path_b):
    """Two checkpoints hold the same iteration, the same weights and the same optimizer state,
    bit for bit (``torch.equal``): what a resumed run must end with against an uninterrupted one."""
    from mmseg_dilated.utils.checkpoint import safe_load

    a, b = safe_load(str(path_a), 'cpu'), safe_load(str(path_b), 'cpu')
    assert a['meta']['iter'] == b['meta']['iter']
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for name in a['state_dict']:
        assert torch.equal(a['state_dict'][name], b['state_dict'][name]), name
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys() and len(state_a) > 0
    for key in state_a:
        for name, value in state_a[key].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_b[key][name])), name
