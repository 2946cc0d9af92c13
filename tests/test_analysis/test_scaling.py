"""mmseg_dilated.analysis.scaling: slide settings and crop counts against mmseg's own, the
figures' definitions, the plot, and ``benchmark --scaling`` end to end at tiny sizes."""

import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict

from mmseg_dilated.analysis import scaling
from mmseg_dilated.apis.model_builder import build_segmentor

from _helpers import REPO, run_tool

CONFIG = """
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
    backbone=dict(type='DRN', arch='D', depth=22, norm_cfg=dict(type='BN')),
    decode_head=dict(type='ContextHead', in_channels=512, num_classes=4,
                     module_type='basic', dilations=(1, 2, 1)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
crop_size = (32, 64)
"""


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'drn-d-22_tiny.py'
    path.write_text(CONFIG)
    return str(path)


def test_slide_settings():
    # Two thirds of the crop, as mmseg's own sliding configs (SETR on ADE20K: crop 512, stride
    # 341; Cityscapes: 512x1024, 341x683).
    cfg = Config(dict(model=dict(test_cfg=dict(mode='whole')), crop_size=(512, 1024)))
    assert scaling.slide_settings(cfg) == ((512, 1024), (341, 683))
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'context_voc.py'))
    assert scaling.slide_settings(cfg) == ((512, 512), (341, 341))
    # A config's own slide stride wins.
    cfg = Config(dict(model=dict(test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(48, 40)))))
    assert scaling.slide_settings(cfg) == ((64, 64), (48, 40))
    with pytest.raises(ValueError, match='crop_size'):
        scaling.slide_settings(Config(dict(model=dict())))


@pytest.mark.parametrize(
    'size, crop, stride',
    [
        ((64, 128), (32, 64), (21, 43)),
        ((1024, 2048), (512, 1024), (341, 683)),
        ((16, 16), (32, 64), (21, 43)),
    ],
)
def test_crop_count_is_mmseg_slide_inference(config_file, size, crop, stride):
    model = build_segmentor(config_file)
    model.test_cfg = ConfigDict(mode='slide', crop_size=crop, stride=stride)
    calls = []
    model.encode_decode = lambda img, metas: (
        calls.append(img.shape[2:]) or torch.zeros(1, 4, *img.shape[2:])
    )
    meta = dict(img_shape=size, ori_shape=size, pad_shape=size)
    model.inference(torch.zeros(1, 3, *size), [meta])
    assert scaling._num_crops(size, crop, stride) == len(calls)
    if size == (1024, 2048):
        assert len(calls) == 9  # 3 x 3 windows of 512x1024


def test_measure_scaling_figures(config_file):
    rows = scaling.measure_scaling(config_file, sizes=[(64, 64), (64, 128)], repeats=1)
    assert [(r['height'], r['width'], r['mode']) for r in rows] == [
        (64, 64, 'whole'),
        (64, 64, 'slide'),
        (64, 128, 'whole'),
        (64, 128, 'slide'),
    ]
    for r in rows:
        assert r['crop_size'] == [32, 64] and r['stride'] == [21, 43]
        assert r['ms_per_mpix'] == pytest.approx(r['latency_ms'] / (r['height'] * r['width'] / 1e6))
        # The call creates at least the logits at the image size (4 classes, float32).
        assert r['tensor_peak_mib'] * 2**20 >= 4 * 4 * r['height'] * r['width']
        assert r['peak_rss_mib'] >= 0
    assert [r['crops'] for r in rows] == [1, scaling._num_crops((64, 64), (32, 64), (21, 43)), 1, 9]
    with pytest.raises(ValueError, match="'whole', 'slide'"):
        scaling.measure_scaling(config_file, sizes=[(32, 32)], modes=['tiles'], repeats=1)


def test_plot_scaling(tmp_path):
    rows = [
        dict(height=h, width=w, mode=mode, ms_per_mpix=100.0, peak_rss_mib=10.0 * h)
        for h, w in ((256, 256), (512, 512))
        for mode in ('whole', 'slide')
    ]
    out = scaling.plot_scaling([dict(label='m', rows=rows)], str(tmp_path / 's.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
def test_scaling_command(python, config_file, tmp_path):
    png, out = tmp_path / 'scaling.png', tmp_path / 'scaling.json'
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'analysis', 'benchmark.py'),
            '--scaling',
            '--scaling-models',
            config_file,
            '--scaling-sizes',
            '64x64',
            '64x128',
            '--scaling-repeats',
            '1',
            '--plot',
            str(png),
            '--json',
            str(out),
        ],
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout
    for column in ('Image', 'Mode', 'Crops', 'ms / MP', 'Peak +RSS (MiB)', 'Tensor peak (MiB)'):
        assert column in proc.stdout
    assert '64x128' in proc.stdout and 'elapsed: ' in proc.stdout
    (result,) = json.loads(out.read_text())
    assert result['label'] == 'drn-d-22_tiny' and len(result['rows']) == 4
    assert png.stat().st_size > 0
