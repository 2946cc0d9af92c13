"""Per-class pixel frequencies of a training set and class weights for
``CrossEntropyLoss`` / ``SoftmaxFocalLoss``.

    mmseg-dilated class-weights CONFIG [--out FILE.json]
        [--cfg-options key=value ...]

Reads every label map of ``cfg.train_dataloader.dataset`` through the
dataset's own ``LoadAnnotations`` (so ``reduce_zero_label`` and custom
classes apply as in training) and no other transform, so random crops do not
bias the counts. Dataset wrappers that repeat or resample are unwrapped.

Prints, per class, the pixel count, the frequency used by median-frequency
balancing (Eigen & Fergus 2015) and the probability used by ENet's
``1 / ln(1.02 + p)``, with both weightings. With ``--out w.json`` it writes
``w_median_freq.npy`` and ``w_enet.npy`` (``class_weight='w_enet.npy'``
loads them) and the JSON summary ``w.json``. Label values that are neither a
class nor ``ignore_index`` are reported with their files and not counted;
classes that never occur get weight 0 and a warning. Details:
``mmseg_dilated/utils/class_weights.py``.
"""

import argparse

from mmseg_dilated.cli.errors import exit_on_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Class frequencies and class weights of a training set'
    )
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', help='JSON summary to write; the .npy weight files go beside it')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='override settings in the config, key=value pairs (mmengine DictAction syntax)',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmseg_dilated.analysis.class_weights import class_weights_from_config
    from mmseg_dilated.apis import check_dataset_paths
    from mmseg_dilated.utils import load_config

    with exit_on_error():
        cfg = load_config(args.config, args.cfg_options)
        check_dataset_paths(cfg, ('train_dataloader',))
    result = class_weights_from_config(cfg, out=args.out, progress=not args.no_progress)
    print(result['report'])
    for key, name in (('median_freq', 'median frequency'), ('enet', 'ENet')):
        print(f'class_weight ({name}) =', [round(float(w), 4) for w in result[key]])
    paths = result['paths']
    if paths is not None:
        print(
            f'saved {paths["median_freq"]}, {paths["enet"]} '
            f'(use as class_weight=...) and {paths["json"]}'
        )


if __name__ == '__main__':
    main()
