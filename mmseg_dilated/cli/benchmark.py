"""CPU benchmark of the shipped models: parameters, GFLOPs, latency on every inference path, FLOP
rate, and peak training memory without and with ``with_cp``; or how cost grows with the image.

    mmseg-dilated benchmark [--models NAME ...] [--config PATH ...] [--paths PATH ...]
        [--size 512] [--repeats 5] [--warmup 1] [--no-memory] [--json OUT] [--markdown]
    mmseg-dilated benchmark --check ...           (also judge the targets; exit 1 on a FAIL)
    mmseg-dilated benchmark --profile NAME[:PATH] (where the time of one model path goes)
    mmseg-dilated benchmark --scaling [--plot scaling.png]

What is measured and how is in ``mmseg_dilated/analysis/benchmark.py`` (speed, paths, targets),
``memory.py`` (resident-set peak in a fresh process), ``timing.py`` (round-robin timing) and
``scaling.py`` (latency and memory against image size, whole-image and sliding-window).
"""

import argparse
import json
import sys
import time

from prettytable import PrettyTable, TableStyle

SPEED_HEADERS = (
    'Model',
    'Params (M)',
    'GFLOPs*',
    'Latency (ms)',
    'vs DeepLabV3 R-50-D8 (x)',
    'GFLOP/s',
    'FLOP-rate fraction',
)
MEMORY_HEADERS = (
    'Model',
    'Peak train (MiB)',
    'with_cp (MiB)',
    'Reduction',
    'Bound**',
    'Static (MiB)',
    'Step +RSS (MiB)',
    'with_cp step +RSS',
    'Checkpointed calls',
    'with_cp on',
)
PATH_HEADERS = (
    'Model',
    'Path',
    'Latency (ms)',
    'Speed-up (x)',
    'FLOP-rate fraction',
    'Difference',
    'Argmax agreement',
)
METRIC_TEXT = dict(
    speedup='speed-up over eager',
    flop_rate_fraction='FLOP rate / matmul rate',
    best_fp32_flop_rate='FLOP rate / matmul rate on its fastest fp32 path',
    with_cp_memory_reduction='with_cp saves peak training memory',
)


def table(headers, rows, markdown=False) -> str:
    t = PrettyTable(headers, align='l')
    t.add_rows([list(map(str, row)) for row in rows])
    if markdown:
        t.set_style(TableStyle.MARKDOWN)
    return t.get_string()


def speed_rows(models):
    return [
        (
            m['label'],
            f'{m["params"] / 1e6:.2f}',
            f'{m["gflops"]:.1f}',
            f'{m["latency_ms"]:.1f}',
            '-' if m['vs_reference'] is None else f'{m["vs_reference"]:.2f}',
            f'{m["achieved_gflops_per_s"]:.1f}',
            f'{m["flop_rate_fraction"]:.1%}',
        )
        for m in models
    ]


def path_rows(models, paths):
    return [
        (
            m['label'],
            p,
            f'{r["latency_ms"]:.1f}',
            f'{r["speedup"]:.2f}',
            f'{r["flop_rate_fraction"]:.1%}',
            f'{r["relative_diff"]:.1e}',
            '-' if r['argmax_agreement'] is None else f'{r["argmax_agreement"]:.2%}',
        )
        for m in models
        for p, r in m['paths'].items()
    ]


def memory_rows(memory):
    return [
        (
            m['label'],
            f'{m["without_cp"]["peak_mib"]:.0f}',
            f'{m["with_cp"]["peak_mib"]:.0f}',
            f'{m["reduction"]:.1%}',
            f'{m["reduction_bound"]:.1%}',
            f'{m["without_cp"]["static_mib"]:.0f}',
            f'{m["without_cp"]["step_increase_mib"]:.0f}',
            f'{m["with_cp"]["step_increase_mib"]:.0f}',
            m['with_cp']['checkpoint_calls'],
            ', '.join(m['with_cp']['with_cp_components']) or 'none',
        )
        for m in memory
    ]


def breakdown_line(label, record):
    tp = record['tensor_peak']
    parts = [f'gradients {tp["gradient_mib"]:.0f} MiB ({tp["gradient_tensors"]} tensors)']
    parts += [
        f'{t["mib"]:.0f} MiB {"x".join(map(str, t["shape"]))} {t["dtype"]} ({t["op"]})'
        for t in tp['largest']
    ]
    if tp['rest_tensors']:
        parts.append(f'{tp["rest_tensors"]} more {tp["rest_mib"]:.0f} MiB')
    state = 'with_cp' if record['with_cp'] else 'without with_cp'
    return f'- {label}, {state}: {tp["peak_mib"]:.0f} MiB in {tp["peak_op"]}: ' + '; '.join(parts)


