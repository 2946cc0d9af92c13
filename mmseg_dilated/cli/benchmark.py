"""CPU benchmark of the shipped models: parameters, GFLOPs, latency on every inference path, FLOP
rate, and peak training memory without and with ``with_cp``; or how cost grows with the image.

    mmseg-dilated benchmark [--models NAME ...] [--config PATH ...] [--paths PATH ...]
        [--size 512] [--repeats 5] [--warmup 1] [--no-memory] [--json OUT] [--markdown [FILE]]
    mmseg-dilated benchmark --check ...           (also judge the targets; exit 1 on a FAIL)
    mmseg-dilated benchmark --profile NAME[:PATH] (where the time of one model path goes)
    mmseg-dilated benchmark --scaling [--plot scaling.png]

What is measured and how is in ``mmseg_dilated.analysis.benchmark`` (models, paths, runs,
targets, the tables), ``analysis.memory`` (resident-set peak in a fresh process),
``analysis.timing`` (round-robin timing) and ``analysis.scaling`` (latency and memory against
image size, whole-image and sliding-window).
"""

import argparse
import json
import shlex
import sys
import time


def _write(args, text: str, title: str, flags=None) -> None:
    """Print ``text``; with ``--markdown FILE`` also write it there as a docs page."""
    print(text)
    if args.markdown and args.markdown != '-':
        from mmseg_dilated.analysis.benchmark.report import markdown_page
        from mmseg_dilated.deploy.inference_paths import cpu_flags

        command = 'mmseg-dilated benchmark ' + shlex.join(args.argv)  # as a shell reads it
        with open(args.markdown, 'w') as f:
            f.write(markdown_page(title, command, text, flags or cpu_flags()))
        print(f'wrote {args.markdown}')


def run_profile(args):
    """``--profile NAME[:PATH]``: the ops that take one model path's time (torch.profiler)."""
    import torch

    from mmseg_dilated.analysis import benchmark as bench
    from mmseg_dilated.analysis.benchmark.report import format_profile
    from mmseg_dilated.analysis.timing import profile_ops
    from mmseg_dilated.deploy.inference_paths import INFERENCE_PATHS

    spec, _, path = args.profile.partition(':')
    path = path or 'eager'
    if path not in INFERENCE_PATHS:
        sys.exit(
            f'--profile times a PyTorch path; got {path!r}, valid: {", ".join(INFERENCE_PATHS)}'
        )
    x = torch.randn(1, 3, args.size, args.size)
    fn = bench.prepare_paths(
        bench.build_model(spec), x, [path], '', args.backbone_only, args.channels_last
    )[path]
    text, rows = profile_ops(fn, runs=max(args.repeats, 1))
    label = bench.model_label(spec)
    threads = torch.get_num_threads()
    print(format_profile(label, path, args.size, threads, rows, bool(args.markdown)))
    print('\n' + text)


