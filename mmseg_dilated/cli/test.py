"""Test (and evaluate) a segmentor with mmseg's own ``tools/test.py``, after mmseg-dilated's checks.

    mmseg-dilated test CONFIG CHECKPOINT [--tta] [--show-dir DIR] [--out DIR] [--work-dir DIR]
    python tools/test.py CONFIG CHECKPOINT ...       (in a checkout: the same)

CONFIG is a file, or a shipped config by scope: ``mmseg_dilated::context_toy.py``.
The command line is mmseg's (``--tta`` for multi-scale + flip testing, ``--show-dir`` for overlays,
``--out`` for raw predictions). Before handing over it checks that the checkpoint and the test data
exist, and makes ``--launcher pytorch`` work without GPUs. Checkpoints load on torch's weights-only
unpickler (``mmseg_dilated.utils.checkpoint``): a file holding arbitrary pickled objects is refused.
"""
import argparse
import os
import os.path as osp
import runpy
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results as json')
    parser.add_argument('--out', help='the dir to save output predictions for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='dir (under work_dir/timestamp) to save painted images')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='override settings in the config, as key=value pairs (mmengine DictAction syntax)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers models; safe checkpoint loading)
    from mmseg_dilated.utils import (DatasetNotPreparedError, check_dataset_paths,
                                     cpu_distributed_options, load_config, mmseg_tool,
                                     UnsafeCheckpointError, resolve_config_path, safe_load,
                                     shutdown_distributed)
    from mmseg_dilated.utils.num_classes import (NumClassesError, check_checkpoint_classes,
                                                 check_num_classes)

    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist.')
    options = list(args.cfg_options)
    try:
        config = resolve_config_path(args.config)
        cfg = load_config(config, options)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    if args.tta and not (cfg.get('tta_model') and cfg.get('tta_pipeline')):
        sys.exit(f'error: --tta needs tta_model and tta_pipeline in {args.config}.')
    try:
        check_dataset_paths(cfg, ('test_dataloader', ))
        check_num_classes(cfg, ('test_dataloader', ))
        check_checkpoint_classes(cfg, safe_load(args.checkpoint, map_location='cpu'),
                                 args.checkpoint)
    except (DatasetNotPreparedError, NumClassesError, RuntimeError, UnsafeCheckpointError) as err:
        sys.exit(f'error: {err}')
    options += cpu_distributed_options(args.launcher)

    forward = [config, args.checkpoint, '--launcher', args.launcher,
               '--local_rank', str(args.local_rank), '--wait-time', str(args.wait_time)]
    for flag, value in (('--work-dir', args.work_dir), ('--out', args.out),
                        ('--show-dir', args.show_dir)):
        if value:
            forward += [flag, value]
    if args.show:
        forward.append('--show')
    if args.tta:
        forward.append('--tta')
    if options:
        forward += ['--cfg-options'] + options
    tool = mmseg_tool('test.py')
    sys.argv = [tool] + forward
    runpy.run_path(tool, run_name='__main__')
    shutdown_distributed()


if __name__ == '__main__':
    main()