def target_line(v) -> str:
    value = (
        '-'
        if v['value'] is None
        else (f'{v["value"]:.2f}x' if v['metric'] == 'speedup' else f'{v["value"]:.1%}')
    )
    path = f' [{v["path"]}]' if v['path'] else ''
    bound = ('(target >= {:.2f}x)' if v['metric'] == 'speedup' else '(target >= {:.0%})').format(
        v['threshold']
    )
    if v['status'] == 'INFO':
        bound = f'(bound {v["bound"]:.1%}; no target for this model)'
    elif v['status'] == 'N/A':
        bound += ': not judged, this CPU lacks the instructions the path needs'
    return f'[{v["status"]}] {v["model"]}: {METRIC_TEXT[v["metric"]]}{path} = {value} {bound}'


def report(res, markdown=False):
    s, mm = res['settings'], res['matmul']
    print(
        f'torch {s["torch"]}, {s["threads"]} threads; input 1x3x{s["size"]}x{s["size"]}'
        f'{" (backbone only)" if s["backbone_only"] else ""}; latency: median of '
        f'{s["repeats"]} round-robin rounds after {s["warmup"]} warm-up; eager channels_last='
        f'{s["channels_last"]}'
    )
    rounds = mm['seconds_rounds']
    print(
        f'fp32 matmul {mm["n"]}x{mm["n"]}: {mm["seconds"] * 1e3:.1f} ms, '
        f'{mm["gflops_per_s"]:.1f} GFLOP/s (2*n^3/t; median of {len(rounds)} rounds, '
        f'{min(rounds) * 1e3:.1f}-{max(rounds) * 1e3:.1f} ms)'
    )
    if max(rounds) / min(rounds) > 1.1:
        print(
            f'WARNING: the matmul rounds differ by {max(rounds) / min(rounds) - 1:.0%}: the '
            "machine's speed changed during the run. Ratios are taken round by round and "
            'follow the drift; absolute latencies do not'
        )
    print(
        'CPU: '
        + '; '.join(
            f'{f["path"]} needs {" or ".join(f["needs"])}: '
            f'{"has " + ", ".join(f["present"]) if f["present"] else "NONE (" + f["without"] + ")"}'
            for f in res['cpu']
        )
    )
    print('\n' + table(SPEED_HEADERS, speed_rows(res['models']), markdown))
    print(
        '* GFLOPs as mmengine counts them: one multiply-add = one flop (i.e. GMACs). GFLOP/s = 2 '
        f'* GMACs / latency; FLOP-rate fraction = that / the matmul GFLOP/s, and vs DeepLabV3 = '
        'latency / its latency, each a median of per-round ratios. Path: eager, else '
        f'{s["paths"][0]}.'
    )
    if len(s['paths']) > 1:
        print('\n' + table(PATH_HEADERS, path_rows(res['models'], s['paths']), markdown))
        print(
            'Speed-up over eager and FLOP-rate fraction: medians of per-round ratios. '
            'Difference: largest logit difference from eager / its largest logit. '
            'int8 is calibrated on random inputs (the weights are random too).'
        )
    if res['memory']:
        print(
            f'\nPeak training memory: one SGD step, batch {s["memory_batch"]}, {s["size"]}x'
            f'{s["size"]}, fresh process per measurement.'
        )
        print(table(MEMORY_HEADERS, memory_rows(res['memory']), markdown))
        print(
            'Peak = static (params, buffers, SGD momentum, batch: exact bytes) + step +RSS '
            '(resident-memory high-water increase during the step; method: '
            f'{res["memory"][0]["with_cp"]["method"]}). Training runs in NCHW, eager.'
        )
        print(
            '** Bound: the largest reduction any checkpointing could give, 1 - (static + '
            'gradients of all trainable parameters) / peak without with_cp.'
        )
        lines = [
            breakdown_line(m['label'], r)
            for m in res['memory']
            for r in (m['without_cp'], m['with_cp'])
            if r.get('tensor_peak')
        ]
        if lines:
            print(
                '\nTensors alive at the peak of the step (--memory-breakdown: those the step '
                'created, exact bytes; oneDNN scratch and allocator slack are not seen):'
            )
            print('\n'.join(lines))


