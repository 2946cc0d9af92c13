"""The data check (mmseg-dilated check-dataset, tools/train.py --check-data): each kind of broken
sample is found and named by file, with numbers worked out from how the sample was broken."""

import json
import os.path as osp

import pytest

from mmseg_dilated.datasets.data_check import check_config_data

from _helpers import REPO, TINY_CONFIG, make_broken_tiny_data, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
CHECK = osp.join(REPO, 'tools', 'analysis', 'check_dataset.py')


@pytest.fixture
def data(tmp_path):
    root = tmp_path / 'data' / 'context_tiny'
    cfg, broken = make_broken_tiny_data(root)
    return root, cfg, broken


def test_every_finding_names_its_file(data):
    root, cfg, broken = data
    report = check_config_data(cfg, ('train', 'val'), nproc=2, progress=False)
    assert report['train']['samples'] == 8 and report['val']['samples'] == 3
    found = {
        (p['kind'], osp.basename(p['file'])): p['detail']
        for split in report.values()
        for p in split['problems']
    }
    assert set(found) == {
        ('labels', 'val_00001.png'),
        ('size', 'train_00002.png'),
        ('unreadable', 'train_00003.png'),
        ('missing', 'train_00004.jpg'),
        ('unreadable', 'train_00005.jpg'),
    }
    assert found[('labels', 'val_00001.png')] == (
        'values outside the 4 classes (0-3) and not the ignore index 255: '
        f'30 ({broken["out_of_range"]} px)'
    )
    assert report['val']['label_values'] == {30: broken['out_of_range']}
    assert found[('size', 'train_00002.png')].startswith(
        f'The label {root / "SegmentationClass" / "train_00002.png"} is 64x50 but its image '
        f'{root / "JPEGImages" / "train_00002.jpg"} is 64x64'
    )
    assert 'truncated' in found[('unreadable', 'train_00003.png')].lower()
    assert 'truncated' in found[('unreadable', 'train_00005.jpg')].lower()


@pytest.mark.slow
def test_clean_data_passes_and_the_tool_exits_by_its_findings(data, tmp_path, python):
    root, _, _ = data
    proc = run_tool(
        [
            python,
            CHECK,
            TINY_CONFIG,
            '--splits',
            'val',
            '--out',
            'report.json',
            '--cfg-options',
            f'val_dataloader.dataset.data_root={root}',
        ],
        tmp_path,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f'[labels] {root / "SegmentationClass" / "val_00001.png"}: values outside' in proc.stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert [p['kind'] for p in report['val']['problems']] == ['labels']
    fresh = tmp_path / 'fresh'
    proc = run_tool(
        [
            python,
            CHECK,
            TINY_CONFIG,
            '--cfg-options',
            f'train_dataloader.dataset.data_root={fresh}',
            f'val_dataloader.dataset.data_root={fresh}',
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'train: 8 samples read in' in proc.stdout and 'val: 3 samples read in' in proc.stdout


@pytest.mark.slow
def test_train_check_data_stops_before_training(data, tmp_path, python):
    root, _, _ = data
    proc = run_tool(
        [
            python,
            TRAIN,
            TINY_CONFIG,
            '--check-data',
            '--work-dir',
            'work',
            '--cfg-options',
            f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
        ],
        tmp_path,
    )
    assert proc.returncode != 0
    assert '--check-data found problems in the data' in proc.stdout
    assert 'Iter(train)' not in proc.stdout and not (tmp_path / 'work').exists()
