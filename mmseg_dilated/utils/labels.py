"""The label-range rule: a label value is a class ``0 .. num_classes - 1`` or the ignore index.

A value outside both makes cross-entropy fail (``IndexError: Target N is out of bounds`` on CPU, a
device-side assert on CUDA) or, in mmseg's IoU metric, silently counts as no class. One rule, used
by the sample checks of the data pipeline, the dataset audit (``check-dataset``), the class-pixel
counts and the focal loss. It works on numpy arrays and torch tensors alike.
"""

__all__ = ['stray_label_mask', 'stray_label_counts', 'format_label_counts']


def stray_label_mask(label, num_classes: int, ignore_index: int):
    """Elementwise: True where ``label`` is neither a class in ``[0, num_classes)`` nor
    ``ignore_index``. ``label`` is a numpy array or a torch tensor; so is the result."""
    return ((label < 0) | (label >= num_classes)) & (label != ignore_index)


def stray_label_counts(values, counts, num_classes: int, ignore_index: int) -> dict:
    """``{value: pixels}`` of the stray values, given a label's unique ``values`` and their
    ``counts`` (``np.unique(..., return_counts=True)`` or ``torch.unique``'s)."""
    bad = stray_label_mask(values, num_classes, ignore_index)
    return {int(v): int(c) for v, c in zip(values[bad], counts[bad])}


def format_label_counts(strays: dict, limit: int = 10) -> str:
    """``'7 (120 px), 9 (3 px)'``: the stray values with their pixel counts, at most ``limit``."""
    items = list(strays.items())
    shown = ', '.join(f'{v} ({c} px)' for v, c in items[:limit])
    return shown + (f', ... ({len(items)} values in all)' if len(items) > limit else '')
