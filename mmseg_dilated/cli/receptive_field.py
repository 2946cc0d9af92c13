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
   gridding verdict and HDC's conditions (``mmseg_dilated.analysis.gridding``).

With a CONFIG it also lists the model's dilated stacks, read from the built modules (backbone
levels, the context module), each with its gridding verdict.

The report is ``mmseg_dilated.analysis.rf_report`` (over ``analysis.receptive_field``,
``analysis.effective_receptive_field`` and ``analysis.gridding``), its figures
``mmseg_dilated.analysis.receptive_field_plot``.
"""

import argparse


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


def main(argv=None):
    args = parse_args(argv)
    from mmseg_dilated.analysis.rf_report import analyse_dilation_grid, analyse_model
    from mmseg_dilated.cli.errors import exit_on_error
    from mmseg_dilated.utils import load_config

    with exit_on_error():
        if args.config is not None:
            analyse_model(
                load_config(args.config, args.cfg_options),
                args.config,
                checkpoint=args.checkpoint,
                size=args.size,
                num_images=args.num_images,
                source=args.source,
                seed=args.seed,
                fraction=args.fraction,
                out_dir=args.out_dir,
                head_only=args.head_only,
                erf=not args.no_erf,
            )
        if args.dilation_grid is not None:
            analyse_dilation_grid(args.dilation_grid or [1, 2, 4], args.out_dir)


if __name__ == '__main__':
    main()
