import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.models.losses import CrossEntropyLoss
from mmseg.models.losses.utils import get_class_weight
from PIL import Image

from mmseg_dilated.analysis.class_weights import class_weights_from_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('sky', 'road', 'car', 'boat')


def label_map(counts):
    """A 4x4 label map holding each value the given number of times."""
    values = [v for v, n in counts.items() for _ in range(n)]
    assert len(values) == 16
    return np.asarray(values, np.uint8).reshape(4, 4)


# Three 4x4 label maps; 255 is ignore_index and 7 a stray value.
LABELS = {
    'a': label_map({0: 10, 1: 6}),
    'b': label_map({0: 8, 2: 4, 255: 4}),
    'c': label_map({1: 12, 2: 2, 7: 2}),
}

CONFIG = """
default_scope = 'mmseg'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(2, 2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='RepeatDataset',
        times=5,
        dataset=dict(
            type='BaseSegDataset',
            data_root={root!r},
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'),
            ann_file='ImageSets/Segmentation/train.txt',
            metainfo=dict(classes={classes!r}),
            reduce_zero_label={reduce_zero_label!r},
            pipeline=train_pipeline)))
"""


def make_dataset(root, labels, classes=CLASSES, reduce_zero_label=False):
    """VOC-like layout: JPEGImages, SegmentationClass, ImageSets split."""
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, seg in labels.items():
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / 'JPEGImages' / f'{name}.jpg')
        Image.fromarray(seg).save(root / 'SegmentationClass' / f'{name}.png')
    (root / 'ImageSets/Segmentation/train.txt').write_text('\n'.join(labels) + '\n')
    config = root / 'config.py'
    config.write_text(
        CONFIG.format(root=str(root), classes=classes, reduce_zero_label=reduce_zero_label)
    )
    return config


# Worked by hand from LABELS. "Labelled" pixels have a class in [0, 4): the
# 4 ignored pixels of b and the 2 stray pixels of c are in no denominator.
#   labelled pixels: a 16, b 12, c 14; total 42
#   pixels:  sky 10 + 8 = 18, road 6 + 12 = 18, car 4 + 2 = 6, boat 0
# Median frequency: freq = pixels / labelled pixels of images with the class
#   sky 18 / (16 + 12) = 9/14, road 18 / (16 + 14) = 0.6,
#   car 6 / (12 + 14) = 3/13; median of the present three = 0.6
#   w = 0.6 / freq: sky 0.6 * 14/9 = 14/15, road 1, car 0.6 * 13/3 = 2.6
# ENet: p = pixels / 42: 3/7, 3/7, 1/7; w = 1 / ln(1.02 + p)
# boat never occurs: weight 0 in both schemes.
FREQ = [9 / 14, 0.6, 3 / 13, None]
W_MFB = [14 / 15, 1.0, 2.6, 0.0]
PROB = [3 / 7, 3 / 7, 1 / 7, 0.0]
W_ENET = [1 / math.log(1.02 + 3 / 7)] * 2 + [1 / math.log(1.02 + 1 / 7), 0.0]


def test_hand_worked_weights(tmp_path, capsys):
    config = make_dataset(tmp_path / 'voc', LABELS)
    out = tmp_path / 'out' / 'weights.json'
    with pytest.warns(UserWarning) as record:
        result = class_weights_from_config(Config.fromfile(str(config)), out=str(out))
    # Library code does not print: the report comes back for the tool to print.
    assert capsys.readouterr().out == ''
    printed = result['report']

    counts = result['counts']
    # Whole label maps were counted once each: RandomCrop was dropped and
    # RepeatDataset unwrapped.
    assert counts.num_images == 3
    assert counts.pixels.tolist() == [18, 18, 6, 0]
    assert counts.image_pixels.tolist() == [28, 30, 26, 0]
    assert counts.ignored_pixels == 4
    np.testing.assert_allclose(result['freq'][:3], FREQ[:3], rtol=1e-12)
    assert np.isnan(result['freq'][3])
    np.testing.assert_allclose(result['median_freq'], W_MFB, rtol=1e-12)
    np.testing.assert_allclose(result['prob'], PROB, rtol=1e-12)
    np.testing.assert_allclose(result['enet'], W_ENET, rtol=1e-12)

    # The table: one row per class with the hand-worked numbers.
    for i, name in enumerate(CLASSES):
        row = next(line for line in printed.splitlines() if f' {name} ' in line)
        freq = 'absent' if FREQ[i] is None else f'{FREQ[i]:.6f}'
        for text in (freq, f'{W_MFB[i]:.6f}', f'{PROB[i]:.6f}', f'{W_ENET[i]:.6f}'):
            assert text in row, (name, text, row)

    # The stray value is reported with its file; the absent class is named.
    messages = [str(w.message) for w in record]
    stray = next(m for m in messages if 'label value 7' in m)
    assert 'c.png' in stray and 'a.png' not in stray and '2 pixels' in stray
    assert any('never present' in m and '3 (boat)' in m for m in messages)

    # Saved weights load through mmseg's get_class_weight into a loss.
    paths = result['paths']
    assert paths['median_freq'] == str(tmp_path / 'out' / 'weights_median_freq.npy')
    for key, expected in (('median_freq', W_MFB), ('enet', W_ENET)):
        np.testing.assert_allclose(get_class_weight(paths[key]), expected, rtol=1e-6)
        loss = CrossEntropyLoss(class_weight=paths[key])
        value = loss(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2).long())
        assert torch.isfinite(value)
    summary = json.loads(out.read_text())
    assert summary['pixels'] == [18, 18, 6, 0]
    assert summary['absent_classes'] == ['boat']
    assert summary['stray_labels']['7']['files'][0].endswith('c.png')
    assert summary['median_freq']['freq'][3] is None


def test_reduce_zero_label_is_applied_as_the_dataset_does(tmp_path):
    # With reduce_zero_label, file value 0 becomes ignore (255) and v becomes
    # v - 1; file value 5 becomes 4, outside the 3 classes: stray.
    labels = {'x': label_map({0: 4, 1: 6, 3: 5, 5: 1})}
    config = make_dataset(tmp_path / 'voc', labels, classes=('p', 'q', 'r'), reduce_zero_label=True)
    with pytest.warns(UserWarning, match='label value 4 .file value 5'):
        result = class_weights_from_config(Config.fromfile(str(config)), progress=False)
    counts = result['counts']
    assert counts.pixels.tolist() == [6, 0, 5]
    assert counts.ignored_pixels == 4
    assert list(counts.stray) == [4]
    # Present: p 6/11, r 5/11; median = their mean 1/2.
    np.testing.assert_allclose(result['median_freq'], [0.5 * 11 / 6, 0.0, 0.5 * 11 / 5])


def test_command_line(tmp_path):
    config = make_dataset(tmp_path / 'voc', LABELS)
    out = tmp_path / 'w.json'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'analysis', 'class_weights.py'),
            str(config),
            '--out',
            str(out),
            '--cfg-options',
            'train_dataloader.dataset.times=1',
        ],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    assert '3/3' in proc.stdout  # the progress bar reached the end
    assert f'{2.6:.6f}' in proc.stdout
    np.testing.assert_allclose(np.load(tmp_path / 'w_enet.npy'), W_ENET, rtol=1e-6)
    assert (tmp_path / 'w_median_freq.npy').is_file()
