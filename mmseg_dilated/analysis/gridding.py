"""Which pixels a stack of dilated convolutions samples, and whether it grids.

Stacked dilated convolutions with a common rate, (2, 2, 2), sample only every other pixel of their
receptive field: the "gridding" of Wang et al., *Understanding Convolution for Semantic
Segmentation* (WACV 2018). Their hybrid dilated convolution (HDC) picks rates such as (1, 2, 5)
that cover every pixel. :func:`gridding_report` computes the ground truth, the offsets along one
axis that some path through the stack reaches (for square kernels the 2-D set is the product of
two such sets), and states HDC's two design conditions beside it:

* the rates of the group have no common factor greater than 1;
* ``M_2 <= K`` for kernel size ``K``, where ``M_n = r_n`` and
  ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``: the largest distance between
  two non-zero taps, going down the stack.

The conditions are sufficient, not necessary, so a stack can be gridding-free and still break one
(the report says both).
"""

import math
from dataclasses import dataclass
from functools import reduce
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..models.common import check_positive_ints

__all__ = [
    'GriddingReport',
    'gridding_report',
    'hdc_m2',
    'model_dilated_stacks',
    'path_counts',
    'dilation_sampling_grids',
]


@dataclass(frozen=True)
class GriddingReport:
    """What :func:`gridding_report` found for one stack.

    Attributes:
        layers: ``(kernel, dilation)`` per layer, input first.
        receptive_field: Side of the stack's receptive field, ``1 + sum (k - 1) d``.
        sampled: Offsets from the centre (along one axis) that some path reaches, ascending.
        holes: Offsets inside the receptive field that no path reaches.
        largest_gap: Largest distance between neighbouring sampled offsets (1: no hole).
        period: The sampled offsets all lie on a lattice of this step (gcd of their differences):
            with ``period > 1`` the stack sees one pixel in ``period`` along each axis.
        common_factor: gcd of the dilations (HDC's first condition wants 1).
        m2: ``M_2`` of HDC's second condition (None for a single layer or mixed kernel sizes).
    """

    layers: Tuple[Tuple[int, int], ...]
    receptive_field: int
    sampled: Tuple[int, ...]
    holes: Tuple[int, ...]
    largest_gap: int
    period: int
    common_factor: int
    m2: Optional[int]

    @property
    def grids(self) -> bool:
        return bool(self.holes)

    @property
    def satisfies_hdc(self) -> bool:
        kernel = self.layers[0][0]
        return self.common_factor == 1 and (self.m2 is None or self.m2 <= kernel)

    def describe(self) -> str:
        """One line: the ground truth, then HDC's conditions."""
        dilations = tuple(d for _, d in self.layers)
        if not self.grids:
            truth = 'gridding-free'
        elif self.period > 1:
            truth = f'grids: holes every {self.period} px'
        else:
            truth = (
                f'grids: {len(self.holes)} of {self.receptive_field} offsets never sampled '
                f'(largest gap {self.largest_gap} px)'
            )
        conditions = []
        if self.common_factor > 1:
            conditions.append(f'rates share the factor {self.common_factor}')
        if self.m2 is not None and self.m2 > self.layers[0][0]:
            conditions.append(f'M_2 = {self.m2} > kernel {self.layers[0][0]}')
        hdc = (
            "meets HDC's conditions"
            if not conditions
            else "breaks HDC's conditions: " + ', '.join(conditions)
        )
        return f'dilations {dilations}: RF {self.receptive_field} px, {truth}; {hdc}' + (
            f' (M_2 = {self.m2})' if not conditions and self.m2 is not None else ''
        )


def hdc_m2(dilations: Sequence[int]) -> int:
    """``M_2`` of HDC's condition for rates ``r_1 .. r_n`` (n >= 2)."""
    m = dilations[-1]
    for r in reversed(dilations[1:-1]):
        m = max(m - 2 * r, m - 2 * (m - r), r)
    return m


def path_counts(layers: Sequence[Tuple[int, int]]) -> np.ndarray:
    """Along one axis, the number of paths through a stack of ``(kernel, dilation)`` layers from
    one output unit to each input offset ``-R .. R`` (``R = sum (k // 2) d``), input layer first.

    The one routine behind the gridding report and the sampling grids: a square kernel's taps are
    the product of its taps along each axis, so the 2-D count is the outer product of this one.
    """
    counts = np.ones(1, dtype=np.int64)
    for kernel, dilation in layers:
        new = np.zeros(len(counts) + (kernel - 1) * dilation, dtype=np.int64)
        for tap in range(kernel):
            new[tap * dilation : tap * dilation + len(counts)] += counts
        counts = new
    return counts


