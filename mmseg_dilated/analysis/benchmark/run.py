"""The benchmark runs: every model on every path timed round-robin in one process, and training
memory without and with ``with_cp`` in a fresh process per measurement."""

import os.path as osp
import statistics
import tempfile
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from ..cost import (
    TensorForward,
    achieved_flops_per_s,
    count_flops,
    count_params,
    flop_rate_fraction,
)
from ..timing import median_ratio, round_robin
from .paths import PATHS, agreement, last_array, prepare_paths
from .specs import REFERENCE, build_model, config_of, model_label

__all__ = ['benchmark_speed', 'benchmark_memory', 'run_benchmark']


def _prepare_model(spec, paths, size, backbone_only, channels_last, workdir):
    model = build_model(spec)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    macs = count_flops(TensorForward(model, backbone_only), x)
    info = dict(name=spec, label=model_label(spec), params=count_params(model), gflops=macs / 1e9)
    fns = prepare_paths(model, x, paths, workdir, backbone_only, channels_last)
    with torch.inference_mode():
        outputs = {p: last_array(fn()) for p, fn in fns.items()}
    reference = outputs['eager' if 'eager' in outputs else paths[0]]
    info['agreement'] = {p: agreement(reference, out) for p, out in outputs.items()}
    return info, fns


def benchmark_speed(
    specs: Sequence[str],
    paths: Sequence[str] = PATHS,
    size: int = 512,
    repeats: int = 5,
    warmup: int = 1,
    matmul_size: int = 2048,
    matmul_repeats: int = 10,
    backbone_only: bool = False,
    channels_last: bool = False,
    reference_paths: Sequence[str] = ('eager',),
    progress: Optional[Callable[[str], None]] = None,
) -> Tuple[dict, List[dict]]:
    """Time every model on every path in one round-robin run (module docstring).

    Args:
        specs (Sequence[str]): Named models or config paths; :data:`REFERENCE` among them runs
            only ``reference_paths``.
        paths (Sequence[str]): Inference paths. Speed-ups, ``latency_ms`` and the FLOP-rate
            fraction of a model are those of ``eager`` (else of the first path).

    Returns:
        tuple[dict, list[dict]]: The matrix product's figures, and per model its counts and, for
        the baseline path and per path (``'paths'``), latency, per-round figures, the FLOP-rate
        fraction, the speed-up over the baseline and the agreement with it.
    """
    say = progress or (lambda msg: None)
    prepared = []
    with tempfile.TemporaryDirectory(prefix='mmseg_dilated_bench_') as workdir:
        for i, spec in enumerate(specs):
            chosen = [p for p in paths if spec != REFERENCE or p in reference_paths] or paths[:1]
            say(f'building {model_label(spec)} ({", ".join(chosen)}) ...')
            prepared.append(
                _prepare_model(
                    spec, chosen, size, backbone_only, channels_last, osp.join(workdir, str(i))
                )
            )
        fns = [fn for _, per_path in prepared for fn in per_path.values()]
        say(f'timing {len(fns)} model paths round-robin, {repeats} rounds ...')
        runs, matmul_rounds = round_robin(fns, repeats, warmup, matmul_size, matmul_repeats)
    mm_macs = matmul_size**3
    mm_seconds = statistics.median(matmul_rounds)
    matmul = dict(
        n=matmul_size,
        macs=mm_macs,
        seconds=mm_seconds,
        seconds_rounds=matmul_rounds,
        gflops_per_s=achieved_flops_per_s(mm_macs, mm_seconds) / 1e9,
    )
    runs = iter(runs)
    models = []
    for info, per_path in prepared:
        macs = info['gflops'] * 1e9
        info['paths'] = {}
        for path in per_path:
            times = next(runs)
            info['paths'][path] = dict(
                latency_ms=statistics.median(times) * 1e3,
                latency_runs_ms=[t * 1e3 for t in times],
                flop_rate_rounds=[
                    flop_rate_fraction(macs, t, mm_macs, t_mm)
                    for t, t_mm in zip(times, matmul_rounds)
                ],
                **info['agreement'][path],
            )
            info['paths'][path]['flop_rate_fraction'] = statistics.median(
                info['paths'][path]['flop_rate_rounds']
            )
        base = info['paths']['eager' if 'eager' in per_path else next(iter(per_path))]
        for record in info['paths'].values():
            record['speedup'] = median_ratio(base['latency_runs_ms'], record['latency_runs_ms'])
        del info['agreement']
        info.update(
            {
                k: base[k]
                for k in ('latency_ms', 'latency_runs_ms', 'flop_rate_rounds', 'flop_rate_fraction')
            }
        )
        info['achieved_gflops_per_s'] = achieved_flops_per_s(macs, info['latency_ms'] / 1e3) / 1e9
        models.append(info)
    ref = next((m for m in models if m['name'] == REFERENCE), None)
    for m in models:
        m['vs_reference'] = (
            None if ref is None else median_ratio(m['latency_runs_ms'], ref['latency_runs_ms'])
        )
    return matmul, models


