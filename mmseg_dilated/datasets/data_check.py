"""Read every sample of a dataset the way training does, and report what would break a run.

For each sample of a split: files listed but missing; images and labels that cannot be decoded or
are truncated; labels whose size differs from their image's; label values that are neither a class
(``0 .. num_classes - 1``, after the dataset's ``reduce_zero_label`` and ``label_map``) nor the
ignore index. Each finding names the file. The samples are read through the config's own loading
transforms (the ``Load*`` steps of its pipeline, built from mmseg's registry) on worker processes;
the random augmentations are left out, so the check reads a split faster than the training loader.
The size check is the one ``LoadAnnotations`` makes once ``mmseg_dilated`` is imported
(:mod:`mmseg_dilated.datasets.sample_checks`). Images are also decoded in full with Pillow,
because OpenCV decodes a truncated JPEG without an error (it only prints "Premature end of JPEG
file").
"""

import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from ..utils.labels import format_label_counts, stray_label_counts
from .builder import (
    DATASET_SPLITS,
    build_dataset_from_config,
    init_registries,
    select_transforms,
    unwrap_dataset,
)
from .sample_checks import SampleError

__all__ = [
    'check_sample',
    'check_split',
    'check_config_data',
    'format_report',
    'time_loader',
]

_TRANSFORMS: Dict[str, list] = {}  # per worker: loading transforms, built once per pipeline


def _loading_steps(pipeline) -> List[dict]:
    return select_transforms(pipeline, lambda name: name.startswith('Load'))


def _build(steps: List[dict]):
    key = repr(steps)
    if key not in _TRANSFORMS:
        from mmseg.registry import TRANSFORMS

        _TRANSFORMS[key] = [TRANSFORMS.build(step) for step in steps]
    return _TRANSFORMS[key]


def _pillow_decode(path: str) -> Optional[str]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
    except Exception as err:  # noqa: BLE001  (any decode failure is the finding)
        return f'{type(err).__name__}: {err}'
    return None


def check_sample(task) -> dict:
    """Check one sample. ``task`` is ``(data_info, loading steps, num_classes, ignore_index)``.

    Returns:
        dict: ``img_path``, ``seg_map_path``, ``problems`` (list of ``(kind, file, detail)``) and
        ``values`` (label value -> pixel count, for values outside the classes).
    """
    info, steps, num_classes, ignore_index = task
    img_path, seg_path = info.get('img_path'), info.get('seg_map_path')
    result = dict(img_path=img_path, seg_map_path=seg_path, problems=[], values={})
    problems = result['problems']
    for path in (img_path, seg_path):
        if path and not osp.isfile(path):
            problems.append(('missing', path, 'listed in the split but not on disk'))
    if problems:
        return result
    if img_path:
        failure = _pillow_decode(img_path)
        if failure:
            problems.append(('unreadable', img_path, failure))
            return result
    results = dict(info, seg_fields=[])
    for transform in _build(steps):
        target = seg_path if 'Annotation' in type(transform).__name__ else img_path
        try:
            results = transform(results)
        except SampleError as err:  # the size check of mmseg_dilated.datasets.sample_checks
            problems.append(('size', target, str(err)))
            return result
        except Exception as err:  # noqa: BLE001
            problems.append(('unreadable', target, f'{type(err).__name__}: {err}'))
            return result
        if results is None:
            problems.append(('unreadable', target, f'{type(transform).__name__} returned None'))
            return result
    label = results.get('gt_seg_map')
    if label is None:
        return result
    values, counts = np.unique(label, return_counts=True)
    strays = stray_label_counts(values, counts, num_classes, ignore_index)
    if strays:
        result['values'] = strays
        listing = format_label_counts(strays)
        problems.append(
            (
                'labels',
                seg_path,
                f'values outside the {num_classes} classes (0-'
                f'{num_classes - 1}) and not the ignore index {ignore_index}: {listing}',
            )
        )
    return result


