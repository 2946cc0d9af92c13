"""Theoretical and effective receptive field of a segmentation model.

    mmseg-dilated receptive-field CONFIG [--checkpoint CKPT] [--size 128]
        [--num-images 8] [--source random|dataset] [--out-dir DIR] [--head-only] [--no-erf]
        [--dilation-grid [D ...]] [--cfg-options key=value ...]
    mmseg-dilated receptive-field --dilation-grid 1 2 4

1. Theoretical RF, layer by layer through backbone and decode head, from kernels, strides and
   dilations (``r_out = r_in + (k - 1) d j_in``, ``j_out = j_in s``), in input pixels; then the
   decode head alone on the features it receives, in feature cells (for the context module this is
   the paper's Table 1: 3, 5, 9, 17, 33, 65, 67, 67), checked against the head's own
   ``receptive_fields`` where it has one. The recurrence follows the data flow, so for residual
   networks it reports the longest path's RF, the standard theoretical RF.
2. Effective RF (Luo et al., NeurIPS 2016): ``|d y_centre / d x|`` of the centre unit of the decode
   head's logits (before the resize to the input size; summed over classes), summed over input
   channels, averaged over ``--num-images`` images (standard-normal images in the normalised input
   space, or the first test images with ``--source dataset``), model in eval mode. Saved as
   ``DIR/<config>_erf.png`` with the theoretical RF (red) and the radius holding ``--fraction`` of
   the mass (dashed) drawn on it; the radius is printed (Chebyshev, i.e. half the side of a square,
   and Euclidean). Weights: ``init_weights`` (random init) unless ``--checkpoint`` is given.
3. ``--dilation-grid [D ...]``: which input pixels one 3x3 kernel with dilation D samples, and the
   compounding grid of the stack of them (default 1 2 4), as ``DIR/dilation_grid.png``, with the
   gridding verdict and HDC's conditions (``mmseg_dilated/utils/gridding.py``).

With a CONFIG it also lists the model's dilated stacks, read from the built modules (backbone
levels, the context module), each with its gridding verdict.

The analysis is in ``mmseg_dilated/analysis/receptive_field.py``, its figures in
``mmseg_dilated/analysis/receptive_field_plot.py``; the model is built by
``mmseg_dilated.apis.model_builder.build_segmentor``.
"""

