"""Train a segmentor with mmseg's own ``tools/train.py``, after mmseg-dilated's checks.

    mmseg-dilated train CONFIG [--work-dir DIR] [--resume] [--amp] [--check-data]
        [--gpus N [--scale-lr]] [--cfg-options k=v ...] [any other option of mmseg's tools/train.py]
    python tools/train.py CONFIG ...                  (in a checkout: the same)
    torchrun --nproc_per_node 4 -m mmseg_dilated.cli.train CONFIG --launcher pytorch

CONFIG is a file, or a shipped config by scope: ``mmseg_dilated::context_toy.py``. Only the options
our checks read are parsed here; every other one goes to mmseg's tool unchanged. Before handing
over it:

* fails at once, naming the missing paths and how to prepare them, when the config's dataset is not
  where the config says (instead of a stack trace from inside a data loader);
* stops when a head's ``num_classes`` is not the dataset's class count;
* refuses config keys that no part of the run reads and values of the wrong type, naming them
  (:mod:`mmseg_dilated.apis.config_check`);
* with ``--gpus N``, keeps the recipe's effective batch on N GPUs by gradient accumulation, the
  schedule counted in optimizer steps (or, with ``--scale-lr``, scales the learning rate with the
  batch), and says so first (:mod:`mmseg_dilated.apis.gpus`); without it, says when the run's batch
  is not the recipe's;
* with ``--check-data``, reads every train and val sample first and stops on broken ones;
* with ``--resume``, resumes from the newest *readable* checkpoint of the work dir, saying which
  newer ones it skipped and why;
* refuses ``--amp`` on a machine without a GPU, with the reason (mmengine's AMP wrapper is
  CUDA-only);
* makes ``--launcher pytorch`` work without GPUs (gloo, a CPU DDP wrapper that reverts SyncBN),
  with the process-group timeout of ``$MMSEG_DILATED_PG_TIMEOUT`` (seconds) where it is set;
* refuses to train into a work dir that a live training is using, naming its pid and host
  (:class:`~mmseg_dilated.engine.WorkDirLock`);
* after an elastic restart (torchrun ``--max-restarts``), resumes from the newest checkpoint of the
  work dir by itself.

Everything else, the Runner included, is mmseg's and mmengine's.
"""

