"""A dry run of a config: does it fit this machine, how fast is it, how long will the run take.

:func:`dry_run` builds the run as ``mmseg-dilated train`` would, through mmengine's
``Runner.from_cfg`` (the model, the optimizer wrapper, the hooks, the data loaders and their
pipelines; ``--gpus`` applied by :mod:`mmseg_dilated.apis.gpus`), in a temporary work dir, and
trains it for a few iterations in a fresh process (:func:`.dry_run_worker.measure_dry_run`), then
runs one validation batch. The data is the config's own when it is prepared; otherwise samples
synthesised in the dataset's own format at its image size (:mod:`.dry_run_data`) go through the
same transforms, and the report says so. Pretrained weights that are missing are replaced by the
initialisation (memory and speed do not depend on the weights), and the report says that too.

What is measured, after ``warmup`` iterations:

- **Memory.** On CUDA, ``torch.cuda.max_memory_allocated`` and ``max_memory_reserved`` (the
  caching allocator's blocks), plus what the device uses beyond them (the CUDA context, cuDNN's
  workspace outside the allocator, other processes): the run needs the reserved peak plus that.
  On CPU, the process's resident-set high-water mark (``VmHWM``, reset after the warm-up; glibc's
  default allocator, so the blocks it keeps count, as the caching allocator's do on CUDA) over
  the resident set before the Runner was built: the run's own memory. Data loader workers are
  processes of their own and are not in it.
- **Against** the device's capacity (CUDA: its total memory; CPU: the memory available when the
  dry run started; or ``max_memory``), and against :mod:`.memory_estimate`'s estimate for the
  config: the benchmark's step (2 x 512x512, SGD, CPU resident memory) scaled to the config's
  batch and crop, which is what ``configs/README.md``'s memory table holds.
- **Time.** Seconds per iteration of the step (from ``before_train_iter`` to ``after_train_iter``:
  ``train_step`` and the hooks, CUDA synchronised) and of the wait for data before it; and the data
  loader's seconds per batch, timed by building batches from the run's own dataset and collate
  function in this process, as each loader worker builds them. With ``num_workers = w`` the
  loader delivers ``w`` batches per such time; when that is slower than the step the run is
  **data-bound** (with ``w = 0`` the loading is added to every step).
- **Projection.** ``max_iters`` (after ``--gpus``) times the seconds per iteration, plus the
  validations (``max_iters / val_interval`` of them, the val set split over the GPUs). Gradient
  all-reduce between GPUs is not measured by one process and not included.

The verdict is *fits* when the training and validation peaks are within the budget. Otherwise the
report lists changes with what each gives: ``with_cp`` (measured), AMP (measured on CUDA), a
smaller batch per GPU (estimated by scaling the measured peak with the batch's pixels, as
:func:`~.memory_estimate.estimate_train_memory` does, the effective batch kept by ``--gpus``) and a
smaller crop (estimated the same way).
"""

import copy
import hashlib
import json
import math
import os
import os.path as osp
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence

from ..apis.config_check import check_config
from ..apis.gpus import apply_gpu_plan, base_lr, plan_gpus, recipe_batch_size, recipe_gpus
from ..apis.launch import DatasetNotPreparedError, check_dataset_paths, iter_loader_datasets
from ..utils.config_scope import load_config
from ..utils.errors import UserError
from . import dry_run_verdict as verdict
from .memory_estimate import estimate_train_memory

__all__ = [
    'DryRunError',
    'DEFAULT_ITERS',
    'DEFAULT_WARMUP',
    'VAL_SET_SIZES',
    'parse_size',
    'dry_run',
]

DEFAULT_ITERS = 10
DEFAULT_WARMUP = 2
_MIB = 2**20
# Validation images of the datasets the shipped configs use, for the projection when the data is
# synthesised: Cityscapes val (Cordts et al., 2016), Pascal VOC 2012 val (Everingham et al.).
VAL_SET_SIZES = {'CityscapesDataset': 500, 'PascalVOCDataset': 1449}
# Keys of a dataset config that decide the files a synthesised split needs.
_LAYOUT_KEYS = (
    'type',
    'data_prefix',
    'ann_file',
    'img_suffix',
    'seg_map_suffix',
    'reduce_zero_label',
    'metainfo',
)
_UNITS = {'': 1, 'k': 2**10, 'm': 2**20, 'g': 2**30, 't': 2**40}


