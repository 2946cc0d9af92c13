"""A recipe on another number of GPUs than it was written for, with the recipe's effective batch.

A config's name says how it was trained (mmseg's ``{gpus}xb{batch}``: ``8xb4`` is 8 GPUs with 4
images each, an effective batch of 32) and ``auto_scale_lr.base_batch_size`` records that batch.
Started on fewer GPUs as it is, the run trains at a smaller batch with the recipe's learning rate
and iteration count, and nothing says so (mmengine reverts SyncBN to BN outside a process group,
so nothing fails either). :func:`plan_gpus` turns ``--gpus N`` into one of two runs:

* **Gradient accumulation** (the default): with ``k = recipe batch / (N x per-GPU batch)``,
  mmengine's :class:`~mmengine.optim.OptimWrapper` (``accumulative_counts=k``) adds up the
  gradients of ``k`` iterations, each loss divided by ``k``, and steps the optimizer once: one
  optimizer step sees the recipe's batch, at the recipe's learning rate. An optimizer step now
  takes ``k`` iterations, so every count in iterations is multiplied by ``k`` to keep the recipe's
  number of optimizer steps: ``train_cfg.max_iters``, ``val_interval``, ``val_begin``, the
  checkpoint interval, and the ``begin``/``end``/``milestones`` (``step_size``, ``T_max``,
  ``total_steps``, ``periods``) of every ``by_epoch=False`` parameter scheduler, since mmengine's
  :class:`~mmengine.hooks.ParamSchedulerHook` steps those once per *iteration*. A step schedule
  then changes the rate at the same optimizer step as the recipe; a continuous one (poly, cosine)
  is read ``(k - 1) / k`` of a recipe step late, out of tens of thousands.
* **Linear scaling** (``scale_lr=True``): mmengine's ``auto_scale_lr`` (``Runner.scale_lr``)
  multiplies the learning rate by ``N x per-GPU batch / base_batch_size``; no accumulation, the
  schedule unchanged (Goyal et al., "Accurate, Large Minibatch SGD", 2017,
  https://arxiv.org/abs/1706.02677).

What accumulation does not reproduce: BatchNorm (and SyncBN, which is BN over the GPUs of one
iteration) normalises over the images of one iteration, ``N x per-GPU batch``, not over the
recipe's batch; and a loss averaged over the valid pixels of each iteration weighs pixels slightly
differently from one average over the whole batch when ignored pixels are unevenly spread.
``docs/en/user_guides/fewer_gpus.md`` says what to do about it.
"""

import math
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..utils.errors import UserError

__all__ = [
    'GpuPlanError',
    'GpuPlan',
    'RECIPE_NAME',
    'recipe_batch_size',
    'recipe_gpus',
    'base_lr',
    'plan_gpus',
    'apply_gpu_plan',
    'plan_options',
    'gpu_run_options',
]

# mmseg's config naming: ..._{gpus}xb{batch}-{schedule}_... (e.g. 8xb4-23k).
RECIPE_NAME = re.compile(r'(?:^|_)(\d+)xb(\d+)(?=[-_.]|$)')
# Scheduler arguments counted in steps of the scheduler (iterations when by_epoch=False).
_SCHEDULER_STEPS = ('begin', 'end', 'step_size', 'T_max', 'total_steps')
_SCHEDULER_STEP_LISTS = ('milestones', 'periods')
_INF = int(1e9)  # mmengine.optim.scheduler.param_scheduler.INF: "no end"


class GpuPlanError(UserError, ValueError):
    """``--gpus`` cannot keep the recipe's batch as asked; the message says which counts can."""


