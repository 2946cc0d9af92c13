"""Export a segmentor to ONNX and check it at once with onnxruntime
(``mmseg_dilated/deploy/onnx_export.py``; needs the ``onnx`` extra: ``pip install ".[onnx]"``).

    mmseg-dilated export-onnx CONFIG [CHECKPOINT] --shape H W [--dynamic] [--argmax]
        [--out model.onnx] [--no-fuse-bn] [--demo IMAGE --demo-out overlay.png]

The graph takes a float32 ``N x 3 x H x W`` batch of raw BGR pixel values (0-255, as OpenCV reads
them), normalises it itself and returns logits at the input size, or the label map with
``--argmax``. BN is folded into the convolutions. After the export, a random image is run through
both onnxruntime and PyTorch and the difference is printed. ``--demo IMAGE`` runs an image through
the ONNX model and writes the same overlay as ``mmseg-dilated demo`` (mmseg's visualizer).
"""
import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a segmentor to ONNX')
    parser.add_argument('config', help='config file, or mmseg_dilated::NAME')
    parser.add_argument('checkpoint', nargs='?', help='weights (default: random init)')
    parser.add_argument('--shape', type=int, nargs=2, required=True, metavar=('H', 'W'),
                        help='input size traced (the only size a static model takes)')
    parser.add_argument('--dynamic', action='store_true',
                        help='batch size, height and width free in the graph')
    parser.add_argument('--argmax', action='store_true', help='output the label map')
    parser.add_argument('--no-fuse-bn', action='store_true', help='keep BatchNorm layers')
    parser.add_argument('--out', help='ONNX file (default: CONFIG_NAME.onnx)')
    parser.add_argument('--demo', metavar='IMAGE', help='run this image through the ONNX model')
    parser.add_argument('--demo-out', default='onnx_overlay.png', help='its overlay PNG')
    args = parser.parse_args(argv)
    if min(args.shape) < 1:
        parser.error('--shape must be positive')
    return args


def _demo(path, model, image_path, shape, dynamic, out_file):
    """The image through the ONNX model, drawn as ``mmseg-dilated demo`` draws it.

    As mmseg's ``inference_model`` does, the image goes through the config's test pipeline (its
    resize) and the logits are resized back to the image's size before the argmax; a static graph
    takes its export size instead of the pipeline's.
    """
    import mmcv
    import numpy as np
    import torch
    import torch.nn.functional as F
    from mmcv.transforms import Compose
    from mmengine.structures import PixelData
    from mmseg.apis import show_result_pyplot
    from mmseg.structures import SegDataSample

    from mmseg_dilated.deploy import run_onnx
    height, width = mmcv.imread(image_path).shape[:2]
    steps = [step for step in model.cfg.test_pipeline
             if step['type'] not in ('LoadAnnotations', 'PackSegInputs')]
    image = Compose(steps)(dict(img_path=image_path))['img']  # BGR, resized as in testing
    if not dynamic:
        image = mmcv.imresize(image, (shape[1], shape[0]))
    out = torch.from_numpy(run_onnx(path, image.transpose(2, 0, 1)[None].astype(np.float32)))
    if out.ndim == 4:  # logits: resized to the image, then the argmax, as mmseg does
        out = F.interpolate(out, size=(height, width), mode='bilinear',
                            align_corners=model.decode_head.align_corners).argmax(dim=1)
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
        sys.exit(f'error: {err.name} is not installed: pip install "mmseg-dilated[onnx]" (or '
                 'pip install onnx onnxruntime).')
    import mmseg_dilated  # noqa: F401
    from mmseg_dilated.deploy import build_for_export, check_onnx, export_onnx
    from mmseg_dilated.utils import resolve_config_path

    try:
        config = resolve_config_path(args.config)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    for path, what in ((config, 'config'), (args.checkpoint, 'checkpoint'),
                       (args.demo, 'image')):
        if path and not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist.')
    out = args.out or osp.splitext(osp.basename(config))[0] + '.onnx'
    module, reference = build_for_export(config, args.checkpoint, fuse_bn=not args.no_fuse_bn,
                                         argmax=args.argmax)
    export_onnx(module, out, args.shape, dynamic=args.dynamic)
    result = check_onnx(out, reference, args.shape, argmax=args.argmax)
    kind = 'label map' if args.argmax else 'logits'
    print(f'exported {out} ({kind}, {"dynamic" if args.dynamic else "static"} '
          f'{args.shape[0]}x{args.shape[1]} input, BN {"kept" if args.no_fuse_bn else "folded"})')
    if result['max_abs_diff'] is not None:
        print(f'onnxruntime vs PyTorch on a random image: max |logit difference| '
              f'{result["max_abs_diff"]:.3g} (logits up to {result["max_abs_logit"]:.3g}), '
              f'same label on {100 * result["argmax_agreement"]:.2f}% of pixels')
    else:
        print(f'onnxruntime vs PyTorch on a random image: same label on '
              f'{100 * result["argmax_agreement"]:.2f}% of pixels')
    if args.demo:
        _demo(out, reference, args.demo, args.shape, args.dynamic, args.demo_out)


if __name__ == '__main__':
    main()
