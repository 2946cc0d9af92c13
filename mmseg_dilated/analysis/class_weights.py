"""Per-class pixel statistics of a training set and class weights from them.

The logic behind ``tools/analysis/class_weights.py``. Labels are read through
the dataset's own loader (``LoadAnnotations``), so ``reduce_zero_label`` and
a custom-class ``label_map`` are applied exactly as in training; every other
transform (random crops, flips, photometric changes) is dropped, so counts
cover whole label maps and do not depend on the random state.

Two weightings are computed:

- median-frequency balancing (Eigen & Fergus, ICCV 2015,
  https://arxiv.org/abs/1411.4734): ``w_c = median_freq / freq_c`` with
  ``freq_c`` = pixels of ``c`` / labelled pixels of the images in which ``c``
  is present, and the median taken over the classes that are present;
- ENet (Paszke et al., 2016, https://arxiv.org/abs/1606.02147):
  ``w_c = 1 / ln(1.02 + p_c)`` with ``p_c`` = pixels of ``c`` / all labelled
  pixels.

"Labelled" pixels are those with a class in ``[0, num_classes)``: pixels
equal to ``ignore_index`` carry no class and are left out of every
denominator, and so are stray values (neither a class nor ``ignore_index``),
which are reported with the files they occur in. A class with no pixel in
the training set gets weight 0 in both schemes (its frequency is undefined;
0 is a value ``class_weight`` accepts and no training pixel of the set is
affected by it) and a warning names it.
"""

import copy
import json
import math
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.utils import track_iter_progress
from prettytable import PrettyTable

from ..datasets.builder import build_dataset_from_config, select_transforms, unwrap_dataset
from ..utils.labels import stray_label_mask

ENET_C = 1.02
_MAX_FILES_SHOWN = 20


@dataclass
class ClassPixelCounts:
    """Pixel statistics of a segmentation training set.

    Args:
        classes (tuple[str]): Class names.
        ignore_index (int): Label value that is ignored.
        pixels (np.ndarray): Pixels of each class, shape (C,).
        image_pixels (np.ndarray): For each class, the labelled pixels of the
            images in which it is present, shape (C,).
        images (np.ndarray): Number of images containing each class.
        num_images (int): Number of label maps read.
        ignored_pixels (int): Pixels equal to ``ignore_index``.
        stray (dict): Stray value -> ``{'pixels': int, 'files': [str]}``.
        reduce_zero_label (bool): Whether the dataset shifted labels by -1.
    """

    classes: tuple
    ignore_index: int
    pixels: np.ndarray
    image_pixels: np.ndarray
    images: np.ndarray
    num_images: int = 0
    ignored_pixels: int = 0
    stray: Dict[int, dict] = field(default_factory=dict)
    reduce_zero_label: bool = False

    @property
    def present(self) -> np.ndarray:
        """np.ndarray: Bool mask of the classes with at least one pixel."""
        return self.pixels > 0

    @property
    def labelled_pixels(self) -> int:
        """int: Pixels with a class in [0, num_classes)."""
        return int(self.pixels.sum())


def build_count_datasets(cfg) -> list:
    """The datasets inside ``cfg.train_dataloader.dataset``'s wrappers, built
    with an annotation-only pipeline.

    Wrappers that repeat or resample (``RepeatDataset``,
    ``ClassBalancedDataset``, ``MultiImageMixDataset``) are dropped, as
    :func:`~mmseg_dilated.datasets.builder.unwrap_dataset` does: the
    frequencies of the underlying images are wanted. ``ConcatDataset``
    contributes each of its datasets. Each pipeline keeps the config's own
    ``LoadAnnotations`` (its decode backend and file backend) and drops every
    other transform; with none in the config, a default ``LoadAnnotations`` is
    used.

    Args:
        cfg (mmengine.Config): A training config; not modified.

    Returns:
        list: Built datasets (mmseg's ``DATASETS`` registry).
    """
    cfg = copy.deepcopy(cfg)
    for leaf in unwrap_dataset(cfg.train_dataloader.dataset):
        loaders = select_transforms(leaf.get('pipeline'), lambda name: name == 'LoadAnnotations')
        leaf['pipeline'] = loaders or [dict(type='LoadAnnotations')]
    return build_dataset_from_config(cfg, 'train', unwrap=True)