def check_split(cfg: Config, split: str, nproc: int = 2, progress: bool = True) -> dict:
    """Check every leaf dataset of the config's ``<split>_dataloader``.

    Returns:
        dict: ``samples``, ``seconds``, ``problems`` (a list of dicts ``kind``, ``file``,
        ``detail``, ``image``, ``label``) and ``label_values`` (value outside the classes ->
        pixel count, summed over the split).
    """
    from mmengine.utils import track_parallel_progress, track_progress

    start = time.perf_counter()
    tasks = []
    leaves = unwrap_dataset(cfg[f'{split}_dataloader']['dataset'])
    for leaf, dataset in zip(leaves, build_dataset_from_config(cfg, split, unwrap=True)):
        steps = _loading_steps(leaf.get('pipeline') or [])
        num_classes = len(dataset.metainfo['classes'])
        ignore_index = getattr(dataset, 'ignore_index', 255)
        tasks += [
            (dataset.get_data_info(i), steps, num_classes, ignore_index)
            for i in range(len(dataset))
        ]
    if nproc > 1 and len(tasks) > 1:
        results = (
            track_parallel_progress(check_sample, tasks, nproc, chunksize=8, keep_order=True)
            if progress
            else _pool(tasks, nproc)
        )
    else:
        results = (
            track_progress(check_sample, tasks) if progress else list(map(check_sample, tasks))
        )
    problems, values = [], {}
    for res in results:
        for kind, path, detail in res['problems']:
            problems.append(
                dict(
                    kind=kind,
                    file=path,
                    detail=detail,
                    image=res['img_path'],
                    label=res['seg_map_path'],
                )
            )
        for value, count in res['values'].items():
            values[value] = values.get(value, 0) + count
    return dict(
        samples=len(tasks),
        seconds=time.perf_counter() - start,
        problems=problems,
        label_values=values,
    )


def _pool(tasks, nproc):
    from multiprocessing import Pool

    with Pool(nproc) as pool:
        return pool.map(check_sample, tasks, chunksize=8)


def check_config_data(
    cfg: Config, splits: Sequence[str] = ('train', 'val'), nproc: int = 2, progress: bool = True
) -> Dict[str, dict]:
    """:func:`check_split` for each named split (``train``, ``val``, ``test``) the config has."""
    report = {}
    for split in splits:
        if split not in DATASET_SPLITS:
            raise ValueError(f'split must be one of {DATASET_SPLITS}, got {split!r}')
        if (cfg.get(f'{split}_dataloader') or {}).get('dataset'):
            report[split] = check_split(cfg, split, nproc=nproc, progress=progress)
    return report


def format_report(report: Dict[str, dict], limit: int = 20) -> str:
    """A human summary: per split the sample count, the time and up to ``limit`` findings."""
    lines = []
    for split, res in report.items():
        rate = res['samples'] / res['seconds'] if res['seconds'] else float('inf')
        lines.append(
            f'{split}: {res["samples"]} samples read in {res["seconds"]:.1f} s '
            f'({rate:.0f}/s), {len(res["problems"])} problems'
        )
        for problem in res['problems'][:limit]:
            lines.append(f'  [{problem["kind"]}] {problem["file"]}: {problem["detail"]}')
        if len(res['problems']) > limit:
            lines.append(f'  ... and {len(res["problems"]) - limit} more (see the JSON report)')
        if res['label_values']:
            lines.append(
                '  label values outside the classes, pixels over the split: '
                + ', '.join(f'{v}: {c}' for v, c in sorted(res['label_values'].items()))
            )
    return '\n'.join(lines)


def time_loader(cfg: Config, split: str = 'train') -> dict:
    """Seconds one pass of a split's data loader takes, as the config builds it (workers, batch
    size, full pipeline), over as many samples as the split has: what the check is compared with."""
    from mmengine.runner import Runner

    init_registries(cfg)
    loader = Runner.build_dataloader(cfg[f'{split}_dataloader'], seed=0)
    total = len(loader.dataset)
    start, seen = time.perf_counter(), 0
    for batch in loader:
        seen += len(batch['inputs'])
        if seen >= total:
            break
    return dict(samples=seen, seconds=time.perf_counter() - start)
