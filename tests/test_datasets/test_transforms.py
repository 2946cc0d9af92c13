"""CenterPad pads as the DRN authors' RandomCrop does (fyu/drn ``data_transforms.py``): the missing
rows and columns split between both sides, the image mirrored without repeating its edge, the
labels filled with 255. numpy's ``pad(mode='reflect')`` is the independent reference for the
mirror (the transform pads through mmcv.impad, i.e. OpenCV)."""

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

import mmseg_dilated  # noqa: F401
from mmseg_dilated.datasets import CenterPad


def sample(h, w, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    label = rng.integers(0, 19, (h, w), dtype=np.uint8)
    return dict(img=img, img_shape=(h, w), gt_seg_map=label, seg_fields=['gt_seg_map'])


def drn_split(missing):
    """fyu/drn RandomCrop: ``left = (tw - w) // 2``, ``right = tw - w - left``."""
    before = missing // 2
    return before, missing - before


@pytest.mark.parametrize(
    'shape, size',
    [
        ((512, 1024), (840, 840)),  # Cityscapes at scale 0.5 under an 840 crop
        ((5, 7), (12, 9)),  # odd split on both axes
        ((3, 4), (20, 20)),  # pads wider than the image: repeated mirroring
    ],
)
def test_image_is_mirrored_and_labels_filled_as_the_drn_crop(shape, size):
    h, w = shape
    results = sample(h, w)
    img, label = results['img'].copy(), results['gt_seg_map'].copy()
    out = CenterPad(size=size)(results)
    top, bottom = drn_split(max(size[0] - h, 0))
    left, right = drn_split(max(size[1] - w, 0))
    expected_img = np.pad(img, ((top, bottom), (left, right), (0, 0)), mode='reflect')
    expected_label = np.pad(
        label, ((top, bottom), (left, right)), mode='constant', constant_values=255
    )
    assert out['img'].shape == (max(h, size[0]), max(w, size[1]), 3)
    np.testing.assert_array_equal(out['img'], expected_img)
    np.testing.assert_array_equal(out['gt_seg_map'], expected_label)
    assert out['img_shape'] == out['img'].shape[:2]
    # the original pixels sit in the middle, unchanged
    np.testing.assert_array_equal(out['img'][top : top + h, left : left + w], img)


def test_single_channel_image_keeps_its_channel_axis():
    results = sample(4, 6, channels=1)
    out = CenterPad(size=(8, 8))(results)
    assert out['img'].shape == (8, 8, 1)


def test_large_enough_image_passes_unchanged():
    results = sample(1024, 2048)
    img = results['img']
    out = CenterPad(size=(840, 840))(results)
    assert out['img'] is img and out['img_shape'] == (1024, 2048)


def test_constant_mode_uses_pad_val():
    out = CenterPad(size=(6, 6), padding_mode='constant', pad_val=7)(sample(2, 6))
    assert (out['img'][:2] == 7).all() and (out['img'][-2:] == 7).all()


def test_then_mmseg_random_crop_gives_full_crops():
    """CenterPad + mmseg's RandomCrop: every crop is 840x840, so the data preprocessor pads
    nothing (it would pad zeros at the bottom and right)."""
    init_default_scope('mmseg')
    pipeline = Compose(
        [dict(type='CenterPad', size=(840, 840)), dict(type='RandomCrop', crop_size=(840, 840))]
    )
    out = pipeline(sample(512, 1024))
    assert out['img'].shape == (840, 840, 3) and out['gt_seg_map'].shape == (840, 840)
    # 328 padded rows, 164 above and 164 below: every crop holds both padded bands
    assert (out['gt_seg_map'][:164] == 255).all() and (out['gt_seg_map'][-164:] == 255).all()
    assert (out['gt_seg_map'][164:-164] < 19).all()


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(size=840), 'size must be (height, width)'),
        (dict(size=(840, 0)), 'two positive ints'),
        (dict(size=(840, 840), padding_mode='wrap'), 'padding_mode must be one of'),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        CenterPad(**kwargs)


def test_mismatched_label_is_an_error():
    results = sample(4, 4)
    results['gt_seg_map'] = np.zeros((5, 4), np.uint8)
    with pytest.raises(ValueError, match='resize both together'):
        CenterPad(size=(8, 8))(results)