def run_profile(args):
    """``--profile NAME[:PATH]``: the ops that take one model path's time (torch.profiler)."""
    import torch

    from mmseg_dilated.analysis import benchmark as bench
    from mmseg_dilated.analysis.timing import profile_ops

    spec, _, path = args.profile.partition(':')
    path = path or 'eager'
    if path not in ('eager', 'fused', 'bf16', 'compile'):
        sys.exit(
            f'--profile times a PyTorch path; got {path!r}, valid: eager, fused, bf16, compile'
        )
    x = torch.randn(1, 3, args.size, args.size)
    fn = bench.prepare_paths(
        bench.build_model(spec), x, [path], '', args.backbone_only, args.channels_last
    )[path]
    text, rows = profile_ops(fn, runs=max(args.repeats, 1))
    print(
        f'{bench.model_label(spec)}, {path}, 1x3x{args.size}x{args.size}, '
        f'{torch.get_num_threads()} threads: self CPU time by op'
    )
    print(
        table(
            ('Op', 'Self CPU (ms per run)', 'Share'),
            [(name, f'{sec * 1e3:.1f}', f'{share:.1%}') for name, sec, share in rows],
            args.markdown,
        )
    )
    print('\n' + text)


def run_scaling(args, say):
    """``--scaling``: latency and peak inference memory against image size (scaling.py)."""
    from mmseg_dilated.analysis import benchmark as bench
    from mmseg_dilated.analysis import scaling

    sizes = (
        [tuple(int(v) for v in s.lower().split('x')) for s in args.scaling_sizes]
        if args.scaling_sizes
        else scaling.SCALING_SIZES
    )
    results = []
    for spec in args.scaling_models or scaling.SCALING_MODELS:
        say(f'scaling study of {bench.model_label(spec)} ...')
        rows = scaling.run_scaling_worker(
            bench.config_of(spec), sizes, repeats=args.scaling_repeats, threads=args.threads or None
        )
        results.append(dict(name=spec, label=bench.model_label(spec), rows=rows))
    body = [
        (
            r['label'],
            f'{row["height"]}x{row["width"]}',
            row['mode'],
            row['crops'] if row['mode'] == 'slide' else '-',
            f'{row["latency_ms"]:.0f}',
            f'{row["ms_per_mpix"]:.0f}',
            f'{row["peak_rss_mib"]:.0f}',
            f'{row["tensor_peak_mib"]:.0f}',
        )
        for r in results
        for row in r['rows']
    ]
    print(
        table(
            (
                'Model',
                'Image',
                'Mode',
                'Crops',
                'Latency (ms)',
                'ms / MP',
                'Peak +RSS (MiB)',
                'Tensor peak (MiB)',
            ),
            body,
            args.markdown,
        )
    )
    slide = '; '.join(
        f'{r["label"]}: crop {r["rows"][0]["crop_size"]}, stride {r["rows"][0]["stride"]}'
        for r in results
    )
    print(
        f'Eager, batch 1, median of {args.scaling_repeats} after a warm-up. Slide ({slide}) '
        'from the configs (scaling.py). Peak +RSS: resident-set increase during one inference '
        '(beyond weights); tensor peak: live tensors it created (activations, logits), what a '
        'GPU would hold beyond weights.'
    )
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
        help='judge the targets (TARGETS in mmseg_dilated/analysis/benchmark.py): '
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
    p.add_argument('--markdown', action='store_true', help='print Markdown tables')
    return p.parse_args(argv)


def main(argv=None):
    import torch

    from mmseg_dilated.analysis import benchmark as bench

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
    matmul, models = bench.benchmark_speed(
        specs,
        args.paths,
        args.size,
        args.repeats,
        args.warmup,
        args.matmul_size,
        args.matmul_repeats,
        args.backbone_only,
        args.channels_last,
        progress=say,
    )
    memory = (
        []
        if args.no_memory
        else bench.benchmark_memory(
            specs if args.memory_models is None else args.memory_models,
            args.size,
            args.memory_batch,
            args.memory_breakdown,
            args.threads or None,
            progress=say,
        )
    )
    from mmseg_dilated.deploy.inference_paths import cpu_flags

    flags = cpu_flags()
    res = dict(
        settings=dict(
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            size=args.size,
            repeats=args.repeats,
            warmup=args.warmup,
            paths=args.paths,
            backbone_only=args.backbone_only,
            channels_last=args.channels_last,
            memory_batch=args.memory_batch,
            flop_convention='mmengine: 1 multiply-add = 1 flop (GMACs)',
        ),
        cpu=bench.path_features(flags),
        matmul=matmul,
        models=models,
        memory=memory,
    )
    report(res, args.markdown)
    failed = False
    if args.check:
        res['targets'] = bench.check_targets(res, flags)
        print('\nTargets (--check):')
        for v in res['targets']:
            print(target_line(v))
        failed = any(v['status'] == 'FAIL' for v in res['targets'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    print(f'\nelapsed: {time.perf_counter() - start:.0f} s')
    if failed:
        sys.exit(1)  # the command dispatcher does not pass a return value on
    return 0


if __name__ == '__main__':
    sys.exit(main())