@dataclass
class GpuPlan:
    """How a run on ``gpus`` GPUs relates to its recipe (see the module docstring).

    ``overrides`` holds the config changes as dotted keys (``optim_wrapper.accumulative_counts``,
    ``param_scheduler.0.end``) for ``Config.merge_from_dict`` or ``--cfg-options``.
    """

    gpus: int
    batch_per_gpu: int
    recipe_batch: int
    recipe_source: str
    accumulation: int
    scale_lr: bool
    lr: Optional[float]
    run_lr: Optional[float]
    max_iters: Optional[int]
    run_max_iters: Optional[int]
    overrides: Dict[str, object] = field(default_factory=dict)

    @property
    def effective_batch(self) -> int:
        """Images per optimizer step."""
        return self.gpus * self.batch_per_gpu * self.accumulation

    def lines(self) -> List[str]:
        """What the run does, for the first lines of its log."""
        gpus = f'{self.gpus} GPU{"s" if self.gpus > 1 else ""}'
        recipe = f"the recipe's {self.recipe_batch}, from {self.recipe_source}"
        lr = '?' if self.lr is None else f'{self.lr:g}'
        if self.scale_lr:
            lines = [
                f'effective batch {self.effective_batch} = {gpus} x {self.batch_per_gpu} '
                f'({recipe})',
                f'accumulation: none; learning rate {lr} -> {self.run_lr:g} (mmengine '
                f'auto_scale_lr: x {self.effective_batch}/{self.recipe_batch}, linear in the '
                'batch); schedule unchanged',
            ]
        else:
            lines = [
                f'effective batch {self.effective_batch} = {gpus} x {self.batch_per_gpu} x '
                f'{self.accumulation} accumulated iteration{"s" if self.accumulation > 1 else ""}'
                f' ({recipe})',
                f'accumulation: {self.accumulation} (optim_wrapper.accumulative_counts); '
                f"learning rate {lr}, the recipe's",
            ]
            if self.accumulation > 1:
                lines.append(
                    f"schedule: {self.run_max_iters} iterations = the recipe's {self.max_iters} "
                    f'optimizer steps x {self.accumulation}; validation, checkpoint and '
                    'scheduler steps (begin, end, milestones) x '
                    f'{self.accumulation}; BatchNorm statistics over '
                    f'{self.gpus * self.batch_per_gpu} images per iteration '
                    '(docs/en/user_guides/fewer_gpus.md)'
                )
        return lines


def _base_names(filename: str) -> List[str]:
    """The config file's name and, recursively, those of its ``_base_`` files."""
    from mmengine.config import Config

    names, todo = [], [filename]
    while todo:
        path = todo.pop(0)
        names.append(osp.basename(path))
        if not (path and osp.isfile(path)):
            continue
        for base in Config._get_base_files(path):
            if '::' in base:
                from ..utils.config_scope import resolve_config_path

                base = resolve_config_path(base) if base.startswith('mmseg_dilated::') else base
            todo.append(base if osp.isabs(base) else osp.join(osp.dirname(path), base))
    return names


def recipe_batch_size(cfg) -> Tuple[Optional[int], str]:
    """(the recipe's effective batch, where it was read) of a config, or (None, why not).

    ``auto_scale_lr.base_batch_size`` first; else the ``{gpus}xb{batch}`` of the config's name, or
    of the first of its ``_base_`` files that has one (a short name such as ``context_voc.py``
    inherits the full one).
    """
    auto = cfg.get('auto_scale_lr') or {}
    if auto.get('base_batch_size'):
        return int(auto['base_batch_size']), 'auto_scale_lr.base_batch_size'
    for name in _base_names(cfg.filename or ''):
        match = RECIPE_NAME.search(name)
        if match:
            gpus, batch = map(int, match.groups())
            return gpus * batch, f'the config name {name} ({gpus}xb{batch})'
    return None, 'no auto_scale_lr.base_batch_size and no {gpus}xb{batch} in the config name'


def _batch_per_gpu(cfg) -> int:
    loader = cfg.get('train_dataloader') or {}
    batch = loader.get('batch_size')
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise GpuPlanError(
            f'train_dataloader.batch_size must be a positive int to plan --gpus, got {batch!r}'
        )
    return batch


def recipe_gpus(cfg) -> Optional[int]:
    """GPUs the recipe was written for: its batch over the per-GPU batch (None if unknown)."""
    recipe, _ = recipe_batch_size(cfg)
    batch = (cfg.get('train_dataloader') or {}).get('batch_size')
    if recipe is None or not isinstance(batch, int) or recipe % batch:
        return None
    return recipe // batch


def base_lr(cfg) -> Optional[float]:
    """The optimizer's learning rate in the config (before any paramwise multiplier)."""
    lr = ((cfg.get('optim_wrapper') or {}).get('optimizer') or {}).get('lr')
    return float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None


