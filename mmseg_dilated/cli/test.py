"""Test (and evaluate) a segmentor with mmseg's own ``tools/test.py``, after mmseg-dilated's checks.

    mmseg-dilated test CONFIG CHECKPOINT [--tta] [--infer-path {eager,fused,bf16,compile}]
        [--cfg-options k=v ...]
        [any other option of mmseg's tools/test.py: --show-dir DIR, --out DIR, --work-dir DIR ...]
    python tools/test.py CONFIG CHECKPOINT ...       (in a checkout: the same)

CONFIG is a file, or a shipped config by scope: ``mmseg_dilated::context_toy.py``. Only the options
our checks read are parsed here; every other one goes to mmseg's tool unchanged. Before handing over
it checks that every config key is read by some part of the run and of the right type
(:mod:`mmseg_dilated.apis.config_check`), that the checkpoint and the test data exist, that the
heads' ``num_classes`` match the dataset and the checkpoint's classifiers, and makes ``--launcher
pytorch`` work without GPUs.
``--infer-path`` runs the test loop on one of ``mmseg_dilated.deploy.INFERENCE_PATHS`` (BN folded
and channels_last; + bf16 autocast; + torch.compile), applied by ``InferencePathHook`` once the
checkpoint has loaded. Checkpoints load on torch's weights-only unpickler
(``mmseg_dilated.utils.checkpoint``): a file holding arbitrary pickled objects is refused.
"""

import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    """(our options, the rest of the command line for mmseg's tool)."""
    from mmseg_dilated.deploy.inference_paths import INFERENCE_PATHS

    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model',
        epilog="Other options (--out, --show-dir, --work-dir, ...) go to mmseg's tools/test.py.",
    )
    parser.add_argument('config', help='test config file path, or mmseg_dilated::NAME')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--infer-path',
        choices=INFERENCE_PATHS,
        default='eager',
        help='eager (as mmseg runs it), fused (BN folded, channels_last), bf16 '
        '(fused + autocast: CPU bf16 or CUDA AMP), compile (fused + torch.compile)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='override settings in the config, as key=value pairs (mmengine DictAction syntax)',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    return parser.parse_known_args(argv)


def main(argv=None):
    args, rest = parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers models; safe checkpoint loading)
    from mmseg_dilated.apis import (
        check_dataset_paths,
        run_mmseg_tool,
    )
    from mmseg_dilated.apis.config_check import check_config
    from mmseg_dilated.apis.launch import distributed_options
    from mmseg_dilated.apis.num_classes import check_checkpoint_classes, check_num_classes
    from mmseg_dilated.cli.errors import exit_on_error
    from mmseg_dilated.utils import load_config, resolve_config_path, safe_load

    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist.')
    options = list(args.cfg_options)
    with exit_on_error():
        config = resolve_config_path(args.config)
        cfg = load_config(config, options)
        check_config(cfg, options)
        if args.tta and not (cfg.get('tta_model') and cfg.get('tta_pipeline')):
            sys.exit(f'error: --tta needs tta_model and tta_pipeline in {args.config}.')
        check_dataset_paths(cfg, ('test_dataloader',))
        check_num_classes(cfg, ('test_dataloader',))
        check_checkpoint_classes(
            cfg, safe_load(args.checkpoint, map_location='cpu'), args.checkpoint
        )
    options += distributed_options(args.launcher, cfg)
    if args.infer_path != 'eager':
        options += [
            'default_hooks.inference_path.type=InferencePathHook',
            f'default_hooks.inference_path.path={args.infer_path}',
        ]

    forward = [config, args.checkpoint, '--launcher', args.launcher, *rest]
    if args.tta:
        forward.append('--tta')
    if options:
        forward += ['--cfg-options', *options]
    run_mmseg_tool('test.py', forward)


if __name__ == '__main__':
    main()
