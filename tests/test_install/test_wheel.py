"""The wheel as a user gets it: built from the repository, installed into a new virtual environment
and used from a folder outside the repository.

The new environment reuses this one's torch, mmcv, mmengine and mmseg (a ``.pth`` line appends this
environment's site-packages; ``.pth`` files inside it, such as the editable install of this package,
are not processed), so the only mmseg_dilated it can import is the wheel's.
"""

import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from _helpers import REPO, TINY_CONFIG, assert_ok, run_tool

# Builds the wheel, installs it into a new venv and trains through it: end-to-end, slow.
pytestmark = pytest.mark.slow

# A user's own config: the tests' tiny version of the quick-start config, inheriting the shipped
# one by package scope instead of by path.
with open(TINY_CONFIG) as _f:
    USER_TINY_CONFIG = _f.read().replace(
        "_base_ = ['../../configs/context_toy.py']", "_base_ = ['mmseg_dilated::context_toy.py']"
    )
assert 'mmseg_dilated::context_toy.py' in USER_TINY_CONFIG

USER_CITYSCAPES_CONFIG = (
    "_base_ = ['mmseg_dilated::aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py']\n"
    'model = dict(decode_head=dict(num_classes=5))\n'
)

# Run mmseg's own tools/train.py, unmodified, with mmseg_dilated imported before it reads the
# config.
MMSEG_TRAIN_WITH_SCOPE = (
    'import mmseg_dilated, runpy, sys; sys.argv = sys.argv[1:]; '
    'runpy.run_path(sys.argv[0], run_name="__main__")'
)


def _shipped_configs():
    root = osp.join(REPO, 'configs')
    return sorted(
        osp.relpath(osp.join(folder, f), root)
        for folder, _, files in os.walk(root)
        for f in files
        if f.endswith('.py')
    )