def run_scaling(args, say):
    """``--scaling``: latency and peak inference memory against image size (scaling.py)."""
    from mmseg_dilated.analysis import benchmark as bench
    from mmseg_dilated.analysis import scaling
    from mmseg_dilated.analysis.benchmark.report import format_scaling

    sizes = (
        [tuple(int(v) for v in s.lower().split('x')) for s in args.scaling_sizes]
        if args.scaling_sizes
        else scaling.SCALING_SIZES
    )
    results = scaling.scaling_study(
        args.scaling_models or bench.TARGET_MODELS,
        sizes,
        args.scaling_repeats,
        args.threads or None,
        progress=say,
    )
    text = format_scaling(results, args.scaling_repeats, bool(args.markdown))
    _write(args, text, args.title or 'Cost against image size')
    if args.plot:
        print(f'plot: {scaling.plot_scaling(results, args.plot)}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


def parse_args(argv=None):
    from mmseg_dilated.analysis.benchmark import ALL_PATHS, MODEL_SPECS, PATHS, REFERENCE

    p = argparse.ArgumentParser(
        description='CPU benchmark: params, GFLOPs, latency per inference path, FLOP rate, peak '
        'training memory with and without with_cp; --scaling: cost against image size'
    )
    p.add_argument(
        '--models',
        nargs='+',
        help=f'named models (default: all but drn-d-22-context-ms): {", ".join(MODEL_SPECS)}',
    )
    p.add_argument(
        '--config',
        action='append',
        default=[],
        help='also benchmark the model of this config file (repeatable)',
    )
    p.add_argument(
        '--paths',
        nargs='+',
        default=list(PATHS),
        choices=ALL_PATHS,
        help=f'inference paths; speed-ups are over eager (default: {" ".join(PATHS)})',
    )
    p.add_argument('--size', type=int, default=512, help='input side. Default: 512')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=0, help='torch threads (default: as torch)')
    p.add_argument('--matmul-size', type=int, default=2048)
    p.add_argument('--matmul-repeats', type=int, default=10)
    p.add_argument('--no-reference', action='store_true', help=f'do not add {REFERENCE}')
    p.add_argument('--backbone-only', action='store_true', help='time extract_feat alone')
    p.add_argument(
        '--channels-last',
        action='store_true',
        help='eager in NHWC too (the default before the paths existed)',
    )
    p.add_argument(
        '--memory-models',
        nargs='*',
        help='models whose training memory is '
        'measured (default: all benchmarked ones; give none to skip)',
    )
    p.add_argument('--no-memory', action='store_true')
    p.add_argument('--memory-batch', type=int, default=2)
    p.add_argument(
        '--memory-breakdown',
        action='store_true',
        help="also print the training step's tensors alive at their peak",
    )
    p.add_argument(
        '--check',
        action='store_true',
        help='judge the targets (TARGETS in mmseg_dilated.analysis.benchmark.targets): '
        'PASS/FAIL per target, exit status 1 on a FAIL',
    )
    p.add_argument(
        '--profile',
        metavar='NAME[:PATH]',
        help='profile one model on one path (default eager) with torch.profiler and '
        'print the ops that take the time, instead of the benchmark',
    )
    p.add_argument('--scaling', action='store_true', help='the scaling study instead')
    p.add_argument(
        '--scaling-models',
        nargs='+',
        default=None,
        help='models of the scaling study (default: drn-d-22-context drn-d-38-aspp)',
    )
    p.add_argument(
        '--scaling-sizes',
        nargs='+',
        default=None,
        metavar='HxW',
        help='image sizes of the scaling study (default: 256x256 512x512 1024x1024 1024x2048)',
    )
    p.add_argument(
        '--scaling-repeats',
        type=int,
        default=3,
        help='scaling study: timed calls per size and mode (median). Default: 3',
    )
    p.add_argument('--plot', help='scaling study: also draw it to this PNG')
    p.add_argument('--json', help='write the numbers to this file')
    p.add_argument(
        '--markdown',
        nargs='?',
        const='-',
        metavar='FILE',
        help='Markdown tables: printed, or with FILE also written there as a docs page headed by '
        "the command, the date, the CPU's flags and the code's commit",
    )
    p.add_argument('--title', help="--markdown FILE: the page's title")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv=None):
    import torch

    from mmseg_dilated.analysis import benchmark as bench
    from mmseg_dilated.analysis.benchmark.report import format_report, format_targets

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()

    def say(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.scaling or args.profile:
        run_scaling(args, say) if args.scaling else run_profile(args)
        print(f'\nelapsed: {time.perf_counter() - start:.0f} s')
        return 0
    specs = list(args.models or ([] if args.config else list(bench.DEFAULT_MODELS)))
    for spec in specs:
        if spec not in bench.MODEL_SPECS:
            sys.exit(f'unknown model {spec!r}; choose from {", ".join(bench.MODEL_SPECS)}')
    specs += args.config
    if not args.no_reference and bench.REFERENCE not in specs:
        specs.append(bench.REFERENCE)
    res = bench.run_benchmark(
        specs,
        args.paths,
        args.size,
        args.repeats,
        args.warmup,
        args.matmul_size,
        args.matmul_repeats,
        args.backbone_only,
        args.channels_last,
        memory_specs=[] if args.no_memory else args.memory_models,
        memory_batch=args.memory_batch,
        memory_breakdown=args.memory_breakdown,
        threads=args.threads or None,
        check=args.check,
        progress=say,
    )
    text = format_report(res, bool(args.markdown))
    if args.check:
        text += '\n\n' + format_targets(res['targets'], bool(args.markdown))
    failed = any(v['status'] == 'FAIL' for v in res.get('targets', ()))
    _write(args, text, args.title or 'CPU benchmark', res['cpu_flags'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    print(f'\nelapsed: {time.perf_counter() - start:.0f} s')
    if failed:
        sys.exit(1)  # the command dispatcher does not pass a return value on
    return 0


if __name__ == '__main__':
    sys.exit(main())
