"""Effective receptive field of a segmentation model (Luo et al., NeurIPS 2016).

The ERF of `Luo et al. <https://arxiv.org/abs/1701.04128>`_ is ``|d y_centre / d x|``, with
``y_centre`` the sum over classes of the logits of the centre output unit, summed over input
channels and averaged over a few input images, in eval mode (frozen BN statistics, no dropout) so
that the images of a batch do not interact. The theoretical receptive field of the same forward
pass comes with it (:mod:`mmseg_dilated.analysis.receptive_field`).
"""

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .receptive_field import LayerRF, _tensors, _trace

__all__ = ['ERFResult', 'effective_receptive_field', 'erf_radius', 'dataset_images']

Pair = Tuple[float, float]


@dataclass
class ERFResult:
    """Result of :func:`effective_receptive_field`.

    Attributes:
        erf (np.ndarray): (H, W) mean over images of ``|d y_centre / d x|`` summed over channels.
        out_index (tuple[int, int]): The output unit used: ``(h // 2, w // 2)`` of the output map.
        centre (tuple[float, float]): Its theoretical centre in input pixels (row, column).
        theory (LayerRF | None): Theoretical RF of the output, from the same forward pass.
    """

    erf: np.ndarray
    out_index: Tuple[int, int]
    centre: Pair
    theory: Optional[LayerRF]


def effective_receptive_field(
    forward: Callable, inputs: torch.Tensor, module: Optional[nn.Module] = None
) -> ERFResult:
    """Effective receptive field of the centre output unit (Luo et al. 2016).

    Args:
        forward (callable): Maps an (N, C, H, W) batch to (N, K, h, w) maps (logits). Put models in
            eval mode first, so that the images of the batch do not interact.
        inputs (Tensor): The (N, C, H, W) images, e.g. ``torch.randn`` or normalised dataset images.
        module (nn.Module, optional): Names the layers of the theoretical trace. Default: the
            forward callable if it is a module.

    Returns:
        ERFResult: ``erf[y, x]`` is ``|d (sum_k y[n, k, h // 2, w // 2]) / d x[n, :, y, x]|``
        summed over input channels and averaged over the N images.
    """
    x = inputs.detach().clone().requires_grad_(True)
    root = (
        module
        if module is not None
        else (forward if isinstance(forward, nn.Module) else nn.Module())
    )
    with torch.enable_grad():
        out, trace = _trace(root, forward, (x,))
        out = next(iter(_tensors(out)), None)
        if out is None or out.dim() != 4:
            raise ValueError(
                'expected (N, K, h, w) outputs, got '
                + ('no tensor' if out is None else f'shape {tuple(out.shape)}')
            )
        oy, ox = out.shape[-2] // 2, out.shape[-1] // 2
        out[:, :, oy, ox].sum().backward()
    erf = x.grad.abs().sum(1).mean(0).numpy().astype(np.float64)
    theory = trace.output
    if theory is not None:
        centre = (theory.start[0] + oy * theory.jump[0], theory.start[1] + ox * theory.jump[1])
    else:
        centre = ((erf.shape[0] - 1) / 2, (erf.shape[1] - 1) / 2)
    return ERFResult(erf, (oy, ox), centre, theory)


def erf_radius(
    erf, fraction: float = 0.95, centre: Optional[Sequence[float]] = None, metric: str = 'chebyshev'
) -> float:
    """Smallest radius around ``centre`` that holds ``fraction`` of the ERF's mass.

    Args:
        erf (array-like): (H, W) non-negative map (absolute values are taken).
        fraction (float): Mass fraction in (0, 1]. Default: 0.95.
        centre (tuple[float, float], optional): (row, column). Default: the array centre
            ``((H - 1) / 2, (W - 1) / 2)``.
        metric (str): 'chebyshev' (``max(|dy|, |dx|)``: a square of side ``2 r + 1`` for an
            integer centre, comparable with the square theoretical RF) or 'euclidean'.
            Default: 'chebyshev'.

    Returns:
        float: The radius, in pixels: the distance of the farthest pixel that is needed. All pixels
        at that distance count as inside.
    """
    if metric not in ('chebyshev', 'euclidean'):
        raise ValueError(f"metric must be 'chebyshev' or 'euclidean', got {metric!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    erf = np.abs(np.asarray(erf, dtype=np.float64))
    if erf.ndim != 2 or erf.sum() <= 0:
        raise ValueError('erf must be a 2-D array with positive mass')
    h, w = erf.shape
    cy, cx = centre if centre is not None else ((h - 1) / 2, (w - 1) / 2)
    yy, xx = np.mgrid[:h, :w]
    dy, dx = np.abs(yy - cy), np.abs(xx - cx)
    dist = np.maximum(dy, dx) if metric == 'chebyshev' else np.hypot(dy, dx)
    dist = np.round(dist, 9).ravel()
    radii, inverse = np.unique(dist, return_inverse=True)
    mass = np.cumsum(np.bincount(inverse, weights=erf.ravel(), minlength=len(radii)))
    needed = fraction * mass[-1] * (1 - 1e-12)
    return float(radii[np.searchsorted(mass, needed)])


def dataset_images(cfg, model: nn.Module, num_images: int, size: int) -> torch.Tensor:
    """The first ``num_images`` images of the config's test (else val) dataset, through the model's
    data preprocessor (normalisation), centre-cropped or zero-padded to ``size`` x ``size``."""
    from mmengine.dataset import pseudo_collate

    from ..datasets.builder import build_dataset_from_config

    split = 'test' if cfg.get('test_dataloader') else 'val'
    dataset = build_dataset_from_config(cfg, split)
    images = []
    for i in range(min(num_images, len(dataset))):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        img = data['inputs'][0]
        h, w = img.shape[-2:]
        top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
        img = img[:, top : top + size, left : left + size]
        pad_h, pad_w = size - img.shape[-2], size - img.shape[-1]
        img = torch.nn.functional.pad(
            img, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        )
        images.append(img)
    if not images:
        raise ValueError('the dataset is empty')
    return torch.stack(images)
