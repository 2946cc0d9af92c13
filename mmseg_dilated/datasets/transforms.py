"""Data transforms of the references' training pipelines that mmseg does not have."""

from typing import Sequence

import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

PADDING_MODES = ('constant', 'edge', 'reflect', 'symmetric')


@TRANSFORMS.register_module()
class CenterPad(BaseTransform):
    """Pad an image and its segmentation maps on both sides to at least ``size``.

    The DRN authors' ``RandomCrop`` (fyu/drn ``data_transforms.py``) pads an
    image smaller than the crop before cropping it: the missing rows and
    columns are split between both sides (``top = (crop_h - h) // 2``, the
    rest at the bottom; the same for left and right), the image is padded by
    reflection and the label map with 255. mmseg's ``RandomCrop`` instead
    returns the smaller crop and the data preprocessor pads it at the bottom
    and the right with zeros. Placed before mmseg's ``RandomCrop``, this
    transform gives the authors' padding; an image at least ``size`` in both
    dimensions passes unchanged.

    Required keys: ``img``; ``gt_seg_map`` and every key in ``seg_fields``
    when present.
    Modified keys: ``img``, ``img_shape``, the segmentation maps.

    Args:
        size (Sequence[int]): Minimum ``(height, width)`` after padding,
            usually the crop size.
        padding_mode (str): How the image is padded, as in ``mmcv.impad``:
            'reflect' (the authors': mirror without repeating the edge pixel,
            as ``numpy.pad(mode='reflect')``), 'symmetric', 'edge' or
            'constant'. Default: 'reflect'.
        pad_val (float): Image value with ``padding_mode='constant'``.
            Default: 0.
        seg_pad_val (int): Value of the padded label pixels, ignored by the
            loss. Default: 255.
    """

    def __init__(
        self,
        size: Sequence[int],
        padding_mode: str = 'reflect',
        pad_val: float = 0,
        seg_pad_val: int = 255,
    ):
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 2
            or not all(isinstance(s, int) and s > 0 for s in size)
        ):
            raise ValueError(
                f'CenterPad: size must be (height, width), two positive ints, got {size!r}'
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f'CenterPad: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
            )
        self.size = tuple(size)
        self.padding_mode = padding_mode
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _padding(self, shape):
        """(left, top, right, bottom), as ``mmcv.impad`` takes it."""
        extra_h = max(self.size[0] - shape[0], 0)
        extra_w = max(self.size[1] - shape[1], 0)
        top, left = extra_h // 2, extra_w // 2
        return left, top, extra_w - left, extra_h - top

    def transform(self, results: dict) -> dict:
        img = results['img']
        padding = self._padding(img.shape[:2])
        if not any(padding):
            return results
        # OpenCV fills only the first channel with a scalar: one value per channel
        pad_val = (self.pad_val,) * img.shape[2] if img.ndim == 3 else self.pad_val
        padded = mmcv.impad(img, padding=padding, pad_val=pad_val, padding_mode=self.padding_mode)
        if img.ndim == 3 and padded.ndim == 2:
            # OpenCV drops a trailing channel axis of length 1
            padded = padded[..., None]
        results['img'] = padded
        results['img_shape'] = padded.shape[:2]
        for key in results.get('seg_fields', []):
            if results[key].shape[:2] != img.shape[:2]:
                raise ValueError(
                    f'CenterPad: {key} is {results[key].shape[:2]}, the image '
                    f'{img.shape[:2]}; resize both together before padding'
                )
            results[key] = mmcv.impad(
                results[key], padding=padding, pad_val=self.seg_pad_val, padding_mode='constant'
            )
        return results

    def __repr__(self):
        return (
            f'{self.__class__.__name__}(size={self.size}, padding_mode={self.padding_mode!r}, '
            f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})'
        )
