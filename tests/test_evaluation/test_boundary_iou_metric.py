import math
import time

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from scipy import ndimage

from mmseg_dilated.evaluation import BoundaryIoUMetric
from mmseg_dilated.evaluation.boundary_iou_metric import boundary_intersect_and_union, boundary_map

CLASSES = ('background', 'square', 'absent')


def square(top, left, size=5, shape=(9, 9)):
    mask = torch.zeros(shape, dtype=torch.long)
    mask[top : top + size, left : left + size] = 1
    return mask


def sample(pred, gt, name='img.png'):
    return dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]), img_path=name)


def evaluate(metric, pairs, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample(p, g) for p, g in pairs])
    return metric.evaluate(len(pairs))


def test_registered():
    assert METRICS.get('BoundaryIoUMetric') is BoundaryIoUMetric


def test_hand_worked_shifted_square():
    # 9x9 image, diagonal 12.7, d = max(1, round(0.02 * 12.7)) = 1.
    # GT: 5x5 square rows 2..6, cols 2..6; prediction: rows 2..6, cols 3..7.
    # Square boundaries are 5x5 rings of 25 - 9 = 16 pixels. Both rings hold
    # rows 2 and 6; they share cols 3..6 there (8 pixels), and their side
    # columns (2, 6 vs 3, 7 on rows 3..5) do not meet:
    #   |Bp & Bg| = 8, |Bp | Bg| = 16 + 16 - 8 = 24, BIoU = 1/3.
    # Background: GT background (56 px) has no 3x3 interior (the square
    # dilated by one, rows/cols 1..7, covers all non-border pixels), so all 56
    # are boundary. Predicted background keeps an interior: col 1, rows 1..7
    # (7 px), so 56 - 7 = 49 are boundary. Background of both: 81 - 30 = 51
    # pixels, 44 of them outside that column:
    #   |Bp & Bg| = 44, |Bp | Bg| = 49 + 56 - 44 = 61.
    gt, pred = square(2, 2), square(2, 3)
    inter, union = boundary_intersect_and_union(pred, gt, 3, 255, 0.02)
    assert inter.tolist() == [44, 8, 0]
    assert union.tolist() == [61, 24, 0]

    metrics = evaluate(BoundaryIoUMetric(), [(pred, gt)])
    # Class 'absent' gives 0/0 = NaN and is left out of the means.
    assert metrics['mBIoU'] == round((44 / 61 + 1 / 3) / 2 * 100, 2)
    # IoU: square 20/30, background 51/61; fwIoU weights them by GT share.
    assert metrics['mIoU'] == round((20 / 30 + 51 / 61) / 2 * 100, 2)
    assert metrics['fwIoU'] == round((56 / 81 * 51 / 61 + 25 / 81 * 20 / 30) * 100, 2)
    assert metrics['aAcc'] == round(71 / 81 * 100, 2)

    # nan_to_num turns the absent class into a number that the mean counts.
    metrics = evaluate(BoundaryIoUMetric(nan_to_num=0), [(pred, gt)])
    assert metrics['mBIoU'] == round((44 / 61 + 1 / 3) / 3 * 100, 2)


def test_hand_worked_wider_boundary():
    # dilation_ratio 0.15: d = round(0.15 * 12.73) = round(1.91) = 2. Two
    # erosions of a 5x5 square leave its centre pixel: ring of 24 pixels.
    gt = square(2, 2)
    assert boundary_map(gt, 2)[gt == 1].sum() == 24
    inter, union = boundary_intersect_and_union(gt, gt, 2, 255, 0.15)
    assert inter.tolist() == union.tolist() == [56, 24]
    # A tiny ratio still erodes once (d >= 1): the 16-pixel ring.
    inter, _ = boundary_intersect_and_union(gt, gt, 2, 255, 0.0)
    assert inter[1] == 16


def test_ignored_pixels_removed_after_boundaries():
    # Prediction = GT = the 5x5 square, but GT row 4 is ignore_index (255).
    # Boundaries come first: GT class 1 is two 2x5 slabs (rows 2-3, 5-6), too
    # thin to erode, so all 20 of their pixels are boundary. The predicted
    # ring has 16 pixels, 2 on row 4 ((4, 2), (4, 6)), which are then
    # dropped: 14 counted, all inside the GT boundary.
    #   |Bp & Bg| = 14, |Bp | Bg| = 14 + 20 - 14 = 20, BIoU = 0.7.
    pred = square(2, 2)
    gt = pred.clone()
    gt[4, :] = 255
    inter, union = boundary_intersect_and_union(pred, gt, 2, 255, 0.02)
    assert (inter[1], union[1]) == (14, 20)
    iou_inter, iou_union = IoUMetric.intersect_and_union(pred, gt, 2, 255)[:2]
    assert iou_inter[1] == iou_union[1] == 20
    # All ignored: nothing is counted at all.
    inter, union = boundary_intersect_and_union(pred, torch.full_like(gt, 255), 2, 255, 0.02)
    assert inter.sum() == union.sum() == 0


def scipy_boundary(mask, d):
    """Cheng et al.'s definition: zero-pad by one, erode d times with a 3x3
    square, keep the mask minus its erosion."""
    padded = np.pad(mask, 1)
    eroded = ndimage.binary_erosion(padded, structure=np.ones((3, 3), bool), iterations=d)[
        1:-1, 1:-1
    ]
    return mask & ~eroded