def benchmark_memory(
    specs: Sequence[str],
    size: int = 512,
    batch: int = 2,
    breakdown: bool = False,
    threads: Optional[int] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> List[dict]:
    """Peak training memory of every model without and with ``with_cp``, each measurement in a
    fresh process (:func:`~mmseg_dilated.analysis.memory.run_train_memory_worker`), and the
    reduction and its bound."""
    from ..memory import memory_reduction, reduction_bound, run_train_memory_worker

    say = progress or (lambda msg: None)
    memory = []
    for spec in specs:
        say(f'training memory of {model_label(spec)} ...')
        off, on = (
            run_train_memory_worker(config_of(spec), size, batch, cp, breakdown, threads)
            for cp in (False, True)
        )
        memory.append(
            dict(
                name=spec,
                label=model_label(spec),
                without_cp=off,
                with_cp=on,
                reduction=memory_reduction(off, on),
                reduction_bound=reduction_bound(off),
            )
        )
    return memory


def run_benchmark(
    specs: Sequence[str],
    paths: Sequence[str] = PATHS,
    size: int = 512,
    repeats: int = 5,
    warmup: int = 1,
    matmul_size: int = 2048,
    matmul_repeats: int = 10,
    backbone_only: bool = False,
    channels_last: bool = False,
    memory_specs: Optional[Sequence[str]] = None,
    memory_batch: int = 2,
    memory_breakdown: bool = False,
    threads: Optional[int] = None,
    check: bool = False,
    progress: Optional[Callable[[str], None]] = None,
) -> dict:
    """The whole benchmark of ``mmseg-dilated benchmark``: speed of every model on every path
    (:func:`benchmark_speed`), training memory of ``memory_specs`` (:func:`benchmark_memory`;
    None: the same models, empty: none), the CPU's instruction flags per path and, with ``check``,
    the verdicts of the targets. Returns the results as ``--json`` writes them."""
    from mmseg_dilated.deploy.inference_paths import cpu_flags

    from .paths import path_features
    from .targets import check_targets

    matmul, models = benchmark_speed(
        specs,
        paths,
        size,
        repeats,
        warmup,
        matmul_size,
        matmul_repeats,
        backbone_only,
        channels_last,
        progress=progress,
    )
    memory_specs = specs if memory_specs is None else memory_specs
    memory = (
        benchmark_memory(memory_specs, size, memory_batch, memory_breakdown, threads, progress)
        if memory_specs
        else []
    )
    flags = cpu_flags()
    res = dict(
        settings=dict(
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            size=size,
            repeats=repeats,
            warmup=warmup,
            paths=list(paths),
            backbone_only=backbone_only,
            channels_last=channels_last,
            memory_batch=memory_batch,
            flop_convention='mmengine: 1 multiply-add = 1 flop (GMACs)',
        ),
        cpu=path_features(flags),
        cpu_flags=list(flags),
        matmul=matmul,
        models=models,
        memory=memory,
    )
    if check:
        res['targets'] = check_targets(res, flags)
    return res