def count_class_pixels(datasets: Sequence, progress: bool = False) -> ClassPixelCounts:
    """Count the pixels of each class over datasets built by
    :func:`build_count_datasets`.

    Args:
        datasets (Sequence): Datasets sharing their classes.
        progress (bool): Show mmengine's progress bar (on stdout).
            Default: False.

    Returns:
        ClassPixelCounts: The statistics.
    """
    classes = tuple(datasets[0].metainfo['classes'])
    ignore_index = getattr(datasets[0], 'ignore_index', 255)
    for dataset in datasets[1:]:
        if tuple(dataset.metainfo['classes']) != classes:
            raise ValueError('the datasets to count have different classes')
    num_classes = len(classes)
    counts = ClassPixelCounts(
        classes=classes,
        ignore_index=ignore_index,
        pixels=np.zeros(num_classes, np.int64),
        image_pixels=np.zeros(num_classes, np.int64),
        images=np.zeros(num_classes, np.int64),
        reduce_zero_label=bool(datasets[0].metainfo.get('reduce_zero_label', False)),
    )

    samples = [(d, i) for d in datasets for i in range(len(d))]
    for dataset, idx in track_iter_progress(samples) if progress else samples:
        info = dataset.get_data_info(idx)
        # The pipeline is called directly: BaseDataset.__getitem__ would
        # silently substitute a random other sample on failure.
        seg_map = np.asarray(dataset.pipeline(info)['gt_seg_map'])
        _count_one(counts, seg_map, info.get('seg_map_path', str(idx)))
    return counts


def _count_one(counts: ClassPixelCounts, seg_map: np.ndarray, name: str) -> None:
    values, numbers = np.unique(seg_map, return_counts=True)
    num_classes = len(counts.classes)
    in_range = ~stray_label_mask(values, num_classes, counts.ignore_index)
    in_range &= values != counts.ignore_index
    cls, cls_pixels = values[in_range].astype(np.int64), numbers[in_range]
    counts.pixels[cls] += cls_pixels
    counts.image_pixels[cls] += int(cls_pixels.sum())
    counts.images[cls] += 1
    counts.num_images += 1
    for value, number in zip(values[~in_range], numbers[~in_range]):
        value, number = int(value), int(number)
        if value == counts.ignore_index:
            counts.ignored_pixels += number
            continue
        entry = counts.stray.setdefault(value, dict(pixels=0, files=[]))
        entry['pixels'] += number
        entry['files'].append(name)


def median_frequency_weights(counts: ClassPixelCounts):
    """Median-frequency balancing weights.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``freq`` (NaN for absent classes) and
        the weights (0 for absent classes).
    """
    present = counts.present
    freq = np.full(len(counts.classes), np.nan)
    freq[present] = counts.pixels[present] / counts.image_pixels[present]
    weights = np.zeros(len(counts.classes))
    if present.any():
        weights[present] = np.median(freq[present]) / freq[present]
    return freq, weights


def enet_weights(counts: ClassPixelCounts, c: float = ENET_C):
    """ENet weights ``1 / ln(c + p_c)``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``p_c`` and the weights (0 for absent
        classes).
    """
    total = counts.labelled_pixels
    prob = counts.pixels / total if total else np.zeros(len(counts.classes))
    weights = np.where(counts.present, 1.0 / np.log(c + prob), 0.0)
    return prob, weights


def format_report(
    counts: ClassPixelCounts,
    freq: np.ndarray,
    w_mfb: np.ndarray,
    prob: np.ndarray,
    w_enet: np.ndarray,
) -> str:
    """The per-class table the tool prints."""
    table = PrettyTable()
    table.field_names = [
        'Index',
        'Class',
        'Pixels',
        'Images',
        'Freq (MFB)',
        'Weight (MFB)',
        'Prob (ENet)',
        'Weight (ENet)',
    ]
    for i, name in enumerate(counts.classes):
        table.add_row(
            [
                i,
                name,
                int(counts.pixels[i]),
                int(counts.images[i]),
                'absent' if np.isnan(freq[i]) else f'{freq[i]:.6f}',
                f'{w_mfb[i]:.6f}',
                f'{prob[i]:.6f}',
                f'{w_enet[i]:.6f}',
            ]
        )
    return (
        f'{counts.num_images} label maps, {counts.labelled_pixels} '
        f'labelled pixels, {counts.ignored_pixels} pixels of '
        f'ignore_index={counts.ignore_index}\n{table.get_string()}'
    )


