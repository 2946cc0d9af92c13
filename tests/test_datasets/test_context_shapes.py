"""The bundled data: deterministic, in the VOC layout mmseg reads, and built so context decides."""

import hashlib
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from PIL import Image

from mmseg_dilated.datasets import generate_context_shapes
from mmseg_dilated.datasets.context_shapes import CLASSES, PALETTE, render_sample


def _digest(root):
    h = hashlib.sha256()
    for split in ('train', 'val'):
        with open(osp.join(root, 'ImageSets', 'Segmentation', split + '.txt')) as f:
            names = f.read().split()
        for name in names:
            for sub, ext in (('JPEGImages', '.jpg'), ('SegmentationClass', '.png')):
                with open(osp.join(root, sub, name + ext), 'rb') as f:
                    h.update(f.read())
    return h.hexdigest()


def test_generation_is_deterministic_and_voc_shaped(tmp_path):
    a = generate_context_shapes(str(tmp_path / 'a'), num_train=6, num_val=2, image_size=64)
    b = generate_context_shapes(str(tmp_path / 'b'), num_train=6, num_val=2, image_size=64)
    assert _digest(a) == _digest(b)
    c = generate_context_shapes(str(tmp_path / 'c'), num_train=6, num_val=2, image_size=64, seed=1)
    assert _digest(a) != _digest(c)
    png = Image.open(osp.join(a, 'SegmentationClass', 'train_00000.png'))
    assert png.mode == 'P' and png.size == (64, 64)
    assert png.getpalette()[: 3 * len(PALETTE)] == [v for rgb in PALETTE for v in rgb]
    # a second call with the same parameters reuses the data; other parameters are refused
    assert generate_context_shapes(a, num_train=6, num_val=2, image_size=64) == a
    with pytest.raises(ValueError, match='Delete'):
        generate_context_shapes(a, num_train=7, num_val=2, image_size=64)


def test_dataset_builds_through_mmsegs_registry(tmp_path):
    register_all_modules()
    ds = DATASETS.build(
        dict(
            type='ContextShapesDataset',
            data_root=str(tmp_path / 'shapes'),
            num_train=5,
            num_val=2,
            image_size=64,
            ann_file='ImageSets/Segmentation/val.txt',
            data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs'),
            ],
        )
    )
    assert len(ds) == 2
    assert ds.metainfo['classes'] == CLASSES
    sample = ds[0]
    labels = sample['data_samples'].gt_sem_seg.data
    assert labels.shape == (1, 64, 64)
    assert set(labels.unique().tolist()) <= set(range(len(CLASSES)))


def test_interiors_look_alike_whatever_the_class():
    """Deep inside a shape (farther than the rim from any other class), the pixels of all three
    classes are drawn from one grey law: their statistics agree; the rims carry the class."""
    rng = np.random.default_rng(0)
    interior = {k: [] for k in (1, 2, 3)}
    rims = {k: [] for k in (1, 2, 3)}
    import cv2

    for _ in range(40):
        image, label = render_sample(rng, 128)
        for k in (1, 2, 3):
            mask = (label == k).astype(np.uint8)
            if not mask.any():
                continue
            inner = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=6).astype(bool)
            rim = mask.astype(bool) & ~cv2.erode(
                mask, np.ones((3, 3), np.uint8), iterations=2
            ).astype(bool)
            interior[k].append(image[inner].astype(float))
            rims[k].append(image[rim].astype(float))
    means = {k: np.concatenate(v).mean(0) for k, v in interior.items()}
    for k in (1, 2, 3):
        # grey: the three channels agree; the same mean for every class (uniform 40..230 -> 135)
        assert np.allclose(means[k], means[k].mean(), atol=3)
        assert abs(means[k].mean() - 135) < 5
    rim_means = {k: np.concatenate(v).mean(0) for k, v in rims.items()}
    # the rims are coloured, and differently per class (BGR: red, green, blue dominant)
    assert np.argmax(rim_means[1]) == 2 and np.argmax(rim_means[2]) == 1
    assert np.argmax(rim_means[3]) == 0