def _scale_steps(value, k):
    if isinstance(value, bool) or not isinstance(value, int) or value >= _INF:
        return value
    return value * k


def _iteration_based(train_cfg) -> bool:
    """Whether the training loop counts iterations (mmengine's ``IterBasedTrainLoop`` or a
    subclass, such as this package's ``FastResumeIterBasedTrainLoop``), as the Runner picks it."""
    from mmengine.runner import IterBasedTrainLoop
    from mmseg.registry import LOOPS

    if 'type' not in train_cfg:
        return train_cfg.get('by_epoch') is False
    loop = train_cfg['type']
    loop = LOOPS.get(loop) if isinstance(loop, str) else loop
    return isinstance(loop, type) and issubclass(loop, IterBasedTrainLoop)


def _iteration_overrides(cfg, k: int) -> Dict[str, object]:
    """Every count in iterations times ``k`` (module docstring), as dotted keys."""
    out = {}
    train_cfg = cfg.get('train_cfg') or {}
    if _iteration_based(train_cfg):
        for key in ('max_iters', 'val_interval', 'val_begin'):
            if isinstance(train_cfg.get(key), int):
                out[f'train_cfg.{key}'] = train_cfg[key] * k
        if train_cfg.get('dynamic_intervals'):
            out['train_cfg.dynamic_intervals'] = [
                [m * k, i * k] for m, i in train_cfg['dynamic_intervals']
            ]
        checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
        if not checkpoint.get('by_epoch', True) and isinstance(checkpoint.get('interval'), int):
            if checkpoint['interval'] > 0:
                out['default_hooks.checkpoint.interval'] = checkpoint['interval'] * k
    schedulers = cfg.get('param_scheduler')
    items = (
        [('param_scheduler', schedulers)]
        if isinstance(schedulers, dict)
        else [(f'param_scheduler.{i}', s) for i, s in enumerate(schedulers or [])]
    )
    for prefix, scheduler in items:
        if scheduler.get('by_epoch', True):
            continue
        for key in _SCHEDULER_STEPS:
            if key in scheduler and _scale_steps(scheduler[key], k) != scheduler[key]:
                out[f'{prefix}.{key}'] = _scale_steps(scheduler[key], k)
        for key in _SCHEDULER_STEP_LISTS:
            if scheduler.get(key):
                out[f'{prefix}.{key}'] = [_scale_steps(v, k) for v in scheduler[key]]
    return out


