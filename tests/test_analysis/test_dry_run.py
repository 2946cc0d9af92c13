"""``mmseg-dilated dry-run``: a config's run measured through mmengine's Runner, against a memory
budget, with the data loader's speed (mmseg_dilated/analysis/dry_run.py)."""

import json
import os.path as osp

import numpy as np
import pytest

import mmseg_dilated  # noqa: F401  (registers the components)
from mmseg_dilated.analysis.dry_run import DryRunError, parse_size
from mmseg_dilated.analysis.dry_run_data import dataset_image_size, synthesise_split

from _helpers import TINY_CONFIG

CITYSCAPES = 'context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py'
# A transform that sleeps, to slow the loader down on purpose. The dry run measures in a fresh
# process, which imports it through the config's custom_imports.
SLOW_TRANSFORM = """
import time
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SleepTransform(BaseTransform):
    def __init__(self, seconds):
        self.seconds = seconds

    def transform(self, results):
        time.sleep(self.seconds)
        return results
"""


def test_parse_size():
    assert parse_size('1G') == 2**30
    assert parse_size('1.5GiB') == 3 * 2**29
    assert parse_size('800M') == 800 * 2**20
    assert parse_size('4096') == 4096
    with pytest.raises(DryRunError, match='give a size such as 12G'):
        parse_size('lots')


def test_synthesised_cityscapes_is_read_by_mmsegs_own_dataset(tmp_path):
    """Files in Cityscapes' layout at its frame size, which CityscapesDataset and the config's own
    pipeline read as real frames."""
    from mmseg.registry import DATASETS

    from mmseg_dilated.datasets.builder import init_registries
    from mmseg_dilated.utils import load_config

    cfg = load_config(f'mmseg_dilated::context/{CITYSCAPES}')
    init_registries(cfg)
    ds_cfg = cfg.train_dataloader.dataset
    assert dataset_image_size(ds_cfg) == ((1024, 2048), 'Cityscapes frames are 2048x1024')
    note = synthesise_split(ds_cfg, str(tmp_path), 2)
    assert note.startswith('2 synthesised CityscapesDataset samples of 1024x2048')
    assert osp.isfile(tmp_path / 'leftImg8bit/train/dryrun_0000_leftImg8bit.png')
    dataset = DATASETS.build(ds_cfg)
    assert type(dataset).__name__ == 'CityscapesDataset'
    assert len(dataset) == 2
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 896, 896)  # the config's RandomCrop
    label = sample['data_samples'].gt_sem_seg.data.numpy()
    assert set(np.unique(label)) <= set(range(19)) | {255}
    assert len(set(np.unique(label)) - {255}) > 5


@pytest.fixture(scope='module')
def slow_run(tmp_path_factory):
    """One dry run of the tiny config with a loader slowed to 0.3 s per sample and a budget of
    1 MiB, through the command line (exit status, table, JSON)."""
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp('dry_run')
    (folder / 'slow_transform.py').write_text(SLOW_TRANSFORM)
    (folder / 'slow.py').write_text(
        f'_base_ = [{TINY_CONFIG!r}]\n'
        "custom_imports = dict(imports=['mmseg_dilated', 'slow_transform'])\n"
        'train_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='SleepTransform', seconds=0.3),\n"
        "    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),\n"
        "    dict(type='RandomCrop', crop_size=(64, 64)), dict(type='PackSegInputs')]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(folder), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'mmseg_dilated',
            'dry-run',
            str(folder / 'slow.py'),
            '--iters',
            '2',
            '--warmup',
            '1',
            '--max-memory',
            '1M',
            '--no-estimate',
            '--json',
            str(folder / 'report.json'),
        ],
        cwd=str(folder),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = None
    if osp.isfile(folder / 'report.json'):
        with open(folder / 'report.json') as f:
            report = json.load(f)
    return proc, report


@pytest.mark.slow
def test_a_config_over_its_budget_exits_1_with_the_changes(slow_run):
    proc, report = slow_run
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '| Verdict                 | DOES NOT FIT' in proc.stdout
    assert report['verdict']['fits'] is False
    assert report['device']['budget_mib'] == 1
    # measured through the Runner: a training peak above zero, iterations timed
    assert report['memory']['train_needed_mib'] > 1
    assert report['time']['measured_iterations'] == 2
    changes = {c['change']: c for c in report['verdict']['changes']}
    assert changes['with_cp']['how'] == (
        '--cfg-options model.backbone.with_cp=True model.decode_head.with_cp=True'
    )
    assert changes['with_cp']['measured'] is True
    assert changes['batch 1 per GPU']['how'] == '--cfg-options train_dataloader.batch_size=1'
    assert changes['batch 1 per GPU']['needed_mib'] < report['memory']['train_needed_mib']
    assert changes['AMP']['effect'] == (
        "not measurable on CPU (mmengine's AmpOptimWrapper needs CUDA)"
    )


@pytest.mark.slow
def test_a_slowed_loader_is_called_data_bound(slow_run):
    proc, report = slow_run
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    t = report['time']
    # 2 samples x 0.3 s, in the main process (num_workers=0): slower than the tiny model's step
    assert t['loader_batch_s'] >= 0.6 and t['num_workers'] == 0
    assert t['data_bound'] is True
    assert '| Data-bound              | yes: the loader' in proc.stdout
    assert 'raise num_workers to' in proc.stdout


def test_synthesised_data_is_shared_between_dry_runs_of_one_dataset(tmp_path):
    """The acceptance run dry-runs many Cityscapes configs: their samples are written once (the
    896x896 and 840x840 pipelines read the same files) and reused."""
    from mmseg_dilated.analysis.dry_run import _synthesise
    from mmseg_dilated.utils import load_config

    notes, roots = [], []
    for name in (CITYSCAPES, 'context-basic_drn-d-105_8xb2-92k_cityscapes-840x840.py'):
        cfg = load_config(f'mmseg_dilated::context/{name}')
        cfg.train_dataloader.batch_size = 2  # the same count of samples for both
        assert _synthesise(cfg, str(tmp_path / 'own'), notes, 1, cache=str(tmp_path / 'cache')) == {
            'train': True,
            'val': True,
        }
        roots.append(cfg.train_dataloader.dataset.data_root)
    assert roots[0] == roots[1] and roots[0].startswith(str(tmp_path / 'cache'))
    assert not (tmp_path / 'own').exists()
    assert notes[0] == notes[2] and notes[0].startswith('train data not prepared: 4 synthesised')
