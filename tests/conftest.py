import os
import os.path as osp
import subprocess
import sys

import pytest

from _helpers import REPO, TOY_CONFIGS


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (``-n 2 --dist loadgroup``, as tools/run_tests.sh runs CI), a file's tests
    run in one worker, so its module-scoped fixtures are built once; every test that uses the
    session's trained toy models (every test of a file that has one) joins one group, so the session
    trains them once. Without xdist the marks do nothing."""

    def file_of(item):
        return item.nodeid.split('::', 1)[0]

    toy_files = {file_of(i) for i in items if 'toy_runs' in getattr(i, 'fixturenames', ())}
    for item in items:
        group = 'toy_runs' if file_of(item) in toy_files else file_of(item)
        item.add_marker(pytest.mark.xdist_group(group))


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
    trained toy model, so the session trains them once.
    """
    cwd = tmp_path_factory.mktemp('toy_runs')
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