def _problems(counts: ClassPixelCounts) -> List[str]:
    messages = []
    absent = [f'{i} ({n})' for i, n in enumerate(counts.classes) if not counts.present[i]]
    if absent:
        messages.append('classes never present, given weight 0: ' + ', '.join(absent))
    for value in sorted(counts.stray):
        entry = counts.stray[value]
        raw = (
            f' (file value {value + 1}, before reduce_zero_label)'
            if counts.reduce_zero_label
            else ''
        )
        files = entry['files']
        shown = ', '.join(files[:_MAX_FILES_SHOWN]) + (
            f' and {len(files) - _MAX_FILES_SHOWN} more (see the JSON summary)'
            if len(files) > _MAX_FILES_SHOWN
            else ''
        )
        messages.append(
            f'label value {value}{raw} is neither a class in '
            f'[0, {len(counts.classes)}) nor ignore_index='
            f'{counts.ignore_index}: {entry["pixels"]} pixels, not counted, '
            f'in {len(files)} file(s): {shown}'
        )
    return messages


def _json_list(array: np.ndarray) -> list:
    return [
        None if isinstance(v, float) and math.isnan(v) else v for v in np.asarray(array).tolist()
    ]


def save_weights(
    out: str,
    counts: ClassPixelCounts,
    freq: np.ndarray,
    w_mfb: np.ndarray,
    prob: np.ndarray,
    w_enet: np.ndarray,
) -> Dict[str, str]:
    """Write ``{stem}_median_freq.npy``, ``{stem}_enet.npy`` (both usable as
    ``class_weight='path.npy'``) and the JSON summary ``out``.

    Returns:
        dict[str, str]: Paths written, keyed 'json', 'median_freq', 'enet'.
    """
    stem = osp.splitext(out)[0]
    paths = dict(json=out, median_freq=f'{stem}_median_freq.npy', enet=f'{stem}_enet.npy')
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    np.save(paths['median_freq'], w_mfb.astype(np.float32))
    np.save(paths['enet'], w_enet.astype(np.float32))
    summary = dict(
        classes=list(counts.classes),
        ignore_index=counts.ignore_index,
        reduce_zero_label=counts.reduce_zero_label,
        num_images=counts.num_images,
        labelled_pixels=counts.labelled_pixels,
        ignored_pixels=counts.ignored_pixels,
        pixels=counts.pixels.tolist(),
        images=counts.images.tolist(),
        image_pixels=counts.image_pixels.tolist(),
        absent_classes=[n for i, n in enumerate(counts.classes) if not counts.present[i]],
        stray_labels={str(k): v for k, v in sorted(counts.stray.items())},
        median_freq=dict(freq=_json_list(freq), weights=w_mfb.tolist(), file=paths['median_freq']),
        enet=dict(c=ENET_C, prob=prob.tolist(), weights=w_enet.tolist(), file=paths['enet']),
    )
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    return paths


def class_weights_from_config(cfg, out: Optional[str] = None, progress: bool = False) -> dict:
    """Count ``cfg.train_dataloader.dataset``, compute both weightings, warn
    about absent classes and stray labels, and save the weights if ``out`` is
    set. Nothing is printed (but the progress bar, when asked for): the
    report is returned for the caller to show.

    Args:
        cfg (mmengine.Config): A training config.
        out (str, optional): Path of the JSON summary; the .npy files go
            beside it. Default: None (nothing saved).
        progress (bool): Show mmengine's progress bar. Default: False.

    Returns:
        dict: ``counts``, ``freq``, ``median_freq``, ``prob``, ``enet``,
        ``paths`` (None when ``out`` is None) and ``report`` (the per-class
        table of :func:`format_report`).
    """
    datasets = build_count_datasets(cfg)
    counts = count_class_pixels(datasets, progress=progress)
    if counts.labelled_pixels == 0:
        raise ValueError('no labelled pixel in the training set')
    freq, w_mfb = median_frequency_weights(counts)
    prob, w_enet = enet_weights(counts)
    for message in _problems(counts):
        warnings.warn(message)
    paths = None
    if out is not None:
        paths = save_weights(out, counts, freq, w_mfb, prob, w_enet)
    return dict(
        counts=counts,
        freq=freq,
        median_freq=w_mfb,
        prob=prob,
        enet=w_enet,
        paths=paths,
        report=format_report(counts, freq, w_mfb, prob, w_enet),
    )
