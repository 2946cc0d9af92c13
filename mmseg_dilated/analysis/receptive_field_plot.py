"""Figures of the receptive field analysis (:mod:`mmseg_dilated.analysis.receptive_field`,
:mod:`mmseg_dilated.analysis.effective_receptive_field`): the
effective receptive field as a heatmap with the theoretical RF and the mass radius drawn on it, and
the input pixels that a stack of dilated kernels samples (Yu & Koltun, ICLR 2016, Fig. 1,
https://arxiv.org/abs/1511.07122).

matplotlib is imported inside the functions, so that the analysis runs without it.
"""

from typing import Optional, Sequence

import numpy as np

from .effective_receptive_field import ERFResult
from .gridding import dilation_sampling_grids
from .rf_report import format_pair

__all__ = ['plot_erf', 'plot_dilation_grid']


def plot_erf(
    result: ERFResult,
    path: str,
    radius: Optional[float] = None,
    title: str = '',
    fraction: float = 0.95,
) -> None:
    """Save the normalised ERF as a PNG heatmap with the theoretical RF (solid square) and the
    Chebyshev ``radius`` holding ``fraction`` of the mass (dashed square), both around the centre
    unit."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    def square(height, width, **style):
        return Rectangle(
            (cx - width / 2, cy - height / 2), width, height, fill=False, lw=1.5, **style
        )

    erf = result.erf / max(result.erf.max(), 1e-30)
    cy, cx = result.centre
    fig = Figure(figsize=(6, 5.4), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(erf, cmap='viridis', vmin=0, vmax=1, interpolation='nearest')
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label='|gradient| / max')
    if result.theory is not None:
        rh, rw = result.theory.rf
        outside = ' (beyond the image)' if rh > erf.shape[0] and rw > erf.shape[1] else ''
        label = f'theoretical RF {format_pair(result.theory.rf)} px' + outside
        ax.add_patch(square(rh, rw, color='red', label=label))
    if radius is not None:
        side = 2 * radius + 1
        label = f'{fraction:.0%} of ERF mass: radius {radius:g} px'
        ax.add_patch(square(side, side, color='white', ls='--', label=label))
    ax.plot([cx], [cy], marker='+', color='red', ms=8)
    ax.set_xlim(-0.5, erf.shape[1] - 0.5)
    ax.set_ylim(erf.shape[0] - 0.5, -0.5)
    ax.legend(loc='upper right', fontsize=8, framealpha=0.7)
    ax.set_title(title or 'Effective receptive field', fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def plot_dilation_grid(dilations: Sequence[int], path: str, kernel_size: int = 3) -> None:
    """Save the sampling grids of :func:`dilation_sampling_grids` as a PNG: top row, one
    ``kernel_size`` kernel per dilation; bottom row, the stack after layers 1..i (path counts)."""
    from matplotlib.figure import Figure

    single, stack = dilation_sampling_grids(dilations, kernel_size)
    side = stack[-1].shape[0]
    n = len(dilations)
    fig = Figure(figsize=(2.6 * n, 5.6), dpi=100)
    axes = fig.subplots(2, n, squeeze=False)

    def centred(arr):
        canvas = np.zeros((side, side), dtype=np.float64)
        o = (side - arr.shape[0]) // 2
        canvas[o : o + arr.shape[0], o : o + arr.shape[1]] = arr
        return canvas

    rf = 1
    for i, d in enumerate(dilations):
        rf += (kernel_size - 1) * d
        panels = (
            (
                axes[0][i],
                centred(single[i]),
                'Greys',
                f'{kernel_size}x{kernel_size} kernel, dilation {d}',
            ),
            (
                axes[1][i],
                centred(stack[i]),
                'viridis',
                f'stack d={",".join(map(str, dilations[: i + 1]))}: RF {rf}',
            ),
        )
        for ax, img, cmap, title in panels:
            shown = np.ma.masked_equal(img, 0) if cmap == 'viridis' else img
            ax.imshow(shown, cmap=cmap, vmin=0, interpolation='nearest')
            ax.set_xticks(np.arange(-0.5, side, 1), minor=True)
            ax.set_yticks(np.arange(-0.5, side, 1), minor=True)
            ax.grid(which='minor', color='0.8', lw=0.3 if side > 20 else 0.6)
            ax.tick_params(
                which='both', bottom=False, left=False, labelbottom=False, labelleft=False
            )
            ax.set_title(title, fontsize=8)
            if cmap == 'viridis' and side <= 16:
                for (y, x), count in np.ndenumerate(img):
                    if count:
                        ax.text(
                            x,
                            y,
                            str(int(count)),
                            ha='center',
                            va='center',
                            fontsize=5,
                            color='white' if count < img.max() / 2 else 'black',
                        )
    fig.suptitle(
        'Input pixels sampled by dilated convolutions (bottom: number of paths; '
        'white inside the RF = never sampled)',
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path)
