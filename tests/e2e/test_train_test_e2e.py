"""End to end through the command-line tools: train, evaluate with mmseg's own test tool, resume,
and two-process data-parallel training on CPU."""

import os.path as osp
import re
import shutil

import pytest
import torch

from mmseg_dilated.apis import mmseg_tool

from _helpers import REPO, TINY_CONFIG, assert_ok, free_port, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, python):
    """Four iterations of the tiny config with our tools/train.py; checkpoints at 2 and 4."""
    cwd = tmp_path_factory.mktemp('e2e')
    proc = run_tool([python, TRAIN, TINY_CONFIG, '--work-dir', 'work'], cwd)
    assert_ok(proc, 'tools/train.py')
    return cwd, proc.stdout


def test_train_saves_checkpoints_and_validates(trained):
    cwd, out = trained
    assert (cwd / 'work' / 'iter_2.pth').is_file()
    assert (cwd / 'work' / 'iter_4.pth').is_file()
    assert (cwd / 'data' / 'context_tiny' / 'JPEGImages' / 'train_00000.jpg').is_file()
    # validation at iteration 4 printed mmseg's metrics for the four classes
    assert re.search(r'Iter\(val\) \[3/3\].*mIoU: [0-9.]+', out), out[-3000:]
    for name in ('background', 'square', 'disk', 'triangle'):
        assert name in out


def test_checkpoint_evaluates_with_mmsegs_own_test_tool(trained, python):
    cwd, _ = trained
    proc = run_tool(
        [python, mmseg_tool('test.py'), TINY_CONFIG, 'work/iter_4.pth', '--work-dir', 'eval'], cwd
    )
    assert_ok(proc, "mmseg's tools/test.py")
    assert 'Load checkpoint from work/iter_4.pth' in proc.stdout
    assert re.search(r'Iter\(test\) \[3/3\].*mIoU: [0-9.]+', proc.stdout)


def test_checkpoint_evaluates_with_our_test_tool_and_tta(trained, python):
    cwd, _ = trained
    proc = run_tool(
        [python, TEST, TINY_CONFIG, 'work/iter_4.pth', '--work-dir', 'eval_tta', '--tta'], cwd
    )
    assert_ok(proc, 'tools/test.py --tta')
    assert re.search(r'Iter\(test\) \[3/3\].*mIoU: [0-9.]+', proc.stdout)


def test_resume_continues_from_saved_iteration(trained, python):
    cwd, _ = trained
    proc = run_tool(
        [
            python,
            TRAIN,
            TINY_CONFIG,
            '--work-dir',
            'work',
            '--resume',
            '--cfg-options',
            'train_cfg.max_iters=6',
            'train_cfg.val_interval=6',
        ],
        cwd,
    )
    assert_ok(proc, 'tools/train.py --resume')
    out = proc.stdout
    assert 'resumed epoch: 0, iter: 4' in out, out[-3000:]
    assert re.search(r'Iter\(train\) \[5/6\]', out)
    assert not re.search(r'Iter\(train\) \[[1-4]/6\]', out)
    assert (cwd / 'work' / 'iter_6.pth').is_file()


def test_load_from_and_pretrained_init(trained, python):
    cwd, _ = trained
    ckpt = str(cwd / 'work' / 'iter_4.pth')
    proc = run_tool(
        [
            python,
            TRAIN,
            TINY_CONFIG,
            '--work-dir',
            'work_load_from',
            '--cfg-options',
            f'load_from={ckpt}',
            'train_cfg.max_iters=1',
            'train_cfg.val_interval=10',
        ],
        cwd,
    )
    assert_ok(proc, 'load_from')
    assert f'Load checkpoint from {ckpt}' in proc.stdout

    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    saved = load_checkpoint(MODELS.build(cfg.model), ckpt)['state_dict']
    for name, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, saved['backbone.' + name], rtol=0, atol=0)


def test_missing_dataset_fails_fast_with_instructions(tmp_path, python):
    proc = run_tool(
        [python, TRAIN, osp.join(REPO, 'configs', 'context_voc.py')], tmp_path, timeout=120
    )
    assert proc.returncode != 0
    out = proc.stdout
    assert 'Traceback' not in out
    assert osp.join(str(tmp_path), 'data', 'VOCdevkit', 'VOC2012') in out
    assert 'voc_aug.py' in out


