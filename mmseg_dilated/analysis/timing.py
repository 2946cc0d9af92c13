"""Round-robin CPU timing.

Every round times an fp32 matrix product and then every candidate once, so a slow spell of the
machine falls on all of them alike rather than on whichever happened to be running: timing one
model after the other moved single models' figures by up to 10% between runs on a shared VM.
Ratios (to the matrix product, to a reference, between inference paths) are taken round by round
and their median is reported; a drift of the machine's speed during the run cancels out of them,
which a ratio of medians taken at different times does not.

The matrix product is timed by :class:`torch.utils.benchmark.Timer` (``timeit(1)`` per product,
each after the Timer's own two warm-up calls, with as many threads as torch has now; ``Timer``'s
default is ONE thread), and the round takes the median of those products, as the old benchmark
did: the mean of one block took in the slow spells of a shared machine and put models above 100%
of the matmul rate. The candidates are called once per round and timed with
``time.perf_counter`` instead: ``Timer.timeit(1)`` also runs its two warm-up calls first (every
measurement calls the statement three times, measured in the tests), which would triple the time
of a benchmark whose rounds each take seconds, for no more information than the untimed warm-up
before the first round gives.
"""

import statistics
import time
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch.utils.benchmark import Timer

__all__ = [
    'time_once',
    'matmul_seconds',
    'round_robin',
    'per_round_ratios',
    'median_ratio',
    'profile_ops',
]


def time_once(fn: Callable[[], object]) -> float:
    """Wall time in seconds of one call of ``fn()`` (no warm-up)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_seconds(timer: Timer, repeats: int) -> float:
    """Median seconds of one product over ``repeats`` products, each timed on its own by the
    ``Timer``: a median, as the models' figures are, so that a slow spell of a shared machine
    during one product does not move the round's figure (a block's mean would take it in)."""
    return statistics.median(timer.timeit(1).mean for _ in range(repeats))


def round_robin(
    fns: Sequence[Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    matmul_size: int = 2048,
    matmul_repeats: int = 10,
    num_threads: Optional[int] = None,
) -> Tuple[List[List[float]], List[float]]:
    """Time every callable of ``fns`` and an fp32 matrix product, round-robin.

    First ``warmup`` calls of each callable (one callable after the other), then ``repeats``
    rounds; each round times ``torch.mm`` of two ``matmul_size`` square matrices (the median of
    ``matmul_repeats`` products, each timed by ``Timer``) and then each callable once, in
    order. Everything runs under ``torch.inference_mode``.

    Args:
        fns (Sequence[callable]): Zero-argument callables, e.g. ``lambda: model(x)``.
        repeats (int): Rounds.
        warmup (int): Untimed calls of each callable before the first round. Default: 1.
        matmul_size (int): Side n of the matrix product (``n**3`` multiply-adds). Default: 2048.
        matmul_repeats (int): Matrix products per round; their median is the round's figure.
            Default: 10.
        num_threads (int, optional): Torch threads while timing. Default: the current number.

    Returns:
        tuple[list[list[float]], list[float]]: Seconds of each callable per round (one list per
        callable), and the matrix product's seconds per round.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(matmul_size, matmul_size, generator=gen)
    b = torch.randn(matmul_size, matmul_size, generator=gen)
    out = torch.empty(matmul_size, matmul_size)
    matmul_timer = Timer(
        stmt='torch.mm(a, b, out=out)',
        globals=dict(torch=torch, a=a, b=b, out=out),
        num_threads=num_threads or torch.get_num_threads(),
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(num_threads or threads)
    runs = [[] for _ in fns]
    matmul_rounds = []
    try:
        with torch.inference_mode():
            for fn in fns:
                for _ in range(warmup):
                    fn()
            for _ in range(repeats):
                matmul_rounds.append(matmul_seconds(matmul_timer, matmul_repeats))
                for times, fn in zip(runs, fns):
                    times.append(time_once(fn))
    finally:
        torch.set_num_threads(threads)
    return runs, matmul_rounds


def per_round_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> List[float]:
    """``numerators[i] / denominators[i]`` for every round ``i``."""
    if len(numerators) != len(denominators):
        raise ValueError(
            f'need one figure per round on both sides, got {len(numerators)} and '
            f'{len(denominators)}'
        )
    return [n / d for n, d in zip(numerators, denominators)]


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median over rounds of the per-round ratio (see the module docstring)."""
    return statistics.median(per_round_ratios(numerators, denominators))


def profile_ops(
    fn: Callable[[], object], runs: int = 1, row_limit: int = 12, num_threads: Optional[int] = None
) -> Tuple[str, list]:
    """Where the time of ``fn()`` goes, by operator: :mod:`torch.profiler`'s ``key_averages``.

    Args:
        fn (callable): What to profile (one warm-up call first, not profiled).
        runs (int): Profiled calls. Default: 1.
        row_limit (int): Rows of the table. Default: 12.
        num_threads (int, optional): Torch threads. Default: the current number.

    Returns:
        tuple[str, list]: The table sorted by self CPU time, and the rows as
        ``(op name, self CPU seconds per call, fraction of the total self CPU time)``.
    """
    from torch.profiler import ProfilerActivity, profile

    threads = torch.get_num_threads()
    torch.set_num_threads(num_threads or threads)
    try:
        with torch.inference_mode():
            fn()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(runs):
                    fn()
    finally:
        torch.set_num_threads(threads)
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages) or 1.0
    rows = sorted(
        (
            (e.key, e.self_cpu_time_total / 1e6 / runs, e.self_cpu_time_total / total)
            for e in averages
        ),
        key=lambda r: -r[1],
    )
    table = averages.table(sort_by='self_cpu_time_total', row_limit=row_limit)
    return table, rows[:row_limit]
