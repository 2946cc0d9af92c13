"""The benchmark's tables, as text or Markdown: what ``mmseg-dilated benchmark`` prints and
what ``--markdown FILE`` writes, from the results the runs return (the JSON of ``--json``)."""

import datetime
import platform
import subprocess
from typing import Optional, Sequence

from prettytable import PrettyTable, TableStyle

__all__ = [
    'table',
    'format_report',
    'format_targets',
    'format_scaling',
    'format_profile',
    'markdown_page',
]

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


def format_report(res: dict, markdown: bool = False) -> str:
    """The tables and notes of a benchmark run (what ``mmseg-dilated benchmark`` prints)."""
    out = []
    s, mm = res['settings'], res['matmul']
    out.append(
        f'torch {s["torch"]}, {s["threads"]} threads; input 1x3x{s["size"]}x{s["size"]}'
        f'{" (backbone only)" if s["backbone_only"] else ""}; latency: median of '
        f'{s["repeats"]} round-robin rounds after {s["warmup"]} warm-up; eager channels_last='
        f'{s["channels_last"]}'
    )
    rounds = mm['seconds_rounds']
    out.append(
        f'fp32 matmul {mm["n"]}x{mm["n"]}: {mm["seconds"] * 1e3:.1f} ms, '
        f'{mm["gflops_per_s"]:.1f} GFLOP/s (2*n^3/t; median of {len(rounds)} rounds, '
        f'{min(rounds) * 1e3:.1f}-{max(rounds) * 1e3:.1f} ms)'
    )
    if max(rounds) / min(rounds) > 1.1:
        out.append(
            f'WARNING: the matmul rounds differ by {max(rounds) / min(rounds) - 1:.0%}: the '
            "machine's speed changed during the run. Ratios are taken round by round and "
            'follow the drift; absolute latencies do not'
        )
    out.append(
        'CPU: '
        + '; '.join(
            f'{f["path"]} needs {" or ".join(f["needs"])}: '
            f'{"has " + ", ".join(f["present"]) if f["present"] else "NONE (" + f["without"] + ")"}'
            for f in res['cpu']
        )
    )
    out.append('\n' + table(SPEED_HEADERS, speed_rows(res['models']), markdown))
    out.append(
        '* GFLOPs as mmengine counts them: one multiply-add = one flop (i.e. GMACs). GFLOP/s = 2 '
        f'* GMACs / latency; FLOP-rate fraction = that / the matmul GFLOP/s, and vs DeepLabV3 = '
        'latency / its latency, each a median of per-round ratios. Path: eager, else '
        f'{s["paths"][0]}.'
    )
    if len(s['paths']) > 1:
        out.append('\n' + table(PATH_HEADERS, path_rows(res['models'], s['paths']), markdown))
        out.append(
            'Speed-up over eager and FLOP-rate fraction: medians of per-round ratios. '
            'Difference: largest logit difference from eager / its largest logit. '
            'int8 is calibrated on random inputs (the weights are random too).'
        )
    if res['memory']:
        out.append(
            f'\nPeak training memory: one SGD step, batch {s["memory_batch"]}, {s["size"]}x'
            f'{s["size"]}, fresh process per measurement.'
        )
        out.append(table(MEMORY_HEADERS, memory_rows(res['memory']), markdown))
        out.append(
            'Peak = static (params, buffers, SGD momentum, batch: exact bytes) + step +RSS '
            '(resident-memory high-water increase during the step; method: '
            f'{res["memory"][0]["with_cp"]["method"]}). Training runs in NCHW, eager.'
        )
        out.append(
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
            out.append(
                '\nTensors alive at the peak of the step (--memory-breakdown: those the step '
                'created, exact bytes; oneDNN scratch and allocator slack are not seen):'
            )
            out.append('\n'.join(lines))
    return ('\n\n' if markdown else '\n').join(out)


def format_targets(verdicts: Sequence[dict], markdown: bool = False) -> str:
    """One line per target verdict of :func:`~mmseg_dilated.analysis.benchmark.check_targets`
    (in a Markdown page, as a text block under a heading line)."""
    lines = [target_line(v) for v in verdicts]
    if markdown:
        return '\n'.join(['Targets (`--check`):', '', '```text', *lines, '```'])
    return '\n'.join(['Targets (--check):'] + lines)


SCALING_HEADERS = (
    'Model',
    'Image',
    'Mode',
    'Crops',
    'Latency (ms)',
    'ms / MP',
    'Peak +RSS (MiB)',
    'Tensor peak (MiB)',
)


def format_scaling(results: Sequence[dict], repeats: int, markdown: bool = False) -> str:
    """The scaling study's table and its notes."""
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
    slide = '; '.join(
        f'{r["label"]}: crop {r["rows"][0]["crop_size"]}, stride {r["rows"][0]["stride"]}'
        for r in results
    )
    return (
        table(SCALING_HEADERS, body, markdown)
        + ('\n\n' if markdown else '\n')  # Markdown: a paragraph of its own, not a table row
        + f'Eager, batch 1, median of {repeats} after a warm-up. Slide ({slide}) from the '
        'configs. Peak +RSS: resident-set increase during one inference (beyond weights); tensor '
        'peak: live tensors it created (activations, logits), what a GPU would hold beyond weights.'
    )


def format_profile(
    label: str, path: str, size: int, threads: int, rows, markdown: bool = False
) -> str:
    """``--profile``'s table: self CPU time by op of one model path."""
    return f'{label}, {path}, 1x3x{size}x{size}, {threads} threads: self CPU time by op\n' + table(
        ('Op', 'Self CPU (ms per run)', 'Share'),
        [(name, f'{sec * 1e3:.1f}', f'{share:.1%}') for name, sec, share in rows],
        markdown,
    )


def _commit() -> str:
    import os.path as osp

    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    try:
        out = subprocess.run(
            ['git', '-C', root, 'rev-parse', '--short', 'HEAD'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ['git', '-C', root, 'status', '--porcelain', '--untracked-files=no'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown (not a git checkout)'
    return out + (' with uncommitted changes' if dirty else '')


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown_page(
    title: str,
    command: str,
    body: str,
    flags: Sequence[str],
    date: Optional[datetime.date] = None,
    commit: Optional[str] = None,
) -> str:
    """A docs page of benchmark tables, written by the command itself: the command line, the date,
    the CPU, its relevant instruction flags and the code's commit above the tables."""
    relevant = sorted(
        f for f in flags if f.startswith(('avx', 'amx', 'asimd', 'sse4', 'fma')) or f == 'f16c'
    )
    date = date or datetime.date.today()
    return '\n'.join(
        [
            f'# {title}',
            '',
            'Written by the command itself; run it again to regenerate this page:',
            '',
            '```bash',
            command,
            '```',
            '',
            f'- date: {date.isoformat()}',
            f'- CPU: {_cpu_model()}; flags: {" ".join(relevant) or "none of avx/amx/asimd"}',
            f'- code: commit {commit or _commit()}',
            '',
            body,
            '',
        ]
    )
