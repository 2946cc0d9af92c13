"""Segment one image and write the colour overlay, through mmseg's inference API.

    mmseg-dilated demo IMAGE CONFIG CHECKPOINT --out overlay.png [--device cpu] [--opacity 0.5]
        [--infer-path {eager,fused,bf16,compile}]

The overlay has the input image's size. ``--infer-path`` runs the network on one of
``mmseg_dilated.deploy.INFERENCE_PATHS`` (``mmseg_dilated/deploy/inference_paths.py``). The
checkpoint loads on torch's weights-only unpickler.
"""

import argparse
import os.path as osp
import sys

from mmseg_dilated.cli.errors import exit_on_error


def main(argv=None):
    from mmseg_dilated.deploy.inference_paths import INFERENCE_PATHS

    parser = argparse.ArgumentParser(description='Segment an image and save the overlay')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG of the overlay')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the painted segmentation map, in (0, 1]',
    )
    parser.add_argument('--title', default='result', help='the image identifier')
    parser.add_argument(
        '--infer-path',
        choices=INFERENCE_PATHS,
        default='eager',
        help='eager (as mmseg runs it), fused (BN folded, channels_last), bf16 '
        '(fused + autocast: CPU bf16 or CUDA AMP), compile (fused + torch.compile)',
    )
    args = parser.parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers models; safe checkpoint loading)
    from mmseg_dilated.utils import resolve_config_path

    with exit_on_error():
        args.config = resolve_config_path(args.config)
    for path, what in (
        (args.img, 'image'),
        (args.config, 'config'),
        (args.checkpoint, 'checkpoint'),
    ):
        if not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist.')
    if not 0 < args.opacity <= 1:
        sys.exit(f'error: --opacity must be in (0, 1], got {args.opacity}.')

    from mmseg.apis import inference_model, init_model, show_result_pyplot

    from mmseg_dilated.deploy import apply_inference_path

    model = apply_inference_path(
        init_model(args.config, args.checkpoint, device=args.device), args.infer_path
    )
    result = inference_model(model, args.img)
    show_result_pyplot(
        model,
        args.img,
        result,
        opacity=args.opacity,
        title=args.title,
        draw_gt=False,
        show=False,
        out_file=args.out,
    )
    print(f'overlay: {args.out}')


if __name__ == '__main__':
    main()
