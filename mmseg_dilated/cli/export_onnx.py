"""Export a segmentor to ONNX and check it at once with onnxruntime
(``mmseg_dilated/deploy/onnx_export.py``; needs the ``onnx`` extra: ``pip install ".[onnx]"``).

    mmseg-dilated export-onnx CONFIG [CHECKPOINT] --shape H W [--dynamic] [--argmax]
        [--out model.onnx] [--no-fuse-bn] [--demo IMAGE --demo-out overlay.png]
        [--int8 [--calib-images N]] [--eval]

The graph takes a float32 ``N x 3 x H x W`` batch of raw BGR pixel values (0-255, as OpenCV reads
them), normalises it itself and returns logits at the input size, or the label map with
``--argmax``. BN is folded into the convolutions. After the export, a random image is run through
both onnxruntime and PyTorch and the difference is printed. ``--demo IMAGE`` runs an image through
the ONNX model and writes the same overlay as ``mmseg-dilated demo`` (mmseg's visualizer).

``--int8`` also writes ``NAME_int8.onnx``: onnxruntime static quantization (QDQ, per-channel int8
weights, int8 activations) calibrated on ``--calib-images`` training images of the config, run
through its test pipeline (``mmseg_dilated/deploy/quantize.py``), and checks it as the fp32 model.
``--eval`` evaluates the written model(s) on the config's test set with mmseg's evaluator (the
config's ``test_evaluator``; ``mmseg_dilated/deploy/evaluate.py``) and prints their mIoU.
"""

import argparse
import os.path as osp
import sys

from mmseg_dilated.cli.errors import exit_on_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a segmentor to ONNX')
    parser.add_argument('config', help='config file, or mmseg_dilated::NAME')
    parser.add_argument('checkpoint', nargs='?', help='weights (default: random init)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input size traced (the only size a static model takes)',
    )
    parser.add_argument(
        '--dynamic', action='store_true', help='batch size, height and width free in the graph'
    )
    parser.add_argument('--argmax', action='store_true', help='output the label map')
    parser.add_argument('--no-fuse-bn', action='store_true', help='keep BatchNorm layers')
    parser.add_argument('--out', help='ONNX file (default: CONFIG_NAME.onnx)')
    parser.add_argument('--demo', metavar='IMAGE', help='run this image through the ONNX model')
    parser.add_argument('--demo-out', default='onnx_overlay.png', help='its overlay PNG')
    parser.add_argument(
        '--int8',
        action='store_true',
        help='also write an int8 model (onnxruntime static quantization)',
    )
    parser.add_argument(
        '--calib-images',
        type=int,
        default=8,
        metavar='N',
        help='training images that calibrate the int8 model (default: 8)',
    )
    parser.add_argument(
        '--eval',
        action='store_true',
        help="evaluate the ONNX model(s) on the config's test set (mIoU)",
    )
    args = parser.parse_args(argv)
    if min(args.shape) < 1:
        parser.error('--shape must be positive')
    if args.calib_images < 1:
        parser.error(f'--calib-images must be at least 1, got {args.calib_images}')
    if args.eval and args.argmax:
        parser.error('--eval needs the logits: export without --argmax')
    return args


def _demo(path, model, image_path, shape, dynamic, out_file):
    """The image through the ONNX model, drawn as ``mmseg-dilated demo`` draws it.

    As mmseg's ``inference_model`` does, the image goes through the config's test pipeline (its
    resize) and the logits are resized back to the image's size before the argmax; a static graph
    takes its export size instead of the pipeline's.
    """
    import mmcv
    import torch
    import torch.nn.functional as F
    from mmengine.structures import PixelData
    from mmseg.apis import show_result_pyplot
    from mmseg.structures import SegDataSample

    from mmseg_dilated.deploy import image_to_export_input, run_onnx

    height, width = mmcv.imread(image_path).shape[:2]
    image = image_to_export_input(model.cfg, image_path, None if dynamic else shape)
    out = torch.from_numpy(run_onnx(path, image))
    if out.ndim == 4:  # logits: resized to the image, then the argmax, as mmseg does
        out = F.interpolate(
            out,
            size=(height, width),
            mode='bilinear',
            align_corners=model.decode_head.align_corners,
        ).argmax(dim=1)
    else:
        out = F.interpolate(out[:, None].float(), size=(height, width), mode='nearest')[:, 0]
    sample = SegDataSample(pred_sem_seg=PixelData(data=out.long()))
    show_result_pyplot(model, image_path, sample, draw_gt=False, show=False, out_file=out_file)
    print(f'demo: {image_path} -> {out_file}')