def test_amp_without_gpu_says_so(tmp_path, python):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present: --amp is valid here')
    proc = run_tool([python, TRAIN, TINY_CONFIG, '--amp'], tmp_path, timeout=120)
    assert proc.returncode != 0
    assert '--amp needs a GPU' in proc.stdout
    assert 'Traceback' not in proc.stdout


def test_dist_train_two_processes_on_cpu(tmp_path, python):
    proc = run_tool(
        [
            'bash',
            osp.join(REPO, 'tools', 'dist_train.sh'),
            TINY_CONFIG,
            '2',
            '--work-dir',
            'work',
            '--cfg-options',
            'train_cfg.max_iters=2',
            'train_cfg.val_interval=2',
        ],
        tmp_path,
        env=dict(PYTHON=python, PORT=str(free_port()), OMP_NUM_THREADS='1'),
    )
    assert_ok(proc, 'tools/dist_train.sh')
    out = proc.stdout
    assert re.search(r'Distributed launcher: pytorch', out)
    assert re.search(r'GPU number: 2', out)  # mmengine's name for the world size
    assert re.search(r'Iter\(train\) \[2/2\]', out)
    ckpt = tmp_path / 'work' / 'iter_2.pth'
    assert ckpt.is_file()
    proc = run_tool(
        [python, mmseg_tool('test.py'), TINY_CONFIG, str(ckpt), '--work-dir', 'eval'], tmp_path
    )
    assert_ok(proc, 'evaluating the distributed checkpoint')
    assert re.search(r'mIoU: [0-9.]+', proc.stdout)


def test_show_dir_writes_overlays(trained, python):
    cwd, _ = trained
    proc = run_tool(
        [
            python,
            TEST,
            TINY_CONFIG,
            'work/iter_4.pth',
            '--work-dir',
            'eval_show',
            '--show-dir',
            'overlays',
        ],
        cwd,
    )
    assert_ok(proc, 'tools/test.py --show-dir')
    pngs = sorted((cwd / 'overlays').rglob('*.png'))
    assert len(pngs) == 3, pngs  # one per test image (the tiny config draws every iteration)
    from PIL import Image

    assert Image.open(pngs[0]).size == (64 * 2, 64)  # mmseg draws ground truth | prediction


def test_demo_writes_overlay_of_the_input_size(trained, python):
    cwd, _ = trained
    from PIL import Image

    img = cwd / 'data' / 'context_tiny' / 'JPEGImages' / 'val_00000.jpg'
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'demo.py'),
            str(img),
            TINY_CONFIG,
            'work/iter_4.pth',
            '--out',
            'demo.png',
        ],
        cwd,
    )
    assert_ok(proc, 'tools/demo.py')
    overlay = Image.open(cwd / 'demo.png')
    assert overlay.size == Image.open(img).size
    assert overlay.mode == 'RGB'
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'demo.py'),
            'missing.jpg',
            TINY_CONFIG,
            'work/iter_4.pth',
            '--out',
            'x.png',
        ],
        cwd,
    )
    assert proc.returncode != 0 and 'image missing.jpg does not exist' in proc.stdout


def test_plot_curves_reads_the_work_dir(trained, python, tmp_path):
    cwd, _ = trained
    # the first training run alone (the resume test may have added a second run to work/)
    first_run = sorted(p for p in (cwd / 'work').iterdir() if p.is_dir())[0]
    shutil.copytree(first_run, tmp_path / 'work' / first_run.name)
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'analysis', 'plot_curves.py'),
            'work',
            '--out',
            'curves.png',
        ],
        tmp_path,
    )
    assert_ok(proc, 'plot_curves.py')
    # four training iterations logged every iteration, one validation at iteration 4
    assert '4 training points, 1 validation points' in proc.stdout
    assert (tmp_path / 'curves.png').stat().st_size > 0


def test_options_our_wrapper_does_not_parse_reach_mmsegs_tool(trained, python):
    """tools/test.py parses only what its checks read; --out and --wait-time are mmseg's."""
    cwd, _ = trained
    proc = run_tool(
        [
            python,
            TEST,
            TINY_CONFIG,
            'work/iter_4.pth',
            '--out',
            'preds_ours',
            '--wait-time',
            '0',
            '--work-dir',
            'eval_out',
        ],
        cwd,
    )
    assert_ok(proc, 'tools/test.py --out')
    assert sorted(p.name for p in (cwd / 'preds_ours').iterdir()) == [
        'val_00000.png',
        'val_00001.png',
        'val_00002.png',
    ]
