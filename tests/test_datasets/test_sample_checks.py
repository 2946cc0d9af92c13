"""Broken samples raise errors naming their files, in training and evaluation alike
(mmseg_dilated.datasets.sample_checks, installed on import into every mmseg dataset)."""

import os.path as osp
import re

import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from mmseg_dilated.datasets import SampleError

from _helpers import REPO, TINY_CONFIG, make_broken_tiny_data, run_tool


@pytest.fixture(scope='module')
def broken(tmp_path_factory):
    root = tmp_path_factory.mktemp('broken') / 'data' / 'context_tiny'
    cfg, counts = make_broken_tiny_data(root)
    init_default_scope('mmseg')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    return root, train, val, counts


def test_intact_samples_load(broken):
    _, train, val, _ = broken
    for idx in (0, 1, 6, 7):
        assert train[idx]['inputs'].shape[0] == 3
    assert val[0]['data_samples'].gt_sem_seg.data.max() < 4


def test_label_values_outside_the_classes_name_the_file_in_evaluation(broken):
    root, _, val, counts = broken
    with pytest.raises(SampleError) as err:
        val[1]
    message = str(err.value)
    assert f'label {root / "SegmentationClass" / "val_00001.png"}' in message
    assert (
        'label values outside the 4 classes (0-3) and not the ignore index 255: '
        f'30 ({counts["out_of_range"]} px)'
    ) in message


def test_label_of_another_size_names_both_files(broken):
    root, train, _, _ = broken
    with pytest.raises(
        SampleError,
        match=re.escape(
            f'The label {root / "SegmentationClass" / "train_00002.png"} is 64x50 but its image '
            f'{root / "JPEGImages" / "train_00002.jpg"} is 64x64'
        ),
    ):
        train[2]


@pytest.mark.parametrize(
    'idx, culprit', [(3, 'SegmentationClass/train_00003.png'), (4, 'JPEGImages/train_00004.jpg')]
)
def test_unloadable_samples_name_their_files(broken, idx, culprit):
    root, train, _, _ = broken
    with pytest.raises(SampleError, match='could not be loaded') as err:
        train[idx]
    assert str(root / culprit) in str(err.value)


@pytest.mark.slow
def test_test_tool_stops_instead_of_scoring(broken, tmp_path, python):
    """The issue's case: a validation label with values 30 used to lower mIoU silently."""
    root, _, _, _ = broken
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'test.py'),
            TINY_CONFIG,
            str(ckpt),
            '--cfg-options',
            f'test_dataloader.dataset.data_root={root}',
        ],
        tmp_path,
    )
    assert proc.returncode != 0
    assert not re.search(r'mIoU: [0-9.]+', proc.stdout)  # no score printed
    assert 'SampleError' in proc.stdout and 'val_00001.png' in proc.stdout
