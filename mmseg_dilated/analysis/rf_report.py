"""The report of ``mmseg-dilated receptive-field``: the theoretical trace as a text table, the
gridding verdicts, the effective receptive field and its figures."""

import os
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple

from .receptive_field import RFTrace

__all__ = ['format_pair', 'format_rf_table', 'analyse_model', 'analyse_dilation_grid']

Pair = Tuple[float, float]


def format_pair(value: Pair) -> str:
    """One number for a square value, ``HxW`` otherwise; integers without decimals."""
    nums = ['%g' % round(v, 3) for v in value]
    return nums[0] if nums[0] == nums[1] else 'x'.join(nums)


def format_rf_table(trace: RFTrace, unit: str = 'px') -> str:
    """The trace as a text table: index, module, op, kernel, stride, dilation, RF, cumulative
    stride ("jump"), both in ``unit``."""
    header = (
        '#',
        'layer',
        'op',
        'kernel',
        'stride',
        'dilation',
        f'RF ({unit})',
        f'cum. stride ({unit})',
    )
    rows = [
        (str(layer.index), layer.name, layer.type)
        + tuple(
            format_pair(v)
            for v in (layer.kernel, layer.stride, layer.dilation, layer.rf, layer.jump)
        )
        for layer in trace.layers
    ]
    if trace.output is not None:
        out = trace.output
        rows.append(
            (
                '',
                'output',
                '%dx%d map' % out.out_size,
                '',
                '',
                '',
                format_pair(out.rf),
                format_pair(out.jump),
            )
        )
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = [
        '  '.join(
            c.rjust(w) if i in (0, 3, 4, 5, 6, 7) else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in [header] + rows
    ]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def analyse_model(
    cfg,
    config_name: str,
    checkpoint: Optional[str] = None,
    size: int = 128,
    num_images: int = 8,
    source: str = 'random',
    seed: int = 0,
    fraction: float = 0.95,
    out_dir: str = 'work_dirs/receptive_field',
    head_only: bool = False,
    erf: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """The report of ``mmseg-dilated receptive-field CONFIG``: the theoretical RF tables of the
    whole model and of its decode head, the gridding verdict of each dilated stack, and (unless
    ``erf`` is False or ``head_only``) the effective RF with its figure
    ``<out_dir>/<config>_erf.png``.
    Every line goes to ``say``."""
    import torch

    from ..apis.model_builder import build_segmentor
    from . import receptive_field_plot as plots
    from .effective_receptive_field import dataset_images, effective_receptive_field, erf_radius
    from .gridding import gridding_report, model_dilated_stacks
    from .receptive_field import input_channels, model_forward, model_receptive_fields

    # Gradients flow to the input only: the weights are frozen.
    model = build_segmentor(cfg, checkpoint).requires_grad_(False)
    full, head = model_receptive_fields(model, size)
    in_channels = input_channels(model)
    if not head_only:
        say(
            f'Theoretical receptive field of {type(model).__name__} on a 1x{in_channels}x'
            f'{size}x{size} input, in input pixels (cum. stride = jump):'
        )
        say(format_rf_table(full, 'px'))
        say(
            "Each row is the RF of that layer's output along its longest input path; a shortcut "
            '(downsample) row shows its own, shorter path, and the residual add keeps the '
            'longest.\n'
        )
    if head is not None:
        head_module = model.decode_head
        say(f'{type(head_module).__name__} alone, in feature cells of its input (stride 1 there):')
        say(format_rf_table(head, 'cells'))
        paper = getattr(head_module, 'receptive_fields', None)
        if paper is not None:
            ours = tuple(int(layer.rf[0]) for layer in head.layers[-len(paper) :])
            verdict = 'agrees' if ours == tuple(paper) else f'DISAGREES with the last rows {ours}'
            say(f'{type(head_module).__name__}.receptive_fields = {tuple(paper)}: {verdict}')
        say('')
    stacks = model_dilated_stacks(model)
    if stacks:
        say(
            'Dilated stacks, each alone (the convolutions before a stack fill some of its '
            'holes in the whole network):'
        )
        for name, layers in stacks:
            say(f'  {name}: {gridding_report(layers).describe()}')
        say('')
    if head_only or not erf:
        return

    if source == 'dataset':
        images = dataset_images(cfg, model, num_images, size)
        what = f'{len(images)} test images'
    else:
        gen = torch.Generator().manual_seed(seed)
        images = torch.randn(num_images, in_channels, size, size, generator=gen)
        what = f'{num_images} random N(0, 1) images'
    result = effective_receptive_field(model_forward(model), images, model)
    theory = result.theory
    if theory is None:
        raise ValueError(
            f'the logits of {config_name} do not depend on the input image, so it has no '
            'receptive field to measure; check that the decode head reads the backbone features'
        )
    radius = erf_radius(result.erf, fraction, result.centre, 'chebyshev')
    radius_e = erf_radius(result.erf, fraction, result.centre, 'euclidean')
    weights = checkpoint or 'random init'
    say(f'Effective receptive field (Luo et al. 2016), {weights}, {what} of {size}x{size}:')
    say(
        f'  centre unit {result.out_index} of the {theory.out_size[0]}x{theory.out_size[1]} '
        f'logit map, at input pixel ({result.centre[0]:g}, {result.centre[1]:g})'
    )
    say(
        f'  {fraction:.0%} of the ERF mass within a Chebyshev radius of {radius:g} px '
        f'(a {2 * radius + 1:g}x{2 * radius + 1:g} square); Euclidean radius {radius_e:.1f} px'
    )
    say(
        f'  theoretical RF {format_pair(theory.rf)} px (Chebyshev radius '
        f'{(theory.rf[0] - 1) / 2:g} px)'
    )
    border = min(min(c, size - 1 - c) for c in result.centre)
    if radius >= 0.8 * border:
        say(
            f'  note: the radius nearly reaches the image border ({border:g} px from the '
            'centre); the ERF is cut off by the input, try a larger --size'
        )
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(config_name))[0]
    path = osp.join(out_dir, f'{stem}_erf.png')
    plots.plot_erf(
        result,
        path,
        radius,
        title=f'ERF of {stem} ({osp.basename(weights)}, {what})\n{fraction:.0%} of the mass '
        f'within {radius:g} px (Chebyshev); theoretical RF {format_pair(theory.rf)} px',
        fraction=fraction,
    )
    say(f'  saved {path}')


def analyse_dilation_grid(
    dilations: Sequence[int], out_dir: str, say: Callable[[str], None] = print
) -> None:
    """The report of ``mmseg-dilated receptive-field --dilation-grid D ...``: the sampling grid of
    a stack of 3x3 kernels with these dilations, drawn to ``<out_dir>/dilation_grid.png``, and its
    gridding verdict."""
    from . import receptive_field_plot as plots
    from .gridding import dilation_sampling_grids, gridding_report

    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, 'dilation_grid.png')
    plots.plot_dilation_grid(dilations, path)
    _, stack = dilation_sampling_grids(dilations)
    holes = [int((grid == 0).sum()) for grid in stack]
    say(
        f'Stack of 3x3 convs with dilations {tuple(dilations)}: RF '
        f'{tuple(g.shape[0] for g in stack)}, never-sampled pixels inside the RF {tuple(holes)}'
    )
    say('  ' + gridding_report([(3, d) for d in dilations]).describe())
    say(f'  saved {path}')
