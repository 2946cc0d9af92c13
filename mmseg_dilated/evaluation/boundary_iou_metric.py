"""IoU metric that also reports frequency-weighted IoU and Boundary IoU."""

import math
from collections import OrderedDict
from typing import Dict, Tuple

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable
from torch import Tensor


def _window_any(x: Tensor, size: int, dim: int) -> Tensor:
    """Sliding-window OR: ``out[i] = x[i:i + size].any()`` along ``dim``.

    Doubling the window each step costs O(log size) tensor ops, where
    ``max_pool2d`` costs O(size) per pixel (47-wide windows for 512x1024
    images at the default dilation ratio).
    """
    span = 1
    while span * 2 <= size:
        n = x.size(dim) - span
        x = x.narrow(dim, 0, n) | x.narrow(dim, span, n)
        span *= 2
    if span < size:
        # Two overlapping windows of ``span`` cover one of ``size``.
        shift = size - span
        n = x.size(dim) - shift
        x = x.narrow(dim, 0, n) | x.narrow(dim, shift, n)
    return x


def boundary_map(label: Tensor, dilation: int) -> Tensor:
    """Boundary pixels of every class mask of a label map at once.

    Pixel ``p`` of class ``c`` is in the boundary of the mask of ``c`` iff
    eroding that mask (zero-padded, so the image border counts as outside)
    ``dilation`` times by a 3x3 square removes it, i.e. iff some pixel within
    Chebyshev distance ``dilation`` of ``p`` has another label or lies outside
    the image. That holds iff some pixel within ``dilation - 1`` of ``p`` has
    a differently labelled 8-neighbour (or touches the border): the first
    label change on a king-move path from ``p`` is such a pixel. So the map
    is one 3x3 comparison plus a dilation by ``dilation - 1``.

    Args:
        label (Tensor): Label map of shape (H, W).
        dilation (int): Number of 3x3 erosions, >= 1.

    Returns:
        Tensor: Bool map (H, W), True on the boundary of the pixel's own
        class mask.
    """
    h, w = label.shape
    label = label.long()
    # The outside is -1, which differs from every class that gets counted.
    padded = label.new_full((h + 2, w + 2), -1)
    padded[1:-1, 1:-1] = label
    edge = torch.zeros((h, w), dtype=torch.bool, device=label.device)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                edge |= padded[dy : dy + h, dx : dx + w] != label
    radius = dilation - 1
    if radius > 0:
        edge = torch.nn.functional.pad(edge[None], (radius,) * 4)[0]
        edge = _window_any(edge, 2 * radius + 1, 0)
        edge = _window_any(edge, 2 * radius + 1, 1)
    return edge


def boundary_intersect_and_union(
    pred_label: Tensor, label: Tensor, num_classes: int, ignore_index: int, dilation_ratio: float
) -> Tuple[Tensor, Tensor]:
    """Per-class boundary intersection and union of one image.

    Boundaries are computed on the full class masks first (an ignored ground
    truth pixel simply belongs to no class, so it bounds its neighbours'
    masks); pixels whose ground truth is ``ignore_index`` are then left out
    of both counts.

    Args:
        pred_label (Tensor): Prediction (H, W).
        label (Tensor): Ground truth (H, W).
        num_classes (int): Number of classes.
        ignore_index (int): Ground-truth value left out of the counts.
        dilation_ratio (float): Boundary width as a fraction of the image
            diagonal; ``d = max(1, round(dilation_ratio * diagonal))``.

    Returns:
        tuple[Tensor, Tensor]: Boundary intersection and union per class,
        float64 on the CPU.
    """
    h, w = label.shape
    dilation = max(1, int(round(dilation_ratio * math.hypot(h, w))))
    valid = label != ignore_index
    pred_boundary = boundary_map(pred_label, dilation) & valid
    gt_boundary = boundary_map(label, dilation) & valid

    def histogram(values: Tensor) -> Tensor:
        values = values[(values >= 0) & (values < num_classes)]
        return torch.bincount(values.long(), minlength=num_classes)

    area_pred = histogram(pred_label[pred_boundary])
    area_gt = histogram(label[gt_boundary])
    area_intersect = histogram(pred_label[pred_boundary & gt_boundary & (pred_label == label)])
    area_union = area_pred + area_gt - area_intersect
    return (area_intersect.cpu().double(), area_union.cpu().double())