def dilation_sampling_grids(
    dilations: Sequence[int], kernel_size: int = 3
) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Input pixels sampled by dilated kernels, alone and stacked (Yu & Koltun 2016, Fig. 1).

    Args:
        dilations (Sequence[int]): Dilation of each conv of the stack, first layer first.
        kernel_size (int): Kernel side of every conv. Default: 3.

    Returns:
        tuple[list[np.ndarray], list[np.ndarray]]: ``single[i]``: 0/1 map of the taps of one kernel
        with dilation ``dilations[i]`` (side ``(k - 1) d + 1``); ``stack[i]``: for one unit of layer
        ``i``, the number of paths through layers ``1..i`` reaching each input pixel (side: the
        stack's RF ``1 + sum (k - 1) d``). A zero inside ``stack[i]`` is a gridding hole.
    """
    dilations = check_positive_ints('dilations', dilations)
    single, stack = [], []
    for i, d in enumerate(dilations):
        taps = path_counts([(kernel_size, d)])
        single.append(np.outer(taps, taps))
        counts = path_counts([(kernel_size, r) for r in dilations[: i + 1]])
        stack.append(np.outer(counts, counts))
    return single, stack


def gridding_report(layers: Sequence[Tuple[int, int]]) -> GriddingReport:
    """Sampled offsets, holes and HDC's conditions of a stack of ``(kernel, dilation)`` layers.

    Raises:
        ValueError: A kernel or dilation that is not a positive int, or an even kernel.
    """
    if not layers:
        raise ValueError('layers must name at least one (kernel, dilation) pair')
    pairs = []
    for layer in layers:
        kernel, dilation = check_positive_ints('a (kernel, dilation) layer', layer, 2)
        if kernel % 2 == 0:
            raise ValueError(f'kernel sizes must be odd (centred taps), got {kernel}')
        pairs.append((kernel, dilation))
    radius = sum((k // 2) * d for k, d in pairs)
    counts = path_counts(pairs)
    ordered = [int(o) - radius for o in np.flatnonzero(counts)]
    sampled = set(ordered)
    gaps = [b - a for a, b in zip(ordered, ordered[1:])]
    dilations = [d for _, d in pairs]
    kernels = {k for k, _ in pairs}
    m2 = hdc_m2(dilations) if len(pairs) > 1 and len(kernels) == 1 else None
    return GriddingReport(
        layers=tuple(pairs),
        receptive_field=2 * radius + 1,
        sampled=tuple(ordered),
        holes=tuple(o for o in range(-radius, radius + 1) if o not in sampled),
        largest_gap=max(gaps, default=1),
        period=reduce(math.gcd, gaps, 0) or 1,
        common_factor=reduce(math.gcd, dilations),
        m2=m2,
    )


def _conv_layers(modules) -> list:
    import torch.nn as nn

    return [
        (m.kernel_size[0], m.dilation[0])
        for module in modules
        for m in module.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1
    ]


def model_dilated_stacks(model) -> list:
    """``(name, layers)`` for every dilated stack of a built segmentor, read from its modules.

    A stack is the chain of convolutions larger than 1x1 that one backbone level applies in turn
    (a child of the backbone: DRN's and ResNet's ``layerN``, DilatedVGG's conv levels), and the
    context module of a :class:`ContextHead`. Only stacks with a dilation above 1 are returned.
    Heads whose dilated convolutions run side by side (ASPP, the parallel context head) have no
    stack: each branch is one kernel on the backbone's features.
    """
    stacks = []
    backbone = getattr(model, 'backbone', None)
    if backbone is not None:
        levels = getattr(backbone, 'level_modules', None)  # DilatedVGG: levels by module name
        if levels:
            named = [
                (f'level {i + 1} ({names[0]}..{names[-1]})', [getattr(backbone, n) for n in names])
                for i, names in enumerate(levels)
            ]
        else:
            named = [(name, [child]) for name, child in backbone.named_children()]
        for name, modules in named:
            layers = _conv_layers(modules)
            if any(d > 1 for _, d in layers):
                stacks.append(
                    (f'backbone.{name}' if levels is None else f'backbone {name}', layers)
                )
    context = getattr(getattr(model, 'decode_head', None), 'context_convs', None)
    if context is not None:
        stacks.append(('decode_head.context_convs', _conv_layers([context])))
    return stacks
