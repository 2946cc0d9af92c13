import os
import os.path as osp
import subprocess
import sys

import pytest

from _helpers import REPO, TOY_CONFIGS


@pytest.fixture(scope='session')
def python():
    """The interpreter running the tests: subprocesses use the same environment."""
    return sys.executable


def last_val_miou(work_dir):
    """(mIoU, training step) of the last validation in a work dir, read with
    tools/analysis/plot_curves.py's reader of mmengine's scalar log."""
    from mmseg_dilated.cli import plot_curves

    _, _, val_steps, mious = plot_curves.load_scalars(work_dir)
    assert mious, f'no validation in {work_dir}'
    return mious[-1], val_steps[-1]


@pytest.fixture(scope='session')
def toy_runs(tmp_path_factory, python):
    """configs/context_toy.py and configs/frontend_toy.py as shipped (2,000 iterations each),
    trained side by side (one thread each) with tools/train.py, in one folder, so on the same data.

    Returns ``{'cwd': folder, name: (last validation mIoU, its step)}``; each run's checkpoints are
    in ``cwd / name[:-3]`` (``iter_2000.pth`` is the last). Shared by every test that needs a
    trained toy model, so the session trains them once: under pytest-xdist the first worker that
    needs them trains them into the session's shared temporary folder, holding a lock, and the
    others wait for it and read the same runs.
    """
    import fcntl
    import json

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        shared = shared.parent  # the folder all workers of this session share
    cwd = shared / 'toy_runs_shared'
    with open(shared / 'toy_runs.lock', 'w') as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        done = cwd / 'results.json'
        if done.is_file():
            results = json.loads(done.read_text())
            results['cwd'] = cwd
            return {k: tuple(v) if k != 'cwd' else v for k, v in results.items()}
        cwd.mkdir(exist_ok=True)
        results = _train_toy_runs(cwd, python)
        done.write_text(json.dumps({k: v for k, v in results.items() if k != 'cwd'}))
        return results


def _train_toy_runs(cwd, python):
    # Generate the data once, before the two runs start.
    subprocess.run(
        [
            python,
            '-c',
            'import mmseg_dilated.datasets.context_shapes as c; '
            'c.generate_context_shapes("data/context_shapes")',
        ],
        cwd=cwd,
        check=True,
    )
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    procs = {}
    for name in TOY_CONFIGS:
        log = open(cwd / (name + '.log'), 'w')
        procs[name] = (
            subprocess.Popen(
                [
                    python,
                    osp.join(REPO, 'tools', 'train.py'),
                    osp.join(REPO, 'configs', name),
                    '--work-dir',
                    name[:-3],
                ],
                cwd=str(cwd),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            log,
        )
    results = {'cwd': cwd}
    for name, (proc, log) in procs.items():
        code = proc.wait(timeout=1800)
        log.close()
        with open(cwd / (name + '.log')) as f:
            out = f.read()
        assert code == 0, f'training {name} failed:\n{out[-5000:]}'
        results[name] = last_val_miou(str(cwd / name[:-3]))
    return results