import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    """(our options, the rest of the command line for mmseg's tool)."""
    parser = argparse.ArgumentParser(
        description='Train a segmentor', epilog="Other options go to mmseg's tools/train.py."
    )
    parser.add_argument('config', help='train config file path, or mmseg_dilated::NAME')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the newest readable checkpoint in the work dir',
    )
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic-mixed-precision training (needs a GPU)'
    )
    parser.add_argument(
        '--check-data',
        action='store_true',
        help='read every train and val sample first (mmseg-dilated check-dataset); stop on '
        'problems',
    )
    parser.add_argument(
        '--gpus',
        type=int,
        help="GPUs (processes) of this run: keep the recipe's effective batch by gradient "
        'accumulation, iteration counts scaled to keep its optimizer steps',
    )
    parser.add_argument(
        '--scale-lr',
        action='store_true',
        help='with --gpus: scale the learning rate linearly with the batch (mmengine '
        'auto_scale_lr) instead of accumulating',
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


def _work_dir(cfg, config, work_dir_arg):
    """The work dir as mmseg's tools/train.py chooses it."""
    return (
        work_dir_arg
        or cfg.get('work_dir')
        or osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    )


def _launcher_rank(launcher):
    """This process's global rank, from the environment its launcher sets."""
    variable = {'slurm': 'SLURM_PROCID', 'mpi': 'OMPI_COMM_WORLD_RANK'}.get(launcher, 'RANK')
    return int(os.environ.get(variable, '0')) if launcher != 'none' else 0


def _launcher_world_size(launcher):
    """The run's number of processes, from the environment its launcher sets."""
    variable = {'slurm': 'SLURM_NTASKS', 'mpi': 'OMPI_COMM_WORLD_SIZE'}.get(launcher, 'WORLD_SIZE')
    return int(os.environ.get(variable, '1')) if launcher != 'none' else 1


def _resume_options(cfg, config, work_dir_arg):
    """``--resume`` past unreadable checkpoints: the ``load_from=`` option naming the newest
    readable checkpoint of the work dir, after saying which newer ones were skipped and why; exits
    when the work dir has checkpoints and none is readable."""
    from mmseg_dilated.utils.checkpoint import find_resumable_checkpoint

    work_dir = _work_dir(cfg, config, work_dir_arg)
    chosen, problems = find_resumable_checkpoint(work_dir)
    report = '\n'.join(f'  {path}: {problem}' for path, problem in problems)
    if chosen is None:
        if problems:
            sys.exit(
                f'error: --resume found no readable checkpoint in {work_dir}:\n{report}\n'
                'Delete the broken files to start from scratch, or pass load_from=PATH in '
                '--cfg-options to resume from another checkpoint.'
            )
        print(f'--resume: no checkpoint in {work_dir} yet; training starts at iteration 0.')
        return []
    if problems:
        print(
            f'--resume: resuming from {chosen}, the newest readable checkpoint; skipped:\n{report}'
        )
    # named explicitly: without last_checkpoint, mmengine itself would start from scratch
    return [f'load_from={chosen}']


def main(argv=None):
    args, rest = parse_args(argv)
    import mmseg_dilated  # noqa: F401  (registers models; safe checkpoint loading)
    from mmseg_dilated.apis import (
        check_amp_available,
        check_dataset_paths,
        check_pretrained_paths,
        run_mmseg_tool,
    )
    from mmseg_dilated.apis.config_check import check_config
    from mmseg_dilated.apis.gpus import gpu_run_options
    from mmseg_dilated.apis.launch import distributed_options
    from mmseg_dilated.apis.num_classes import check_num_classes
    from mmseg_dilated.cli.errors import exit_on_error
    from mmseg_dilated.engine import WorkDirLock
    from mmseg_dilated.utils import load_config, resolve_config_path

    if args.amp:
        check_amp_available()
    options = list(args.cfg_options)
    with exit_on_error():
        config = resolve_config_path(args.config)
        cfg = load_config(config, options)
        check_config(cfg, options)
        gpu_options, gpu_lines = gpu_run_options(
            cfg, args.gpus, args.scale_lr, _launcher_world_size(args.launcher)
        )
        check_dataset_paths(cfg, ('train_dataloader', 'val_dataloader'))
        check_num_classes(cfg, ('train_dataloader', 'val_dataloader'))
        if not args.resume:
            check_pretrained_paths(cfg)
        dist_options = distributed_options(args.launcher, cfg)
    # one process reads the data; if it stops, torchrun stops the others
    if args.check_data and os.environ.get('RANK', '0') == '0':
        from mmseg_dilated.cli.check_dataset import run_check

        if not run_check(cfg, ('train', 'val')):
            sys.exit(
                'error: --check-data found problems in the data (listed above); fix them, '
                'or train without --check-data.'
            )
    # one training per work dir: global rank 0 takes the lock (after the checks, so a refused run
    # leaves no work dir behind) before any process group starts, and holds it until this
    # process ends, however it ends
    if _launcher_rank(args.launcher) == 0:
        with exit_on_error():
            WorkDirLock(_work_dir(cfg, config, args.work_dir)).acquire()
    restart = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))
    if restart:
        # torchrun restarted the workers after a failure: continue from the last checkpoint,
        # whatever the first attempt started from
        print(f'Elastic restart {restart}: resuming from the newest checkpoint of the work dir.')
        resumed = _resume_options(cfg, config, args.work_dir)
        options += resumed
        args.resume = args.resume or bool(resumed)
    elif args.resume and not cfg.get('load_from'):
        options += _resume_options(cfg, config, args.work_dir)
    options += dist_options + gpu_options
    if _launcher_rank(args.launcher) == 0:
        for line in gpu_lines:
            print(f'mmseg-dilated train: {line}')

    forward = [config, '--launcher', args.launcher, *rest]
    if args.work_dir:
        forward += ['--work-dir', args.work_dir]
    if args.resume:
        forward.append('--resume')
    if args.amp:
        forward.append('--amp')
    if options:
        forward += ['--cfg-options', *options]
    run_mmseg_tool('train.py', forward)


if __name__ == '__main__':
    main()