def _working_counts(recipe: int, batch: int) -> List[int]:
    return [n for n in range(1, recipe // batch + 1) if recipe % (n * batch) == 0]


def plan_gpus(cfg, gpus: int, scale_lr: bool = False) -> GpuPlan:
    """How to run ``cfg`` on ``gpus`` GPUs at the recipe's effective batch (module docstring).

    Args:
        cfg (mmengine.Config): The run's config (after ``--cfg-options``), not modified.
        gpus (int): Processes (GPUs) of the run.
        scale_lr (bool): Scale the learning rate linearly with the batch (mmengine's
            ``auto_scale_lr``) instead of accumulating gradients. Default: False.

    Returns:
        GpuPlan: With ``overrides`` to merge into the config (empty when the run already has the
        recipe's batch).

    Raises:
        GpuPlanError: The recipe's batch is unknown, or ``gpus`` x the per-GPU batch does not
            divide it (the message lists the GPU counts that do).
    """
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 1:
        raise GpuPlanError(f'--gpus must be a positive int, got {gpus!r}')
    batch = _batch_per_gpu(cfg)
    recipe, source = recipe_batch_size(cfg)
    if recipe is None:
        raise GpuPlanError(
            f"--gpus cannot tell the recipe's effective batch: {source}. Set it in the config: "
            'auto_scale_lr = dict(enable=False, base_batch_size=GPUS * BATCH)'
        )
    counts = (cfg.get('optim_wrapper') or {}).get('accumulative_counts', 1)
    if counts != 1:
        raise GpuPlanError(
            f'the config already accumulates gradients (optim_wrapper.accumulative_counts='
            f'{counts}); --gpus sets the accumulation itself: remove it from the config'
        )
    lr, max_iters = base_lr(cfg), (cfg.get('train_cfg') or {}).get('max_iters')
    run_batch = gpus * batch
    plan = GpuPlan(gpus, batch, recipe, source, 1, scale_lr, lr, lr, max_iters, max_iters)
    if scale_lr:
        if run_batch != recipe:
            plan.overrides = {
                # replaces the section whole: a config may set auto_scale_lr = None
                'auto_scale_lr._delete_': True,
                'auto_scale_lr.enable': True,
                'auto_scale_lr.base_batch_size': recipe,
            }
            plan.run_lr = None if lr is None else lr * run_batch / recipe
        return plan
    if run_batch > recipe or recipe % run_batch:
        working = _working_counts(recipe, batch)
        why = (
            f"{gpus} GPUs x {batch} = {run_batch} images per iteration is more than the recipe's"
            f' batch of {recipe} ({source})'
            if run_batch > recipe
            else f"{gpus} GPUs x {batch} = {run_batch} does not divide the recipe's batch of "
            f'{recipe} ({source})'
        )
        raise GpuPlanError(
            f'--gpus {gpus}: {why}, so no whole number of accumulated iterations keeps it. '
            f'GPU counts that do at {batch} per GPU: {", ".join(map(str, working))}. Or change the'
            ' per-GPU batch (--cfg-options train_dataloader.batch_size=B), or scale the learning '
            'rate with the batch instead: --scale-lr'
        )
    k = recipe // run_batch
    plan.accumulation = k
    if k > 1:
        plan.overrides = {'optim_wrapper.accumulative_counts': k, **_iteration_overrides(cfg, k)}
        plan.run_max_iters = plan.overrides.get('train_cfg.max_iters', max_iters)
    return plan


def apply_gpu_plan(cfg, plan: GpuPlan) -> None:
    """Merge the plan's overrides into ``cfg`` (in place)."""
    if plan.overrides:
        cfg.merge_from_dict(dict(plan.overrides))


def _option_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_option_value(v) for v in value) + ']'
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value)


def plan_options(plan: GpuPlan) -> List[str]:
    """The plan's overrides as ``key=value`` strings for ``--cfg-options`` (mmengine DictAction)."""
    return [f'{key}={_option_value(value)}' for key, value in plan.overrides.items()]


def gpu_run_options(
    cfg, gpus: Optional[int], scale_lr: bool, world_size: int
) -> Tuple[List[str], List[str]]:
    """``--gpus`` / ``--scale-lr`` of ``train``: (``--cfg-options`` to add, lines to print first).

    Without ``gpus``, nothing changes; the lines then say so when the run's batch
    (``world_size`` x the per-GPU batch) is not the recipe's.

    Raises:
        GpuPlanError: ``gpus`` is not the run's number of processes, or :func:`plan_gpus` refuses.
    """
    if gpus is None:
        if scale_lr:
            raise GpuPlanError('--scale-lr scales to the batch of --gpus N: give --gpus too')
        recipe, source = recipe_batch_size(cfg)
        batch = (cfg.get('train_dataloader') or {}).get('batch_size')
        if recipe is None or not isinstance(batch, int) or world_size * batch == recipe:
            return [], []
        return [], [
            f'note: this run trains at a batch of {world_size * batch} ({world_size} process'
            f'{"es" if world_size > 1 else ""} x {batch}), with the learning rate and schedule of'
            f" a recipe for {recipe} ({source}); --gpus {world_size} keeps the recipe's batch by "
            'gradient accumulation, --gpus N --scale-lr scales the learning rate instead '
            '(docs/en/user_guides/fewer_gpus.md)'
        ]
    if gpus != world_size:
        raise GpuPlanError(
            f'--gpus {gpus}, but this run has {world_size} process'
            f'{"es" if world_size > 1 else ""}: start one per GPU, e.g. bash tools/dist_train.sh '
            f'CONFIG {gpus} --gpus {gpus} (torchrun --nproc_per_node {gpus} -m '
            'mmseg_dilated.cli.train CONFIG --launcher pytorch --gpus N)'
        )
    plan = plan_gpus(cfg, gpus, scale_lr)
    return plan_options(plan), plan.lines()
