"""The verdict of a dry run (:mod:`.dry_run`): the memory a run needs, what would make it fit, and
the projected wall-clock of the whole run."""

import math
import statistics
from typing import List, Optional, Sequence

from .memory_estimate import estimate_train_memory, fixed_memory_mib

__all__ = ['needed_mib', 'changes', 'projection']


def needed_mib(result: dict, which: str) -> Optional[float]:
    peak = result.get(which)
    if not peak:
        return None
    if result['device'] == 'cuda':
        return peak['reserved_mib'] + max(peak['outside_allocator_mib'], 0)
    return peak['peak_rss_mib'] - result['rss_before_runner_mib']


def _live_mib(result: dict) -> Optional[float]:
    """The part of the training peak that scales with the input (allocated / resident)."""
    peak = result.get('train_peak')
    if not peak:
        return None
    if result['device'] == 'cuda':
        return peak['allocated_mib']
    return peak['peak_rss_mib'] - result['rss_before_runner_mib']


def _scaled(result: dict, run: dict, batch: int, crop: Sequence[int]) -> float:
    """The run's needed memory at another batch or crop: the measured peak scaled by
    :func:`estimate_train_memory` (weights, gradients and optimizer buffers fixed, the rest in
    proportion to the batch's pixels), plus the overheads that do not scale (CUDA: the cached
    blocks and the memory outside the allocator)."""
    live = _live_mib(result)
    fixed = fixed_memory_mib(result['trainable_params'], 4, result['optimizer_buffers'])
    scaled = estimate_train_memory(
        max(live, fixed),
        result['trainable_params'],
        batch,
        tuple(crop),
        run['batch_per_gpu'],
        tuple(run['crop']),
        optimizer_buffers=result['optimizer_buffers'],
    )
    return scaled + (needed_mib(result, 'train_peak') - live)


def changes(report, result, budget, runs) -> List[dict]:
    """What would make the run fit, each with what it gives and what it changes."""
    changes = []
    batch, crop = report['run']['batch_per_gpu'], report['run']['crop']
    for name, rerun in runs.items():
        needed = needed_mib(rerun, 'train_peak')
        step = statistics.mean(rerun['step_seconds'])
        changes.append(
            dict(
                change=name,
                how=rerun['how'],
                needed_mib=needed,
                fits=needed <= budget,
                measured=True,
                effect=rerun['effect'].format(
                    slower=step / report['time']['step_s'] - 1 if report['time']['step_s'] else 0
                ),
            )
        )
    for smaller in [b for b in range(batch - 1, 0, -1) if batch % b == 0]:
        needed = _scaled(result, report['run'], smaller, crop) if crop else None
        if needed is None:
            break
        if needed <= budget or smaller == 1:
            run = report['run']
            images = f'{smaller} image{"s" if smaller > 1 else ""}'
            if run['recipe_batch']:
                how = f'--cfg-options train_dataloader.batch_size={smaller} --gpus {run["gpus"]}'
                effect = (
                    f'--gpus keeps the effective batch of {run["effective_batch"]} by '
                    f'accumulating {batch // smaller}x more iterations; BatchNorm statistics '
                    f'over {images} per GPU (SyncBN: {images} x GPUs)'
                )
            else:
                how = f'--cfg-options train_dataloader.batch_size={smaller}'
                effect = (
                    f'the batch falls from {batch} to {smaller} (no recipe batch to keep: set '
                    'auto_scale_lr.base_batch_size, then --gpus accumulates)'
                )
            changes.append(
                dict(
                    change=f'batch {smaller} per GPU',
                    how=how,
                    needed_mib=needed,
                    fits=needed <= budget,
                    measured=False,
                    effect=effect,
                )
            )
            break
    if crop:
        h, w = crop
        for side in range(max(h, w) - 32, 63, -32):
            scale = side / max(h, w)
            nh, nw = int(h * scale) // 8 * 8, int(w * scale) // 8 * 8
            needed = _scaled(result, report['run'], batch, (nh, nw))
            if needed <= budget:
                changes.append(
                    dict(
                        change=f'crop {nh}x{nw}',
                        how=f'crop_size = ({nh}, {nw}) in the config (RandomCrop and '
                        'data_preprocessor.size use it)',
                        needed_mib=needed,
                        fits=True,
                        measured=False,
                        effect='less context per crop; the DRN authors warn that a smaller crop '
                        'costs accuracy (fyu/drn README.md)',
                    )
                )
                break
    return changes


def projection(report, result, val_size) -> dict:
    run, t = report['run'], report['time']
    iters = run['max_iters']
    per_iter = t['step_s'] + t['wait_s']
    train_s = iters * per_iter if iters else None
    evals = iters // run['val_interval'] if iters and run.get('val_interval') else 0
    val_s = None
    if evals and val_size and t.get('val_s'):
        val_s = evals * math.ceil(val_size / run['gpus']) * t['val_s']
    return dict(
        iterations=iters,
        train_s=train_s,
        validations=evals,
        val_images=val_size,
        val_total_s=val_s,
        total_s=None if train_s is None else train_s + (val_s or 0),
        on=f'{run["gpus"]} x {result["device_name"]}',
        excludes='gradient all-reduce between GPUs (not measured by one process)',
    )