def random_label_maps(seed, num_classes=4, count=5):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(count):
        h, w = rng.integers(20, 90, size=2)
        coarse = rng.integers(0, num_classes, size=(h // 6 + 1, w // 6 + 1))
        gt = np.kron(coarse, np.ones((6, 6), np.int64))[:h, :w]
        pred = gt.copy()
        noise = rng.random((h, w)) < 0.15
        pred[noise] = rng.integers(0, num_classes, size=noise.sum())
        pred = np.roll(pred, rng.integers(-3, 4), axis=1)
        ignore = np.zeros((h, w), bool)
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        ignore[y : y + 8, x : x + 8] = True
        gt[ignore] = 255
        pairs.append((torch.from_numpy(pred), torch.from_numpy(gt)))
    return pairs


@pytest.mark.parametrize('dilation_ratio', [0.0, 0.02, 0.05, 0.1])
def test_matches_scipy_reference(dilation_ratio):
    num_classes = 4
    pairs = random_label_maps(seed=int(dilation_ratio * 100))
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for pred, gt in pairs:
        pred_np, gt_np = pred.numpy(), gt.numpy()
        h, w = gt_np.shape
        d = max(1, int(round(dilation_ratio * math.hypot(h, w))))
        valid = gt_np != 255
        for c in range(num_classes):
            bp = scipy_boundary(pred_np == c, d) & valid
            bg = scipy_boundary(gt_np == c, d) & valid
            inter[c] += (bp & bg).sum()
            union[c] += (bp | bg).sum()
    metric = BoundaryIoUMetric(dilation_ratio=dilation_ratio)
    metric.dataset_meta = dict(classes=tuple('abcd'))
    metric.process({}, [sample(p, g) for p, g in pairs])
    totals = [sum(r) for r in zip(*metric.results)]
    np.testing.assert_array_equal(totals[4].numpy(), inter)
    np.testing.assert_array_equal(totals[5].numpy(), union)
    assert totals[4].dtype == torch.float64
    metrics = metric.compute_metrics(metric.results)
    assert metrics['mBIoU'] == np.round(np.nanmean(inter / union) * 100, 2)


def test_iou_dice_acc_equal_mmseg_iou_metric():
    pairs = random_label_maps(seed=11)
    options = dict(iou_metrics=['mIoU', 'mDice', 'mFscore'])
    ours = evaluate(BoundaryIoUMetric(**options), pairs, tuple('abcd'))
    ref = evaluate(IoUMetric(**options), pairs, tuple('abcd'))
    assert set(ref) == {'aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mPrecision', 'mRecall'}
    assert set(ours) == set(ref) | {'fwIoU', 'mBIoU'}
    for key, value in ref.items():
        assert ours[key] == value, key
    # fwIoU from the GT histogram, computed independently here.
    gt_all = np.concatenate([g.numpy().ravel() for _, g in pairs])
    pred_all = np.concatenate([p.numpy().ravel() for p, _ in pairs])
    keep = gt_all != 255
    gt_all, pred_all = gt_all[keep], pred_all[keep]
    fw = 0.0
    for c in range(4):
        i = ((gt_all == c) & (pred_all == c)).sum()
        u = ((gt_all == c) | (pred_all == c)).sum()
        fw += (gt_all == c).mean() * i / u
    assert ours['fwIoU'] == np.round(fw * 100, 2)


def test_tta_style_samples_through_evaluator():
    """SegTTAModel returns SegDataSamples carrying pred_sem_seg; mmengine's
    Evaluator turns them into dicts for the metric."""
    pairs = random_label_maps(seed=12, count=2)
    samples = []
    for pred, gt in pairs:
        data_sample = SegDataSample()
        data_sample.pred_sem_seg = PixelData(data=pred[None])
        data_sample.gt_sem_seg = PixelData(data=gt[None])
        data_sample.set_metainfo(dict(img_path='x.png'))
        samples.append(data_sample)
    evaluator = Evaluator(dict(type='BoundaryIoUMetric', _scope_='mmseg', prefix='val'))
    evaluator.dataset_meta = dict(classes=tuple('abcd'))
    evaluator.process(samples)
    got = evaluator.evaluate(len(samples))
    direct = evaluate(BoundaryIoUMetric(), pairs, tuple('abcd'))
    assert got == {f'val/{k}': v for k, v in direct.items()}


def test_format_only(tmp_path):
    metric = BoundaryIoUMetric(format_only=True, output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=CLASSES)
    pred = square(2, 2)
    # Test sets have no ground truth.
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), img_path='a/frame_01.jpg')])
    assert metric.results == []
    assert metric.compute_metrics(metric.results) == {}
    saved = tmp_path / 'frame_01.png'
    assert saved.is_file()
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(saved)), pred.numpy())
    # Without output_dir, nothing is saved and nothing breaks.
    metric = BoundaryIoUMetric(format_only=True)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]))])
    assert metric.compute_metrics([]) == {}


def test_fast_on_cityscapes_sized_maps():
    gen = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, 19, (32, 64), generator=gen)
    gt = coarse.repeat_interleave(16, 0).repeat_interleave(16, 1)
    pred = torch.roll(gt, 5, dims=1)
    start = time.perf_counter()
    boundary_intersect_and_union(pred, gt, 19, 255, 0.02)  # d = 23
    assert time.perf_counter() - start < 2.0


def test_bad_dilation_ratio():
    with pytest.raises(ValueError, match='dilation_ratio'):
        BoundaryIoUMetric(dilation_ratio=-0.1)
