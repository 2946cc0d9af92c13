"""The shared runtime (configs/_base_/default_runtime.py): two runs in one Python process each keep
their own visualizer, so each run's scalars.json lands in its own work_dir.

mmseg's runtime names its visualizer 'visualizer', and mmengine hands an existing instance back by
name, with the first run's save_dir: the second run's scalars would go to the first run's folder."""

import json
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from _helpers import REPO

DATA = osp.join(REPO, 'tests', 'data')


def _steps(work_dir):
    (path,) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line)['step'] for line in path.read_text().splitlines() if 'loss' in line]


def test_two_runs_in_one_process_write_their_own_scalars(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # tests/data/context_tiny.py makes its data under ./data
    for name, iters in (('first', 2), ('second', 3)):
        cfg = Config.fromfile(osp.join(DATA, 'context_tiny.py'))
        cfg.merge_from_dict(
            dict(
                work_dir=str(tmp_path / name),
                experiment_name=name,
                train_cfg=dict(max_iters=iters, val_interval=100),
                default_hooks=dict(checkpoint=dict(interval=100)),
            )
        )
        Runner.from_cfg(cfg).train()
    assert _steps(tmp_path / 'first') == [1, 2]
    assert _steps(tmp_path / 'second') == [1, 2, 3]