class DryRunError(UserError, ValueError):
    """The dry run cannot run as asked (the message says why and what to do)."""


def _meminfo_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def parse_size(text: str) -> int:
    """``'12G'``, ``'1.5GiB'``, ``'800M'``, ``'1024'`` (bytes) -> bytes."""
    match = re.fullmatch(r'\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*', str(text).lower())
    if not match:
        raise DryRunError(
            f'--max-memory {text!r}: give a size such as 12G, 1.5GiB or 800M (powers of 1024)'
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


# -- the config of a dry run ----------------------------------------------------------------------


def _missing_local(path) -> bool:
    return bool(path) and '://' not in str(path) and not osp.isfile(str(path))


def _drop_missing_weights(node, where, notes) -> None:
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            if _missing_local(init.get('checkpoint')):
                notes.append(
                    f'{where}.init_cfg: {init["checkpoint"]} is missing; initialised instead '
                    '(memory and speed do not depend on the weights)'
                )
                node['init_cfg'] = None
        for key, value in node.items():
            if key != 'init_cfg':
                _drop_missing_weights(value, f'{where}.{key}', notes)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _drop_missing_weights(value, f'{where}[{i}]', notes)


def _train_crop(cfg) -> Optional[tuple]:
    for _, ds in iter_loader_datasets(cfg, ('train_dataloader',)):
        for step in ds.get('pipeline') or []:
            if isinstance(step, dict) and step.get('type') == 'RandomCrop':
                return tuple(int(s) for s in step['crop_size'])
    size = ((cfg.get('model') or {}).get('data_preprocessor') or {}).get('size')
    return tuple(size) if size else None


def _synthesise(
    cfg, root: str, notes: List[str], val_count: int, cache: Optional[str] = None
) -> dict:
    """Synthesise the train and val data that is not prepared; returns {split: synthesised?}.
    With ``cache``, the samples of a dataset config are written once under it and reused."""
    from ..datasets.builder import init_registries
    from .dry_run_data import dataset_image_size, synthesise_split

    init_registries(cfg)
    synthesised = {}
    for split in ('train', 'val'):
        loader = f'{split}_dataloader'
        if not cfg.get(loader):
            continue
        try:
            check_dataset_paths(cfg, (loader,))
            synthesised[split] = False
            continue
        except DatasetNotPreparedError:
            synthesised[split] = True
        batch = cfg[loader].get('batch_size', 1) or 1
        count = val_count if split == 'val' else 2 * batch
        leaves = [ds for name, ds in iter_loader_datasets(cfg, (loader,))]
        for i, ds in enumerate(leaves):
            folder = osp.join(root, f'{split}{i}')
            if cache:
                # the files depend on the layout, the classes and the size, not the pipeline
                layout = {k: ds.get(k) for k in _LAYOUT_KEYS}
                text = json.dumps(
                    [layout, dataset_image_size(ds), count, i], sort_keys=True, default=str
                )
                folder = osp.join(cache, hashlib.sha1(text.encode()).hexdigest()[:16])
                done = osp.join(folder, '.dry_run_done')
                if osp.isfile(done):
                    with open(done) as f:
                        notes.append(f'{split} data not prepared: {f.read()}')
                    ds['data_root'] = folder
                    continue
            written = synthesise_split(ds, folder, count, seed=i)
            notes.append(f'{split} data not prepared: {written}')
            if cache:
                with open(done, 'w') as f:
                    f.write(written)
    return synthesised


def _dry_run_config(cfg, work_dir: str, warmup: int, iters: int) -> None:
    """Short, side-effect-free version of the run: ``warmup + iters`` iterations, no validation
    during training, no checkpoint written, one validation sample."""
    cfg.work_dir = work_dir
    cfg.resume = False
    if _missing_local(cfg.get('load_from')):
        cfg.load_from = None
    train_cfg = cfg.get('train_cfg') or {}
    total = warmup + iters
    train_cfg['max_iters'] = total
    # mmengine's loop also validates after the last iteration from val_begin on: the dry run
    # runs its one validation batch itself, after the training is measured.
    train_cfg['val_interval'] = train_cfg['val_begin'] = total + 1
    train_cfg.pop('dynamic_intervals', None)
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('checkpoint'):
        hooks['checkpoint'].update(interval=total + 1, save_last=False, save_best=None)
    if hooks.get('logger'):
        hooks['logger']['interval'] = 1
    if cfg.get('val_dataloader'):
        for _, ds in iter_loader_datasets(cfg, ('val_dataloader',)):
            ds['indices'] = 1
        cfg.val_dataloader['batch_size'] = 1


def _with_cp_options(cfg) -> List[str]:
    from mmseg.registry import MODELS

    from ..apis.model_builder import WITH_CP_PARTS, _accepts_with_cp

    options = []
    for key in WITH_CP_PARTS:
        part = (cfg.get('model') or {}).get(key)
        if isinstance(part, dict) and part.get('with_cp') is not True:
            cls = MODELS.get(part.get('type'))
            if cls is not None and _accepts_with_cp(cls):
                options.append(f'model.{key}.with_cp=True')
    return options


_RESULT_TAG = 'DRY_RUN_RESULT '


def _measure(cfg, tmp: str, name: str, warmup: int, iters: int, val: bool) -> dict:
    """:func:`~.dry_run_worker.measure_dry_run` of the dry-run version of ``cfg``, in a fresh
    interpreter with glibc's default allocator.

    Not :func:`~.fresh_process.run_in_fresh_process`: its fixed mmap threshold, which makes the
    resident set follow the live tensors, returns every freed tensor to the kernel and slows a
    training step down (configs/context_toy.py on 2 cores: 0.165 s per step against 0.093 s), and
    the dry run times the step. Its memory is the resident set the run holds as it would run,
    the allocator's kept blocks included.
    """
    path = osp.join(tmp, f'{name}.py')
    run_cfg = copy.deepcopy(cfg)
    _dry_run_config(run_cfg, osp.join(tmp, f'work_{name}'), warmup, iters)
    run_cfg.dump(path)
    code = (
        'import json, sys\n'
        'from mmseg_dilated.analysis.dry_run_worker import measure_dry_run\n'
        f'print({_RESULT_TAG!r} + json.dumps(measure_dry_run(**json.loads(sys.argv[1]))))\n'
    )
    env = {k: v for k, v in os.environ.items() if k != 'MALLOC_MMAP_THRESHOLD_'}
    proc = subprocess.run(
        [sys.executable, '-c', code, json.dumps(dict(config=path, warmup=warmup, val=val))],
        env=env,
        capture_output=True,
        text=True,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT_TAG):
            return json.loads(line[len(_RESULT_TAG) :])
    raise RuntimeError(
        f'the dry run of {cfg.filename} ({name}) failed:\n{proc.stdout[-6000:]}\n'
        f'{proc.stderr[-6000:]}'
    )


def _estimate(cfg, tmp, result, batch, crop) -> Optional[dict]:
    """memory_estimate's figure for the config: the benchmark's 2 x 512x512 step, scaled."""
    from .memory import run_train_memory_worker

    if not crop:
        return None
    path = osp.join(tmp, 'estimate.py')
    cfg.dump(path)
    with_cp = any(
        ((cfg.get('model') or {}).get(k) or {}).get('with_cp') is True
        for k in ('backbone', 'decode_head')
    )
    step = run_train_memory_worker(path, 512, 2, with_cp)
    estimate = estimate_train_memory(
        step['peak_mib'],
        result['trainable_params'],
        batch,
        crop,
        2,
        (512, 512),
        optimizer_buffers=result['optimizer_buffers'],
    )
    return dict(measured_step_mib=step['peak_mib'], with_cp=with_cp, estimate_mib=estimate)


def dry_run(
    config: str,
    options: Sequence[str] = (),
    gpus: Optional[int] = None,
    iters: int = DEFAULT_ITERS,
    warmup: int = DEFAULT_WARMUP,
    amp: bool = False,
    max_memory: Optional[int] = None,
    scale_lr: bool = False,
    estimate: bool = True,
    data_cache: Optional[str] = None,
    say=print,
) -> dict:
    """Dry-run a config (module docstring) and return the report (JSON-able).

    Args:
        config (str): Config file, or ``mmseg_dilated::NAME``.
        options (Sequence[str]): ``--cfg-options`` as ``key=value`` strings. Default: ().
        gpus (int, optional): GPUs of the run (``--gpus``: accumulation keeps the recipe's
            effective batch). Default: None (the recipe's count, from its name or
            ``auto_scale_lr``, else 1; nothing changed).
        iters (int): Measured iterations, rounded up to whole accumulation cycles. Default: 10.
        warmup (int): Iterations before the measurement. Default: 2.
        amp (bool): Mixed precision (mmengine's ``AmpOptimWrapper``, as ``train --amp``; CUDA
            only). Default: False.
        max_memory (int, optional): Memory budget in bytes. Default: None (the device's).
        scale_lr (bool): ``--scale-lr``: linear learning rate instead of accumulation.
        estimate (bool): Also compute memory_estimate's figure (one more training step, on CPU, in
            a fresh process). Default: True.
        data_cache (str, optional): Folder where synthesised samples are kept and reused by later
            dry runs of configs with the same dataset. Default: None (a temporary folder).
        say (callable): Progress messages. Default: print.

    Returns:
        dict: With ``verdict['fits']``; see the module docstring for the figures.
    """
    if iters < 1 or warmup < 0:
        raise DryRunError(f'--iters must be >= 1 and --warmup >= 0, got {iters} and {warmup}')
    cfg = load_config(config, options)
    check_config(cfg, options)
    notes, run_notes = [], []
    recipe, recipe_source = recipe_batch_size(cfg)
    plan = None
    if gpus is not None or recipe is not None:
        plan = plan_gpus(cfg, gpus or recipe_gpus(cfg) or 1, scale_lr)
        apply_gpu_plan(cfg, plan)
    else:
        run_notes.append(f"the recipe's effective batch is unknown ({recipe_source}): 1 GPU")
    if amp:
        optim = cfg.optim_wrapper
        if optim.get('type', 'OptimWrapper') == 'OptimWrapper':
            optim.update(type='AmpOptimWrapper', loss_scale='dynamic')
    accumulation = plan.accumulation if plan else 1
    iters = math.ceil(iters / accumulation) * accumulation
    train_cfg = cfg.get('train_cfg') or {}
    run = dict(
        config=config,
        config_file=cfg.filename,
        gpus=plan.gpus if plan else 1,
        batch_per_gpu=cfg.train_dataloader.batch_size,
        accumulation=accumulation,
        effective_batch=plan.effective_batch if plan else cfg.train_dataloader.batch_size,
        recipe_batch=recipe,
        lr=plan.run_lr if plan else base_lr(cfg),
        plan=plan.lines() if plan else [],
        notes=run_notes,
        max_iters=train_cfg.get('max_iters'),
        val_interval=train_cfg.get('val_interval'),
        num_workers=cfg.train_dataloader.get('num_workers', 0),
        crop=list(_train_crop(cfg) or []) or None,
        amp=amp,
    )
    # timings on a shared machine run slow: the report says how busy it was
    load_average = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    tmp = tempfile.mkdtemp(prefix='mmseg-dilated-dry-run-')
    try:
        _drop_missing_weights(cfg.get('model'), 'model', notes)
        synthesised = _synthesise(cfg, osp.join(tmp, 'data'), notes, 1, data_cache)
        say(f'dry run of {cfg.filename}: {warmup} warm-up + {iters} iterations in a fresh process')
        validates = bool(cfg.get('val_dataloader') and cfg.get('val_cfg') is not None)
        result = _measure(cfg, tmp, 'run', warmup, iters, val=validates)
        report = _report(
            cfg, tmp, run, result, notes, synthesised, max_memory, estimate, warmup, say
        )
        report['device']['load_average'] = load_average
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def _report(cfg, tmp, run, result, notes, synthesised, max_memory, estimate, warmup, say):
    device = result['device']
    if device == 'cuda':
        capacity = result['capacity_mib']
        capacity_what = f'{result["device_name"]} total memory'
    else:
        available = _meminfo_kib('MemAvailable')
        capacity = (available or 0) / 1024 + result['rss_before_runner_mib']
        capacity_what = 'memory available to this process when the dry run started'
    budget = max_memory / _MIB if max_memory else capacity
    step_s = statistics.mean(result['step_seconds'])
    wait_s = statistics.mean(result['wait_seconds'])
    loader_s = statistics.median(result['loader_seconds'])
    workers = result['num_workers']
    per_worker = loader_s / max(workers, 1)
    data_bound = per_worker > step_s
    needed_train = verdict.needed_mib(result, 'train_peak')
    needed_val = verdict.needed_mib(result, 'val_peak')
    fits = needed_train <= budget and (needed_val is None or needed_val <= budget)
    report = dict(
        run=run,
        device=dict(
            type=device,
            name=result['device_name'],
            capacity_mib=capacity,
            capacity_what=capacity_what,
            budget_mib=budget,
            budget_from='--max-memory' if max_memory else capacity_what,
            torch_threads=result['torch_threads'],
            cpus=os.cpu_count(),
        ),
        data=dict(
            synthesised=synthesised,
            notes=notes,
        ),
        memory=dict(
            train_needed_mib=needed_train,
            val_needed_mib=needed_val,
            train_peak=result['train_peak'],
            val_peak=result['val_peak'],
            rss_before_runner_mib=result['rss_before_runner_mib'],
            method=(
                'torch.cuda max_memory_reserved + memory outside the allocator'
                if device == 'cuda'
                else 'resident-set high-water mark (VmHWM, reset after the warm-up) over the '
                'resident set before the Runner; not measured on a GPU'
                + ('' if result['peak_exact'] else ' (VmHWM could not be reset: lifetime peak)')
            ),
            trainable_params=result['trainable_params'],
            optimizer_buffers=result['optimizer_buffers'],
        ),
        time=dict(
            step_s=step_s,
            wait_s=wait_s,
            val_s=statistics.mean(result['val_seconds']) if result['val_seconds'] else None,
            loader_batch_s=loader_s,
            num_workers=workers,
            loader_per_worker_s=per_worker,
            workers_to_keep_up=math.ceil(loader_s / step_s) if step_s else None,
            data_bound=data_bound,
            measured_iterations=len(result['step_seconds']),
            warmup=warmup,
        ),
    )
    if synthesised.get('val'):
        kinds = [ds.get('type') for _, ds in iter_loader_datasets(cfg, ('val_dataloader',))]
        val_size = sum(VAL_SET_SIZES.get(k, 0) for k in kinds) or None
    else:
        val_size = _val_set_size(cfg)
    report['projection'] = verdict.projection(report, result, val_size)
    if estimate and run['crop']:
        say('memory_estimate: the benchmark step (2 x 512x512) in a fresh process')
        est = _estimate(cfg, tmp, result, run['batch_per_gpu'], run['crop'])
        est['measured_over_estimate'] = needed_train / est['estimate_mib']
        report['memory']['estimate'] = est
    runs = {}
    if not fits:
        cp = _with_cp_options(cfg)
        if cp:
            say('does not fit: measuring with_cp')
            cp_cfg = copy.deepcopy(cfg)
            cp_cfg.merge_from_dict({o.split('=')[0]: True for o in cp})
            runs['with_cp'] = dict(
                _measure(cp_cfg, tmp, 'with_cp', 1, run['accumulation'], val=False),
                how='--cfg-options ' + ' '.join(cp),
                effect='the same results; each step recomputes the forward pass ({slower:+.0%} '
                'time per step, measured)',
            )
        if device == 'cuda' and not run['amp']:
            say('does not fit: measuring AMP')
            amp_cfg = copy.deepcopy(cfg)
            amp_cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
            runs['AMP'] = dict(
                _measure(amp_cfg, tmp, 'amp', 1, run['accumulation'], val=False),
                how='--amp',
                effect='float16 activations with dynamic loss scaling ({slower:+.0%} time per '
                'step, measured); results differ within mixed-precision rounding',
            )
    found = verdict.changes(report, result, budget, runs) if not fits else []
    if not fits and device == 'cpu':
        found.append(
            dict(
                change='AMP',
                how='--amp',
                needed_mib=None,
                fits=None,
                measured=False,
                effect="not measurable on CPU (mmengine's AmpOptimWrapper needs CUDA)",
            )
        )
    report['verdict'] = dict(fits=fits, changes=found)
    return report


def _val_set_size(cfg) -> Optional[int]:
    """Images in the config's validation set, counted by building it (the real data)."""
    from ..datasets.builder import build_dataset_from_config

    try:
        return len(build_dataset_from_config(cfg, 'val'))
    except Exception:
        return None