import argparse
import os
import os.path as osp


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Theoretical and effective receptive field of a segmentation model'
    )
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument('--checkpoint', help='weights to load (default: random init)')
    parser.add_argument('--size', type=int, default=128, help='input side in pixels. Default: 128')
    parser.add_argument(
        '--num-images', type=int, default=8, help='images the ERF is averaged over. Default: 8'
    )
    parser.add_argument(
        '--source',
        choices=('random', 'dataset'),
        default='random',
        help="ERF inputs: 'random' N(0, 1) images in the normalised input space, or 'dataset' "
        "(the config's test images). Default: random",
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the random images')
    parser.add_argument(
        '--fraction', type=float, default=0.95, help='ERF mass the radius holds. Default: 0.95'
    )
    parser.add_argument('--out-dir', default='work_dirs/receptive_field', help='where the PNGs go')
    parser.add_argument(
        '--head-only',
        action='store_true',
        help='print only the decode head table (feature cells), no ERF',
    )
    parser.add_argument('--no-erf', action='store_true', help='print the tables only')
    parser.add_argument(
        '--dilation-grid',
        nargs='*',
        type=int,
        metavar='D',
        help='draw the sampling grid of 3x3 kernels with these dilations and of their stack '
        '(default when given without values: 1 2 4)',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='override config settings, key=value'
    )
    args = parser.parse_args(argv)
    if args.config is None and args.dilation_grid is None:
        parser.error('give a CONFIG, --dilation-grid, or both')
    if args.size < 1 or args.num_images < 1:
        parser.error('--size and --num-images must be positive')
    return args


def _analyse_model(args, rf, plots):
    import torch

    from mmseg_dilated.utils import load_config
    from mmseg_dilated.apis.model_builder import build_segmentor

    cfg = load_config(args.config, args.cfg_options)
    # Gradients flow to the input only: the weights are frozen.
    model = build_segmentor(cfg, args.checkpoint).requires_grad_(False)
    full, head = rf.model_receptive_fields(model, args.size)
    in_channels = rf.input_channels(model)
    if not args.head_only:
        print(
            f'Theoretical receptive field of {type(model).__name__} on a 1x{in_channels}x'
            f'{args.size}x{args.size} input, in input pixels (cum. stride = jump):'
        )
        print(rf.format_rf_table(full, 'px'))
        print(
            "Each row is the RF of that layer's output along its longest input path; a shortcut "
            '(downsample) row shows its own, shorter path, and the residual add keeps the '
            'longest.\n'
        )
    if head is not None:
        head_module = model.decode_head
        print(
            f'{type(head_module).__name__} alone, in feature cells of its input (stride 1 there):'
        )
        print(rf.format_rf_table(head, 'cells'))
        paper = getattr(head_module, 'receptive_fields', None)
        if paper is not None:
            ours = tuple(int(layer.rf[0]) for layer in head.layers[-len(paper) :])
            verdict = 'agrees' if ours == tuple(paper) else f'DISAGREES with the last rows {ours}'
            print(f'{type(head_module).__name__}.receptive_fields = {tuple(paper)}: {verdict}')
        print()
    from mmseg_dilated.analysis.gridding import gridding_report, model_dilated_stacks

    stacks = model_dilated_stacks(model)
    if stacks:
        print(
            'Dilated stacks, each alone (the convolutions before a stack fill some of its '
            'holes in the whole network):'
        )
        for name, layers in stacks:
            print(f'  {name}: {gridding_report(layers).describe()}')
        print()
    if args.head_only or args.no_erf:
        return

    if args.source == 'dataset':
        images = rf.dataset_images(cfg, model, args.num_images, args.size)
        what = f'{len(images)} test images'
    else:
        gen = torch.Generator().manual_seed(args.seed)
        images = torch.randn(args.num_images, in_channels, args.size, args.size, generator=gen)
        what = f'{args.num_images} random N(0, 1) images'
    result = rf.effective_receptive_field(rf.model_forward(model), images, model)
    radius = rf.erf_radius(result.erf, args.fraction, result.centre, 'chebyshev')
    radius_e = rf.erf_radius(result.erf, args.fraction, result.centre, 'euclidean')
    theory = result.theory
    weights = args.checkpoint or 'random init'
    print(
        f'Effective receptive field (Luo et al. 2016), {weights}, {what} of '
        f'{args.size}x{args.size}:'
    )
    print(
        f'  centre unit {result.out_index} of the {theory.out_size[0]}x{theory.out_size[1]} '
        f'logit map, at input pixel ({result.centre[0]:g}, {result.centre[1]:g})'
    )
    print(
        f'  {args.fraction:.0%} of the ERF mass within a Chebyshev radius of {radius:g} px '
        f'(a {2 * radius + 1:g}x{2 * radius + 1:g} square); Euclidean radius {radius_e:.1f} px'
    )
    print(
        f'  theoretical RF {rf.format_pair(theory.rf)} px (Chebyshev radius '
        f'{(theory.rf[0] - 1) / 2:g} px)'
    )
    border = min(min(c, args.size - 1 - c) for c in result.centre)
    if radius >= 0.8 * border:
        print(
            f'  note: the radius nearly reaches the image border ({border:g} px from the '
            'centre); the ERF is cut off by the input, try a larger --size'
        )
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.config))[0]
    path = osp.join(args.out_dir, f'{stem}_erf.png')
    plots.plot_erf(
        result,
        path,
        radius,
        title=f'ERF of {stem} ({osp.basename(weights)}, {what})\n{args.fraction:.0%} of the mass '
        f'within {radius:g} px (Chebyshev); theoretical RF {rf.format_pair(theory.rf)} px',
        fraction=args.fraction,
    )
    print(f'  saved {path}')


def main(argv=None):
    args = parse_args(argv)
    from mmseg_dilated.analysis import receptive_field as rf
    from mmseg_dilated.analysis import receptive_field_plot as plots

    if args.config is not None:
        _analyse_model(args, rf, plots)
    if args.dilation_grid is not None:
        dilations = args.dilation_grid or [1, 2, 4]
        os.makedirs(args.out_dir, exist_ok=True)
        path = osp.join(args.out_dir, 'dilation_grid.png')
        plots.plot_dilation_grid(dilations, path)
        _, stack = rf.dilation_sampling_grids(dilations)
        holes = [int((grid == 0).sum()) for grid in stack]
        print(
            f'Stack of 3x3 convs with dilations {tuple(dilations)}: RF '
            f'{tuple(g.shape[0] for g in stack)}, never-sampled pixels inside the RF '
            f'{tuple(holes)}'
        )
        from mmseg_dilated.analysis.gridding import gridding_report

        print('  ' + gridding_report([(3, d) for d in dilations]).describe())
        print(f'  saved {path}')


if __name__ == '__main__':
    main()
