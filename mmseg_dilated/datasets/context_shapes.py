"""The bundled default dataset: textured shapes whose class only context can tell.

Every shape in an image is filled with the *same* texture (fresh grey noise of one distribution).
Its class (square, disk, triangle) shows only at its rim: in its outline, and in a 2-pixel border
drawn in the class's colour (red, green, blue). A pixel in the interior of a shape therefore looks
the same whatever the class; only a receptive field that reaches the rim decides. Shapes are large
(the area of a disk of radius 31-42 px in a 128 px image): their deepest pixels lie 24-42 px from
the rim (the inradius: squares 27-37, disks 31-42, triangles 24-33), beyond the reach of a front-end
whose receptive field is 39 px wide. The background is smooth, so telling shape from background is a
local problem and telling the classes apart is a contextual one.

The data is written in the Pascal VOC layout mmseg reads (``JPEGImages/*.jpg``,
``SegmentationClass/*.png`` as palette PNGs, ``ImageSets/Segmentation/{train,val}.txt``), generated
deterministically from a seed on first use.
"""

import json
import math
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

CLASSES = ('background', 'square', 'disk', 'triangle')
PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
_META_FILE = 'context_shapes.json'
_GENERATOR_VERSION = 4
# BGR colour of each class's border: red squares, green disks, blue triangles.
_RIM_COLOURS = {1: (40, 40, 220), 2: (40, 200, 40), 3: (220, 60, 40)}


