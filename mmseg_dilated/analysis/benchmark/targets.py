"""The benchmark's acceptance targets, in one table, and their verdicts from measured results."""

from typing import List, Optional, Sequence

from .paths import FP32_PATHS, PATH_FEATURES
from .specs import REFERENCE, TARGET_MODELS

__all__ = ['TARGETS', 'check_targets']

_GATED = {'bf16': PATH_FEATURES['bf16'][0], 'onnx-int8': PATH_FEATURES['onnx-int8'][0]}

# The acceptance targets, in one place. metric: 'speedup' (eager latency / the path's, median of
# per-round ratios), 'flop_rate_fraction' (eager), 'best_fp32_flop_rate' (the fastest fp32 path),
# 'with_cp_memory_reduction' (models=None: every measured model but the reference and those in
# 'report_only', for which the measured reduction and its bound are printed without a verdict).
TARGETS = (
    dict(metric='speedup', path='fused', models=TARGET_MODELS, threshold=1.05),
    dict(metric='speedup', path='bf16', models=TARGET_MODELS, threshold=1.8),
    dict(metric='speedup', path='onnx-int8', models=TARGET_MODELS, threshold=2.0),
    dict(metric='flop_rate_fraction', path='eager', models=TARGET_MODELS, threshold=0.85),
    dict(metric='best_fp32_flop_rate', path=None, models=('drn-d-105-context',), threshold=0.90),
    # The dilated VGG-16's gradients and static memory leave less than 40% to save (its bound).
    dict(
        metric='with_cp_memory_reduction',
        path=None,
        models=None,
        threshold=0.40,
        report_only=('vgg-context',),
    ),
)


def check_targets(
    results: dict, flags: Optional[Sequence[str]] = None, targets: Sequence[dict] = TARGETS
) -> List[dict]:
    """Judge :data:`TARGETS` from measured ``results`` (``models``, ``memory``).

    Each verdict has ``status``: 'PASS', 'FAIL', 'NOT MEASURED' (model or path not run), 'N/A'
    (the path needs CPU instructions, :data:`PATH_FEATURES`, that ``flags`` lack: the figure is
    printed, not judged) or 'INFO' (a report-only model: value and bound, no verdict).
    """
    flags = set(flags or ())
    by_name = {m['name']: m for m in results.get('models', [])}
    verdicts = []
    for target in targets:
        metric, path = target['metric'], target['path']
        if metric == 'with_cp_memory_reduction':
            for m in results.get('memory', []):
                if m['name'] == REFERENCE:
                    continue
                info = m['name'] in target.get('report_only', ())
                verdicts.append(
                    dict(
                        model=m['name'],
                        metric=metric,
                        path=None,
                        threshold=target['threshold'],
                        value=m['reduction'],
                        bound=m['reduction_bound'],
                        status='INFO'
                        if info
                        else 'PASS'
                        if m['reduction'] >= target['threshold']
                        else 'FAIL',
                    )
                )
            continue
        for name in target['models']:
            value, status, best = None, 'NOT MEASURED', None
            paths = by_name.get(name, {}).get('paths', {})
            if metric == 'best_fp32_flop_rate':
                fp32 = {p: paths[p]['flop_rate_fraction'] for p in FP32_PATHS if p in paths}
                if fp32:
                    best = max(fp32, key=fp32.get)
                    value = fp32[best]
            elif path in paths:
                value = paths[path]['speedup' if metric == 'speedup' else metric]
            if value is not None:
                status = 'PASS' if value >= target['threshold'] else 'FAIL'
                if status == 'FAIL' and path in _GATED and not flags & set(_GATED[path]):
                    status = 'N/A'
            verdicts.append(
                dict(
                    model=name,
                    metric=metric,
                    path=best or path,
                    value=value,
                    threshold=target['threshold'],
                    status=status,
                )
            )
    return verdicts