def main(argv=None):
    args = parse_args(argv)
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        sys.exit(
            f'error: {err.name} is not installed: pip install "mmseg-dilated[onnx]" (or '
            'pip install onnx onnxruntime).'
        )
    import mmseg_dilated  # noqa: F401
    from mmseg_dilated.deploy import build_for_export, check_onnx, export_onnx
    from mmseg_dilated.utils import resolve_config_path

    with exit_on_error():
        config = resolve_config_path(args.config)
    for path, what in ((config, 'config'), (args.checkpoint, 'checkpoint'), (args.demo, 'image')):
        if path and not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist.')
    # the data that --int8 calibrates on and --eval evaluates on, before any export work
    loaders = (('train_dataloader',) if args.int8 else ()) + (
        ('test_dataloader',) if args.eval else ()
    )
    if loaders:
        from mmseg_dilated.apis import check_dataset_paths
        from mmseg_dilated.utils import load_config

        with exit_on_error():
            check_dataset_paths(load_config(config), loaders)
    out = args.out or osp.splitext(osp.basename(config))[0] + '.onnx'
    module, reference = build_for_export(
        config, args.checkpoint, fuse_bn=not args.no_fuse_bn, argmax=args.argmax
    )
    export_onnx(module, out, args.shape, dynamic=args.dynamic)
    kind = 'label map' if args.argmax else 'logits'
    print(
        f'exported {out} ({kind}, {"dynamic" if args.dynamic else "static"} '
        f'{args.shape[0]}x{args.shape[1]} input, BN {"kept" if args.no_fuse_bn else "folded"})'
    )
    _print_check(out, check_onnx(out, reference, args.shape, argmax=args.argmax))
    models = [('fp32', out)]
    if args.int8:
        from mmseg_dilated.deploy import calibration_images, quantize_onnx_int8

        int8 = osp.splitext(out)[0] + '_int8.onnx'
        calibration = calibration_images(
            reference.cfg, args.calib_images, None if args.dynamic else args.shape
        )
        quantize_onnx_int8(out, int8, calibration)
        print(f'quantized {int8} (int8, calibrated on {len(calibration)} training images)')
        _print_check(int8, check_onnx(int8, reference, args.shape, argmax=args.argmax))
        models.append(('int8', int8))
    if args.eval:
        from mmseg_dilated.deploy.evaluate import evaluate_onnx

        for name, path in models:
            metrics = evaluate_onnx(reference.cfg, path)
            print(f'{name} {path}: mIoU {metrics["mIoU"]:.2f} on the test set')
    if args.demo:
        _demo(out, reference, args.demo, args.shape, args.dynamic, args.demo_out)


def _print_check(path, result):
    if result['max_abs_diff'] is not None:
        print(
            f'{path}: onnxruntime vs PyTorch on a random image: max |logit difference| '
            f'{result["max_abs_diff"]:.3g} (logits up to {result["max_abs_logit"]:.3g}), '
            f'same label on {100 * result["argmax_agreement"]:.2f}% of pixels'
        )
    else:
        print(
            f'{path}: onnxruntime vs PyTorch on a random image: same label on '
            f'{100 * result["argmax_agreement"]:.2f}% of pixels'
        )


if __name__ == '__main__':
    main()