@pytest.fixture(scope='module')
def wheel(tmp_path_factory, python):
    """The wheel ``pip wheel`` builds from a copy of the checkout (no build artefacts left in
    it)."""
    root = tmp_path_factory.mktemp('wheel')
    src = root / 'src'
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(
            '.git',
            '.venv',
            'work_dirs',
            'data',
            'build',
            'dist',
            '*.egg-info',
            '__pycache__',
            '.mim',
        ),
    )
    assert_ok(
        run_tool(
            [
                python,
                '-m',
                'pip',
                'wheel',
                '--no-deps',
                '--no-build-isolation',
                '-q',
                '-w',
                str(root / 'dist'),
                str(src),
            ],
            root,
        ),
        'pip wheel',
    )
    wheels = list((root / 'dist').glob('mmseg_dilated-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory, python):
    """A new venv holding the wheel; returns (bin dir, user folder outside the repository, env)."""
    root = tmp_path_factory.mktemp('venv')
    env_dir = root / 'venv'
    assert_ok(run_tool([sys.executable, '-m', 'venv', '--without-pip', str(env_dir)], root), 'venv')
    vpy = env_dir / 'bin' / 'python'
    assert_ok(
        run_tool(
            [python, '-m', 'pip', '--python', str(vpy), 'install', '--no-deps', '-q', str(wheel)],
            root,
        ),
        'installing the wheel',
    )
    site = run_tool(
        [str(vpy), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], root
    ).stdout.strip()
    with open(osp.join(site, '_test_stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    user = root / 'user'
    user.mkdir()
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    return env_dir / 'bin', user, env


def _run(args, cwd, env, timeout=900):
    return subprocess.run(
        [str(a) for a in args],
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def test_wheel_ships_configs_and_console_script(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith('entry_points.txt'))
    shipped = sorted(
        n[len('mmseg_dilated/.mim/configs/') :]
        for n in names
        if n.startswith('mmseg_dilated/.mim/configs/')
    )
    # every config, and each folder's README and metafile.yaml (as mmseg ships its metafiles)
    assert [n for n in shipped if n.endswith('.py')] == _shipped_configs()
    assert len(_shipped_configs()) >= 25
    docs = sorted(
        osp.relpath(osp.join(folder, f), osp.join(REPO, 'configs'))
        for folder, _, files in os.walk(osp.join(REPO, 'configs'))
        for f in files
        if f in ('README.md', 'metafile.yaml')
    )
    assert len(docs) >= 13
    assert [n for n in shipped if not n.endswith('.py')] == docs
    assert 'mmseg-dilated = mmseg_dilated.cli:main' in entry_points
    for module in ('train', 'test', 'demo', 'drn2mmseg', 'vgg2mmseg', 'configs'):
        assert f'mmseg_dilated/cli/{module}.py' in names
    assert not any(n.startswith(('tests/', 'tools/', 'configs/')) for n in names)


def test_installed_package_is_the_wheels(venv):
    bindir, user, env = venv
    out = assert_ok(
        _run(
            [bindir / 'python', '-c', 'import mmseg_dilated; print(mmseg_dilated.__file__)'],
            user,
            env,
        ),
        'import',
    )
    # the last line: a host may print on import (the onedl fork's mmseg does)
    assert out.strip().splitlines()[-1].startswith(str(bindir.parent)), out
    out = assert_ok(_run([bindir / 'mmseg-dilated', 'configs'], user, env), 'mmseg-dilated configs')
    leaves = [c for c in _shipped_configs() if not c.startswith('_base_')]
    assert f'{len(leaves)} configs under {bindir.parent}' in out
    assert 'context_toy.py' in out.split()
    proc = _run([bindir / 'mmseg-dilated', 'configs', '--path', 'no_such.py'], user, env)
    assert proc.returncode != 0 and "ships no config 'no_such.py'" in proc.stdout


def test_train_and_test_a_user_config_inheriting_ours(venv):
    bindir, user, env = venv
    (user / 'my_tiny.py').write_text(USER_TINY_CONFIG)
    out = assert_ok(
        _run([bindir / 'mmseg-dilated', 'train', 'my_tiny.py', '--work-dir', 'work'], user, env),
        'mmseg-dilated train',
    )
    assert re.search(r'Iter\(val\) \[3/3\].*mIoU: [0-9.]+', out), out[-3000:]
    assert (user / 'work' / 'iter_4.pth').is_file()
    out = assert_ok(
        _run(
            [
                bindir / 'mmseg-dilated',
                'test',
                'my_tiny.py',
                'work/iter_4.pth',
                '--work-dir',
                'eval',
            ],
            user,
            env,
        ),
        'mmseg-dilated test',
    )
    assert re.search(r'Iter\(test\) \[3/3\].*mIoU: [0-9.]+', out), out[-3000:]
    # the same through python -m, on the shipped config named by scope (its dataset is generated)
    out = assert_ok(
        _run(
            [
                bindir / 'python',
                '-m',
                'mmseg_dilated',
                'train',
                'mmseg_dilated::context_toy.py',
                '--work-dir',
                'work_scope',
                '--cfg-options',
                'train_cfg.max_iters=1',
                'train_cfg.val_interval=10',
            ],
            user,
            env,
        ),
        'python -m mmseg_dilated train mmseg_dilated::context_toy.py',
    )
    assert (user / 'work_scope' / 'iter_1.pth').is_file()
    assert re.search(r'Iter\(val\) \[60/60\].*mIoU: [0-9.]+', out), out[-3000:]  # bundled val set


def test_user_config_inherits_a_cityscapes_config_by_scope(venv):
    bindir, user, env = venv
    (user / 'my_cityscapes.py').write_text(USER_CITYSCAPES_CONFIG)
    code = (
        'import mmseg_dilated; from mmengine.config import Config; '
        'from mmseg.registry import MODELS; cfg = Config.fromfile("my_cityscapes.py"); '
        'm = MODELS.build(cfg.model); '
        'print(type(m.backbone).__name__, m.backbone.arch, m.backbone.depth, '
        'type(m.decode_head).__name__, m.decode_head.num_classes, cfg.train_dataloader.'
        'dataset.type, cfg.default_scope)'
    )
    out = assert_ok(_run([bindir / 'python', '-c', code], user, env), 'building the user config')
    assert out.strip().splitlines()[-1] == 'DRN D 38 DilatedASPPHead 5 CityscapesDataset mmseg'


def test_mmsegs_own_train_tool_takes_the_scope_with_our_package_imported_first(venv):
    bindir, user, env = venv
    (user / 'my_tiny.py').write_text(USER_TINY_CONFIG)
    (user / 'my_cityscapes.py').write_text(USER_CITYSCAPES_CONFIG)
    mmseg_train = assert_ok(
        _run(
            [
                bindir / 'python',
                '-c',
                'from mmseg_dilated.apis import mmseg_tool; print(mmseg_tool("train.py"))',
            ],
            user,
            env,
        ),
        'mmseg_tool',
    ).strip()
    out = assert_ok(
        _run(
            [
                bindir / 'python',
                '-c',
                MMSEG_TRAIN_WITH_SCOPE,
                mmseg_train,
                'my_tiny.py',
                '--work-dir',
                'work_mmseg',
                '--cfg-options',
                'train_cfg.max_iters=2',
                'train_cfg.val_interval=2',
            ],
            user,
            env,
        ),
        "mmseg's tools/train.py",
    )
    assert re.search(r'Iter\(val\) \[3/3\].*mIoU: [0-9.]+', out), out[-3000:]
    # without our package imported first, mmengine refuses the scope (what the README explains)
    proc = _run([bindir / 'python', mmseg_train, 'my_cityscapes.py'], user, env)
    assert proc.returncode != 0
    assert 'mmengine does not support to load mmseg_dilated config' in proc.stdout
