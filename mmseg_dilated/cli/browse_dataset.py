"""Draw a dataset's samples as its pipeline delivers them, labels painted on, through mmseg's own
dataset and visualizer.

    mmseg-dilated browse-dataset CONFIG --output-dir DIR [--split train] [--max-samples N]
        [--cfg-options key=value ...]

Training samples are drawn after the training pipeline (crops, flips, rotations); validation and
test samples, whose pipelines keep the label at its file's size, on the image as read from disk.

mmseg 1.2.2's ``tools/analysis_tools/browse_dataset.py`` fails on every dataset, under OpenCV 4 and
5 alike (``cv2.error: ... Layout of the output array img is incompatible with cv::Mat``): it hands
the visualizer a channel-reversed view of a permuted tensor, and ``np.zeros_like`` keeps that
non-contiguous layout for the mask that OpenCV then draws on. This passes a contiguous image.
"""

import argparse
import os
import os.path as osp
import sys

from mmseg_dilated.cli.errors import exit_on_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the samples of a dataset with their labels')
    parser.add_argument('config', help='config file, or mmseg_dilated::NAME')
    parser.add_argument('--output-dir', required=True, help='where the PNGs go')
    parser.add_argument(
        '--split',
        choices=('train', 'val', 'test'),
        default='train',
        help="which dataloader's dataset (and pipeline) to draw. Default: train",
    )
    parser.add_argument(
        '--max-samples',
        type=int,
        default=0,
        help='draw at most this many samples (0: all). Default: 0',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='override settings in the config, key=value'
    )
    args = parser.parse_args(argv)
    if args.max_samples < 0:
        parser.error('--max-samples must be >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    import mmcv
    import numpy as np
    from mmengine.utils import ProgressBar
    from mmseg.registry import VISUALIZERS

    import mmseg_dilated  # noqa: F401  (registers the datasets and transforms)
    from mmseg_dilated.apis import check_dataset_paths
    from mmseg_dilated.datasets.builder import build_dataset_from_config
    from mmseg_dilated.utils import load_config

    loader = f'{args.split}_dataloader'
    with exit_on_error():
        cfg = load_config(args.config, args.cfg_options)
        check_dataset_paths(cfg, (loader,))
    if not cfg.get(loader):
        sys.exit(f'error: the config has no {loader}.')
    dataset = build_dataset_from_config(cfg, args.split)
    visualizer_cfg = dict(cfg.visualizer, vis_backends=None, name='browse_dataset')
    visualizer = VISUALIZERS.build(visualizer_cfg)
    visualizer.dataset_meta = dataset.metainfo

    os.makedirs(args.output_dir, exist_ok=True)
    count = min(len(dataset), args.max_samples or len(dataset))
    progress = ProgressBar(count)
    for index in range(count):
        item = dataset[index]
        # CHW BGR tensor -> contiguous HWC RGB array
        image = np.ascontiguousarray(item['inputs'].permute(1, 2, 0).numpy()[..., ::-1])
        sample = item['data_samples'].numpy()
        if image.shape[:2] != sample.gt_sem_seg.shape:
            # test pipelines resize the image but keep the label at its file's size
            image = mmcv.imread(sample.img_path, channel_order='rgb')
        name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
        visualizer.add_datasample(
            name,
            image,
            sample,
            draw_gt=True,
            draw_pred=False,
            show=False,
            out_file=osp.join(args.output_dir, name),
        )
        progress.update()
    print(f'\n{count} samples of the {args.split} split -> {args.output_dir}')


if __name__ == '__main__':
    main()