def _shape_polygon(kind: int, cx: float, cy: float, r: float, angle: float) -> Optional[np.ndarray]:
    """Vertices of a square (1) or triangle (3) inscribed in a circle of radius r; None for a
    disk."""
    if kind == 1:
        n = 4
    elif kind == 3:
        n = 3
    else:
        return None
    t = angle + np.arange(n) * 2 * math.pi / n
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def render_sample(rng: np.random.Generator, size: int = 128, class_rims: bool = True):
    """One image (H, W, 3 uint8 BGR) and its label map (H, W uint8)."""
    label = np.zeros((size, size), np.uint8)
    placed = []
    num_shapes = int(rng.integers(1, 3))
    for _ in range(num_shapes):
        kind = int(rng.integers(1, len(CLASSES)))
        # Scale the circumradius so the three classes cover about the same area (disk 0.92^2 pi r^2)
        # and size alone does not give the class away.
        radius = float(rng.uniform(0.26, 0.36)) * size * {1: 1.15, 2: 0.92, 3: 1.43}[kind]
        for _attempt in range(50):
            cx, cy = rng.uniform(radius * 0.7, size - radius * 0.7, size=2)
            # Shapes must not touch: their class is read from their outline.
            if all(math.hypot(cx - px, cy - py) > radius + pr + 4 for px, py, pr in placed):
                break
        else:
            continue
        placed.append((cx, cy, radius))
        poly = _shape_polygon(kind, cx, cy, radius, float(rng.uniform(0, 2 * math.pi)))
        if poly is None:
            cv2.circle(
                label,
                (int(round(cx * 16)), int(round(cy * 16))),
                int(round(radius * 16)),
                kind,
                -1,
                lineType=cv2.LINE_8,
                shift=4,
            )
        else:
            cv2.fillPoly(
                label, [np.round(poly * 16).astype(np.int32)], kind, lineType=cv2.LINE_8, shift=4
            )
    # Smooth background: a low-frequency grey field.
    low = rng.normal(0, 1, (size // 16 + 1, size // 16 + 1, 3)).astype(np.float32)
    background = 120 + 25 * cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    # The one texture every shape shares: coarse grey noise (2x2 cells), same law for all classes.
    cells = rng.uniform(40, 230, (size // 2, size // 2, 1)).astype(np.float32)
    texture = np.repeat(
        cv2.resize(cells, (size, size), interpolation=cv2.INTER_NEAREST)[..., None], 3, axis=2
    )
    image = np.where(label[..., None] > 0, texture, background)
    # The class cue, at the rim only: a 2-pixel border in the class's colour.
    for kind, colour in _RIM_COLOURS.items() if class_rims else ():
        mask = (label == kind).astype(np.uint8)
        rim = mask & (1 - cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2))
        image[rim.astype(bool)] = colour
    return np.clip(image, 0, 255).astype(np.uint8), label


def _write_split(root: str, split: str, names, rng_seed: int, size: int, class_rims: bool):
    for i, name in enumerate(names):
        rng = np.random.default_rng([rng_seed, 0 if split == 'train' else 1, i])
        image, label = render_sample(rng, size, class_rims)
        cv2.imwrite(
            osp.join(root, 'JPEGImages', name + '.jpg'), image, [cv2.IMWRITE_JPEG_QUALITY, 95]
        )
        png = Image.fromarray(label, mode='P')
        flat = [c for rgb in PALETTE for c in rgb]
        png.putpalette(flat + [255, 255, 255] * (256 - len(PALETTE)))
        png.save(osp.join(root, 'SegmentationClass', name + '.png'))
    with open(osp.join(root, 'ImageSets', 'Segmentation', split + '.txt'), 'w') as f:
        f.write('\n'.join(names) + '\n')


def generate_context_shapes(
    data_root: str,
    num_train: int = 240,
    num_val: int = 60,
    image_size: int = 128,
    seed: int = 0,
    class_rims: bool = True,
) -> str:
    """Write the dataset under ``data_root`` unless an identical one is there already.

    Generation happens in a temporary folder beside ``data_root`` that is renamed into place, so an
    interrupted run leaves nothing half-written and several processes (distributed ranks) may call
    this at once.

    Returns:
        str: ``data_root``.
    """
    params = dict(
        version=_GENERATOR_VERSION,
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        seed=seed,
        class_rims=class_rims,
    )
    meta_path = osp.join(data_root, _META_FILE)
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            found = json.load(f)
        if found != params:
            raise ValueError(
                f'{data_root} holds a context-shapes dataset generated with {found}, but the '
                f'config asks for {params}. Delete {data_root} to regenerate it, or point '
                'data_root elsewhere.'
            )
        return data_root
    if osp.exists(data_root) and os.listdir(data_root):
        raise ValueError(
            f'{data_root} exists but is not a generated context-shapes dataset (no {_META_FILE}). '
            'Move it away or point data_root at an empty or missing folder.'
        )
    parent = osp.dirname(osp.abspath(data_root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.context_shapes-', dir=parent)
    try:
        for sub in ('JPEGImages', 'SegmentationClass', osp.join('ImageSets', 'Segmentation')):
            os.makedirs(osp.join(tmp, sub))
        for split, count in (('train', num_train), ('val', num_val)):
            _write_split(
                tmp, split, [f'{split}_{i:05d}' for i in range(count)], seed, image_size, class_rims
            )
        with open(osp.join(tmp, _META_FILE), 'w') as f:
            json.dump(params, f)
        if osp.isdir(data_root) and not os.listdir(data_root):
            os.rmdir(data_root)
        try:
            os.rename(tmp, data_root)
        except OSError:
            # Another process finished first; its data is identical.
            if not osp.isfile(meta_path):
                raise
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return data_root


@DATASETS.register_module()
class ContextShapesDataset(BaseSegDataset):
    """Textured shapes whose class only context tells apart (the bundled default data).

    A :class:`~mmseg.datasets.BaseSegDataset` in the Pascal VOC layout, generated under
    ``data_root`` on first use. See the module docstring for how the data is made.

    Args:
        generate (bool): Generate the data if ``data_root`` does not hold it yet. Default: True.
        num_train (int): Training images. Default: 240.
        num_val (int): Validation images. Default: 60.
        image_size (int): Side of the square images. Default: 128.
        seed (int): Seed of the generator. Default: 0.
        class_rims (bool): Draw each shape's 2-pixel border in its class's colour. Without it the
            class shows only in the outline's geometry (a harder, purely shape-based task).
            Default: True.
        **kwargs: Passed to :class:`~mmseg.datasets.BaseSegDataset` (``data_root``, ``ann_file``,
            ``data_prefix``, ``pipeline``, ...).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(
        self,
        generate: bool = True,
        num_train: int = 240,
        num_val: int = 60,
        image_size: int = 128,
        seed: int = 0,
        class_rims: bool = True,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        **kwargs,
    ) -> None:
        data_root = kwargs.get('data_root')
        if generate:
            if not data_root:
                raise ValueError(
                    'ContextShapesDataset needs data_root: the folder to generate into.'
                )
            generate_context_shapes(data_root, num_train, num_val, image_size, seed, class_rims)
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
