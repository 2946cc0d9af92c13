"""configs/README.md, "Memory per GPU": each row's estimates are estimate_train_memory of its own
measured figures, at the batch, crop and with_cp its config actually ships (a config edited without
its row, or a row edited by hand, fails here)."""

import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmseg_dilated.analysis.memory_estimate import estimate_train_memory

from _helpers import REPO

README = osp.join(REPO, 'configs', 'README.md')
ROW = re.compile(
    r'^\| (?P<config>\S+\.py)(?: \([^)]*\))? \| (?P<params>[\d.]+) \| (?P<batch>\d+) x '
    r'(?P<h>\d+)x(?P<w>\d+) \| (?P<plain>\d+) / (?P<cp>\d+) \((?:R|M)\) \| (?P<est>[\d.]+) \| '
    r'(?P<est_cp>[\d.]+) \| (?P<shipped>on|off) \| (?P<as_shipped>[\d.]+) \|$'
)


def _rows():
    with open(README) as f:
        text = f.read()
    section = text[text.index('## Memory per GPU') :]
    section = section[: section.index('\n## ', 1)] if '\n## ' in section[1:] else section
    return [m.groupdict() for m in map(ROW.match, section.splitlines()) if m]


ROWS = _rows()


def test_the_table_has_every_cityscapes_config_of_the_heads():
    assert len(ROWS) == 9, ROWS


@pytest.mark.parametrize('row', ROWS, ids=lambda r: osp.basename(r['config']))
def test_row_is_the_estimate_of_its_config(row):
    cfg = Config.fromfile(osp.join(REPO, 'configs', row['config']))
    (crop,) = [
        t['crop_size'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'RandomCrop'
    ]
    assert (int(row['batch']), (int(row['h']), int(row['w']))) == (
        cfg.train_dataloader.batch_size,
        tuple(crop),
    )
    with_cp = bool(cfg.model.backbone.get('with_cp')) and bool(cfg.model.decode_head.get('with_cp'))
    assert row['shipped'] == ('on' if with_cp else 'off')
    params = float(row['params']) * 1e6
    size = (int(row['h']), int(row['w']))

    def gib(measured):
        return round(
            estimate_train_memory(int(measured), params, int(row['batch']), size) / 1024, 1
        )

    assert float(row['est']) == gib(row['plain'])
    assert float(row['est_cp']) == gib(row['cp'])
    assert float(row['as_shipped']) == (gib(row['cp']) if with_cp else gib(row['plain']))
