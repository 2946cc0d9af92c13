"""Segment one image and write the colour overlay, through mmseg's inference API.

    mmseg-dilated demo IMAGE CONFIG CHECKPOINT --out overlay.png [--device cpu] [--opacity 0.5]

The overlay has the input image's size. The checkpoint loads on torch's weights-only unpickler.
"""
import argparse
import os.path as osp
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description='Segment an image and save the overlay')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG of the overlay')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='opacity of the painted segmentation map, in (0, 1]')
    parser.add_argument('--title', default='result', help='the image identifier')
    args = parser.parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers models; safe checkpoint loading)
    from mmseg_dilated.utils import resolve_config_path
    try:
        args.config = resolve_config_path(args.config)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    for path, what in ((args.img, 'image'), (args.config, 'config'),
                       (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist.')
    if not 0 < args.opacity <= 1:
        sys.exit(f'error: --opacity must be in (0, 1], got {args.opacity}.')

    from mmseg.apis import inference_model, init_model, show_result_pyplot

    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.img)
    show_result_pyplot(model, args.img, result, opacity=args.opacity, title=args.title,
                       draw_gt=False, show=False, out_file=args.out)
    print(f'overlay: {args.out}')


if __name__ == '__main__':
    main()
