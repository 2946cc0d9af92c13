"""The steps of ``tools/gpu_acceptance.sh``: environment, dry runs, inference paths, the table.

    python -m mmseg_dilated.cli.gpu_acceptance env OUT_DIR [--cpu]
    python -m mmseg_dilated.cli.gpu_acceptance dry-runs OUT_DIR [--cpu] [--iters K] [--warmup W]
        [--configs NAME ...]
    python -m mmseg_dilated.cli.gpu_acceptance inference OUT_DIR [--cpu] [--size S] [--repeats R]
    python -m mmseg_dilated.cli.gpu_acceptance table OUT_DIR --command TEXT

Each step writes ``OUT_DIR/<step>.json``; ``table`` reads them and writes
``OUT_DIR/gpu_acceptance.md``. ``--cpu`` runs a step on the CPU on tiny inputs (what the test
suite runs); without it the step needs CUDA. What each step measures:
``mmseg_dilated/analysis/acceptance.py``.
"""

import argparse
import json
import os
import os.path as osp
import sys

# Tiny inputs of the CPU mode: the tests' tiny config (a checkout's), 64x64 inference, two models.
_TINY_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'tests', 'data', 'context_tiny.py')
_TINY_MODELS = ('drn-d-22-context', 'drn-d-38-aspp')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='One step of tools/gpu_acceptance.sh')
    p.add_argument('step', choices=['env', 'dry-runs', 'inference', 'table'])
    p.add_argument('out', help='folder of the step results and the table')
    p.add_argument('--cpu', action='store_true', help='on the CPU, on tiny inputs')
    p.add_argument('--iters', type=int, default=3, help='dry runs: measured iterations (3)')
    p.add_argument('--warmup', type=int, default=1, help='dry runs: warm-up iterations (1)')
    p.add_argument('--configs', nargs='+', help='dry runs: these configs instead')
    p.add_argument('--size', type=int, default=512, help='inference: input side (512)')
    p.add_argument('--repeats', type=int, default=20, help='inference: timed calls (20)')
    p.add_argument(
        '--budget',
        type=float,
        help='dry runs / inference: start nothing new after this many seconds '
        '(default: 420 and 120 on CUDA, none on CPU), so that the run ends within 10 minutes',
    )
    p.add_argument('--command', default='tools/gpu_acceptance.sh', help='table: the command')
    return p.parse_args(argv)


def _device(args) -> str:
    import torch

    if args.cpu:
        return 'cpu'
    if not torch.cuda.is_available():
        sys.exit(
            f'error: the acceptance run needs CUDA and torch {torch.__version__} sees no GPU '
            f'(torch.version.cuda: {torch.version.cuda}). Install a CUDA build of torch, or run '
            'the CPU mode: tools/gpu_acceptance.sh --cpu'
        )
    return 'cuda'


def _say(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    import mmseg_dilated  # noqa: F401  (registers the components)
    from mmseg_dilated.analysis import acceptance

    result = None
    if args.step == 'env':
        result = acceptance.environment(_device(args))
        print('\n'.join(f'{k}: {v}' for k, v in result.items()))
        if not result['mmcv_ops_ok']:
            sys.exit(f'error: {result["mmcv_ops"]}: reinstall mmcv built for this torch and CUDA')
    elif args.step == 'dry-runs':
        device = _device(args)
        configs = args.configs or (
            [osp.abspath(_TINY_CONFIG)] if device == 'cpu' else acceptance.gpu_configs()
        )
        budget = args.budget if args.budget is not None else (420 if device == 'cuda' else None)
        result = acceptance.dry_runs(
            configs, device, args.iters, args.warmup, budget_s=budget, say=_say
        )
        for row in result:
            state = (
                row.get('skipped')
                or row.get('error')
                or ('fits' if row['report']['verdict']['fits'] else 'does not fit')
            )
            print(f'{row["config"]}{" --amp" if row["amp"] else ""}: {state}')
    elif args.step == 'inference':
        device = _device(args)
        size, repeats, models = (
            (64, 2, _TINY_MODELS) if device == 'cpu' else (args.size, args.repeats, None)
        )
        budget = args.budget if args.budget is not None else (120 if device == 'cuda' else None)
        result = acceptance.inference_paths(device, size, repeats, models, budget, say=_say)
    else:
        steps = {}
        for step in ('env', 'dry-runs', 'inference'):
            with open(osp.join(args.out, f'{step}.json')) as f:
                steps[step] = json.load(f)
        text = acceptance.markdown(
            steps['env'], steps['dry-runs'], steps['inference'], args.command
        )
        with open(osp.join(args.out, 'gpu_acceptance.md'), 'w') as f:
            f.write(text)
        print(text)
        return
    with open(osp.join(args.out, f'{args.step}.json'), 'w') as f:
        json.dump(result, f, indent=2, default=str)


if __name__ == '__main__':
    main()