@METRICS.register_module()
class BoundaryIoUMetric(IoUMetric):
    """IoU metric plus frequency-weighted IoU and Boundary IoU.

    `Boundary IoU: Improving Object-Centric Image Segmentation Evaluation
    <https://arxiv.org/abs/2103.16562>`_ (Cheng et al., CVPR 2021).

    Reports everything :class:`mmseg.evaluation.IoUMetric` does (aAcc and
    the means selected by ``iou_metrics``, with the same per-class table),
    plus:

    - ``fwIoU``: IoU averaged with weights equal to each class's share of
      the (non-ignored) ground-truth pixels.
    - ``mBIoU``: mean over classes of Boundary IoU (per class in the table's
      ``BIoU`` column). The boundary of a class mask is the mask minus its
      erosion, ``d = max(1, round(dilation_ratio * image diagonal))`` times,
      by a 3x3 square, the mask being zero-padded so that pixels on the image
      border are boundary. Boundary IoU of a class is
      ``sum_images |Bp & Bg| / sum_images |Bp | Bg|``, accumulated over the
      dataset as mIoU is. Boundaries are computed on the masks first; pixels
      whose ground truth is ``ignore_index`` are then removed from both counts.

    Classes absent from prediction and ground truth give NaN, which the means
    skip (unless ``nan_to_num`` is set), as in ``IoUMetric``. Every value is a
    percentage rounded to two decimals.

    Args:
        dilation_ratio (float): Boundary width relative to the image
            diagonal. Default: 0.02.
        **kwargs: Arguments of :class:`mmseg.evaluation.IoUMetric`
            (``ignore_index``, ``iou_metrics``, ``nan_to_num``, ``beta``,
            ``output_dir``, ``format_only``, ...).
    """

    def __init__(self, dilation_ratio: float = 0.02, **kwargs) -> None:
        super().__init__(**kwargs)
        if not dilation_ratio >= 0:
            raise ValueError(f'dilation_ratio must be >= 0, got {dilation_ratio!r}')
        self.dilation_ratio = dilation_ratio

    def intersect_and_union(
        self, pred_label: Tensor, label: Tensor, num_classes: int, ignore_index: int
    ) -> tuple:
        """IoUMetric's four areas followed by the boundary intersection and
        union; ``IoUMetric.process`` calls this for each image, so its
        handling of ``format_only`` and ``output_dir`` is kept as is."""
        areas = super().intersect_and_union(pred_label, label, num_classes, ignore_index)
        return areas + boundary_intersect_and_union(
            pred_label, label, num_classes, ignore_index, self.dilation_ratio
        )

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics from processed results.

        ``IoUMetric.compute_metrics`` computes and logs the region metrics
        from the first four areas of each result; fwIoU and mBIoU are added
        here from the same areas and the two boundary counts, and the
        per-class Boundary IoU is logged in a table of its own.

        Args:
            results (list): Per-image tuples from
                :meth:`intersect_and_union`.

        Returns:
            dict[str, float]: aAcc, the means of ``iou_metrics`` (mIoU, mAcc,
            mDice, ...), fwIoU and mBIoU.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only and not self.output_dir:
            # IoUMetric would report osp.dirname(None); nothing was saved.
            logger.info('format_only without output_dir: no results saved')
            return OrderedDict()
        region = [result[:4] for result in results]
        metrics = super().compute_metrics(region)
        if self.format_only:
            return metrics
        area_intersect, area_union, _, area_label = (sum(areas) for areas in zip(*region))
        boundary_intersect, boundary_union = (
            sum(areas) for areas in zip(*(result[4:] for result in results))
        )
        biou = (boundary_intersect / boundary_union).numpy()
        if self.nan_to_num is not None:
            biou = np.nan_to_num(biou, nan=self.nan_to_num)
        fwiou = self._frequency_weighted_iou(area_intersect, area_union, area_label)
        metrics['fwIoU'] = np.round(fwiou * 100, 2)
        metrics['mBIoU'] = np.round(np.nanmean(biou) * 100, 2)

        table = PrettyTable()
        table.add_column('Class', list(self.dataset_meta['classes']))
        table.add_column('BIoU', np.round(biou * 100, 2))
        print_log('per class boundary IoU:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics

    @staticmethod
    def _frequency_weighted_iou(
        area_intersect: Tensor, area_union: Tensor, area_label: Tensor
    ) -> float:
        """sum_c freq_c * IoU_c with freq_c = |gt_c| / |gt|; a class with
        ground truth has a non-zero union, so no NaN enters the sum."""
        total = float(area_label.sum())
        if total == 0:
            return float('nan')
        present = area_label > 0
        iou = area_intersect[present].double() / area_union[present].double()
        return float((area_label[present].double() / total * iou).sum())
