"""Samples synthesised in a dataset's own file format, for a dry run without the real data.

A dry run measures the run as it would be, the data pipeline included, so the synthesised samples
are files laid out as the dataset class expects them (its ``data_prefix`` folders, its
``img_suffix`` and ``seg_map_suffix``, its ``ann_file`` list), at the dataset's image size, and
they go through the config's own transforms (decoding, resizing, cropping, flipping) as real files
would. Images are smooth random colour fields with a little noise, so that their PNG or JPEG files
are about the size of photographs' and decode in about the same time; labels are blocks of random
classes (plus the ignore index at the border), so that every transform that looks at labels
(``RandomCrop``'s ``cat_max_ratio``, ``reduce_zero_label``) has real work to do.

What it does not reproduce: the real data's file sizes and decode times exactly (the loader's
seconds per batch on these files approximate the real ones), and its class frequencies.
"""

import inspect
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np

from ..utils.errors import UserError

__all__ = ['DataSynthesisError', 'IMAGE_SIZES', 'dataset_image_size', 'synthesise_split']

# (height, width) of the images of the datasets the shipped configs train on.
IMAGE_SIZES = {
    # Cordts et al., "The Cityscapes Dataset", CVPR 2016: 2048x1024 frames.
    'CityscapesDataset': ((1024, 2048), 'Cityscapes frames are 2048x1024'),
    # Pascal VOC 2012 images are at most 500 px on the long side, most 500x375.
    'PascalVOCDataset': ((375, 500), 'most Pascal VOC images are 500x375'),
}
_BLOCK = 64  # side of the label blocks and of the colour field's grid, in pixels


class DataSynthesisError(UserError, ValueError):
    """A dataset whose files the dry run does not know how to synthesise."""


def _pipeline_size(pipeline) -> Optional[Tuple[Tuple[int, int], str]]:
    for step in pipeline or []:
        if not isinstance(step, dict):
            continue
        if step.get('type') in ('Resize', 'RandomResize') and isinstance(
            step.get('scale'), (list, tuple)
        ):
            width, height = step['scale'][:2]  # mmseg's scale is (w, h)
            return (int(height), int(width)), f"the pipeline's {step['type']} scale"
    for step in pipeline or []:
        if isinstance(step, dict) and step.get('type') == 'RandomCrop':
            height, width = step['crop_size']
            return (int(height), int(width)), "the pipeline's crop size"
    return None


def dataset_image_size(ds_cfg) -> Tuple[Tuple[int, int], str]:
    """(height, width) to synthesise images of ``ds_cfg``'s dataset at, and where it comes from:
    :data:`IMAGE_SIZES`, else the pipeline's first resize scale or crop, else 512x512."""
    kind = ds_cfg.get('type')
    if kind in IMAGE_SIZES:
        return IMAGE_SIZES[kind]
    found = _pipeline_size(ds_cfg.get('pipeline'))
    return found or ((512, 512), 'no size known for this dataset: 512x512')


def _dataset_defaults(ds_cfg) -> dict:
    from mmseg.registry import DATASETS

    cls = DATASETS.get(ds_cfg.get('type'))
    if cls is None:
        raise DataSynthesisError(
            f"dataset type {ds_cfg.get('type')!r} is not registered in mmseg's DATASETS; cannot "
            'synthesise its files. Prepare the data, or fix the type.'
        )
    defaults = {}
    for klass in reversed(cls.__mro__):
        init = vars(klass).get('__init__')
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if param.default is not inspect.Parameter.empty:
                defaults[name] = param.default
    defaults['num_classes'] = len((ds_cfg.get('metainfo') or {}).get('classes') or ()) or len(
        cls.METAINFO.get('classes', ())
    )
    return defaults


def _image(rng, height, width) -> np.ndarray:
    import cv2

    grid = rng.integers(0, 256, (height // _BLOCK + 2, width // _BLOCK + 2, 3)).astype(np.uint8)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 3, (height, width, 3))
    return np.clip(field + noise, 0, 255).astype(np.uint8)


def _label(rng, height, width, num_classes, reduce_zero_label, ignore_index) -> np.ndarray:
    import cv2

    low, high = (1, num_classes + 1) if reduce_zero_label else (0, num_classes)
    grid = rng.integers(low, high, (height // _BLOCK + 1, width // _BLOCK + 1)).astype(np.uint8)
    label = cv2.resize(grid, (width, height), interpolation=cv2.INTER_NEAREST)
    label[:8], label[-8:], label[:, :8], label[:, -8:] = (ignore_index,) * 4
    return label


def synthesise_split(ds_cfg, root: str, count: int, seed: int = 0) -> str:
    """Write ``count`` samples in the layout ``ds_cfg`` reads, under ``root``; point ``ds_cfg``
    at them (``data_root``), in place.

    Args:
        ds_cfg (dict): A leaf dataset config (mmseg ``BaseSegDataset`` layout: ``data_prefix``
            ``img_path`` / ``seg_map_path``, optional ``ann_file``).
        root (str): A new, empty folder for the files.
        count (int): Samples to write.
        seed (int): Seed of the random content. Default: 0.

    Returns:
        str: What was written, for the dry run's report.
    """
    import cv2

    defaults = _dataset_defaults(ds_cfg)
    get = lambda key: ds_cfg.get(key, defaults.get(key))  # noqa: E731
    prefix = dict(get('data_prefix') or {})
    img_dir, seg_dir = prefix.get('img_path', ''), prefix.get('seg_map_path')
    if any(osp.isabs(p or '') for p in (img_dir, seg_dir, get('ann_file'))):
        raise DataSynthesisError(
            f'{ds_cfg.get("type")}: data_prefix or ann_file is an absolute path; the dry run '
            'synthesises files only under data_root. Use paths relative to data_root.'
        )
    (height, width), size_source = dataset_image_size(ds_cfg)
    num_classes = defaults['num_classes']
    if num_classes < 1:
        raise DataSynthesisError(f'{ds_cfg.get("type")} names no classes; cannot synthesise labels')
    rng = np.random.default_rng(seed)
    names = [f'dryrun_{i:04d}' for i in range(count)]
    os.makedirs(osp.join(root, img_dir), exist_ok=True)
    for name in names:
        cv2.imwrite(osp.join(root, img_dir, name + get('img_suffix')), _image(rng, height, width))
        if seg_dir is not None:
            label = _label(
                rng,
                height,
                width,
                num_classes,
                bool(get('reduce_zero_label')),
                int(get('ignore_index')),
            )
            os.makedirs(osp.join(root, seg_dir), exist_ok=True)
            cv2.imwrite(osp.join(root, seg_dir, name + get('seg_map_suffix')), label)
    ann = get('ann_file')
    if ann:
        os.makedirs(osp.dirname(osp.join(root, ann)) or root, exist_ok=True)
        with open(osp.join(root, ann), 'w') as f:
            f.write('\n'.join(names) + '\n')
    ds_cfg['data_root'] = root
    return (
        f'{count} synthesised {ds_cfg.get("type")} samples of {height}x{width} ({size_source}), '
        f'{num_classes} classes, in its own layout ({get("img_suffix")}, '
        f'{get("seg_map_suffix")}{", " + ann if ann else ""})'
    )
