"""Check a config's data before a run: every sample read through mmseg's dataset and the config's
loading transforms, each finding named by file (``mmseg_dilated/utils/data_check.py``).

    mmseg-dilated check-dataset CONFIG [--splits train val] [--nproc 2] [--out report.json]
        [--time-loader] [--cfg-options key=value ...]

Exits with status 1 when anything is found, 0 when the data is clean. ``tools/train.py
--check-data`` runs it on the train and val splits before training.
"""

import argparse
import json
import sys

from mmseg_dilated.cli.errors import exit_on_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Check every sample of a config's datasets")
    parser.add_argument('config', help='config file, or mmseg_dilated::NAME')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=('train', 'val', 'test'),
        default=['train', 'val'],
        help='which splits. Default: train val',
    )
    parser.add_argument('--nproc', type=int, default=2, help='worker processes. Default: 2')
    parser.add_argument('--out', help='write the full report (every finding) as JSON here')
    parser.add_argument(
        '--time-loader',
        action='store_true',
        help="then time one pass of each split's data loader, for comparison",
    )
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='override settings in the config, key=value'
    )
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error('--nproc must be >= 1')
    return args


def run_check(cfg, splits, nproc=2, out=None) -> bool:
    """Check, print the summary, write ``out``; True when the data is clean."""
    from mmseg_dilated.datasets.data_check import check_config_data, format_report

    report = check_config_data(cfg, splits, nproc=nproc)
    print('\n' + format_report(report))
    if out:
        with open(out, 'w') as f:
            json.dump(report, f, indent=1)
        print(f'report: {out}')
    return not any(res['problems'] for res in report.values())


def main(argv=None):
    args = parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers the datasets and transforms)
    from mmseg_dilated.apis import check_dataset_paths
    from mmseg_dilated.utils import load_config

    with exit_on_error():
        cfg = load_config(args.config, args.cfg_options)
        check_dataset_paths(cfg, tuple(f'{s}_dataloader' for s in args.splits))
    clean = run_check(cfg, args.splits, args.nproc, args.out)
    if args.time_loader:
        from mmseg_dilated.datasets.data_check import time_loader

        for split in args.splits:
            timed = time_loader(cfg, split)
            print(
                f'{split} data loader: {timed["samples"]} samples in {timed["seconds"]:.1f} s '
                f'({timed["samples"] / timed["seconds"]:.0f}/s)'
            )
    if not clean:
        sys.exit(1)


if __name__ == '__main__':
    main()
