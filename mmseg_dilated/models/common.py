"""Model utilities shared by the backbones and the heads: the backbones' default initialisation and
train-mode rules, the one gradient-checkpointing rule, and the one check of per-layer int
arguments (dilations, strides) and of per-block dilation rates."""

import warnings
from typing import Callable, Mapping, Optional, Sequence

import torch
import torch.utils.checkpoint as cp
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

# The DRN reference's init: normal(0, sqrt(2 / (k * k * out_channels))) for convs (Kaiming,
# fan_out), norm weight 1 and bias 0.
DEFAULT_INIT_CFG = [
    dict(
        type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu', distribution='normal'
    ),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
]


def resolve_init_cfg(pretrained, init_cfg):
    """``init_cfg`` from the deprecated ``pretrained`` path or the default, as mmseg's backbones do.

    Args:
        pretrained (str | None): Deprecated path of pretrained weights.
        init_cfg (dict | list[dict] | None): The backbone's init_cfg.

    Returns:
        dict | list[dict]: The init_cfg to use.
    """
    if init_cfg is not None and pretrained is not None:
        raise ValueError('init_cfg and pretrained cannot be set at the same time')
    if isinstance(pretrained, str):
        warnings.warn('DeprecationWarning: pretrained is deprecated, please use "init_cfg" instead')
        return dict(type='Pretrained', checkpoint=pretrained)
    if pretrained is not None:
        raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
    return init_cfg if init_cfg is not None else [dict(c) for c in DEFAULT_INIT_CFG]


class FrozenNormEvalMixin:
    """``train()`` that keeps frozen levels (``_freeze_stages``) and, with ``norm_eval``, every BN
    layer in eval mode, as mmseg's ResNet does."""

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def check_out_indices(out_indices, num_levels, levels):
    """``out_indices`` as a tuple of increasing level indices in ``0..num_levels - 1``.

    Args:
        out_indices (int | Sequence[int]): The backbone's argument.
        num_levels (int): Levels the backbone builds.
        levels (str): How the error message names the levels, e.g. 'layer1..layer8 of DRN-D'.

    Returns:
        tuple[int]: The indices.
    """
    if isinstance(out_indices, int):
        out_indices = (out_indices,)
    out_indices = tuple(out_indices)
    if (
        not out_indices
        or any(not isinstance(i, int) or not 0 <= i < num_levels for i in out_indices)
        or list(out_indices) != sorted(set(out_indices))
    ):
        raise ValueError(
            f'out_indices must be increasing level indices in 0..{num_levels - 1} '
            f'({levels}), got {out_indices}'
        )
    return out_indices


def check_frozen_stages(frozen_stages, num_levels):
    """Refuse a ``frozen_stages`` outside ``-1..num_levels``."""
    if not (isinstance(frozen_stages, int) and -1 <= frozen_stages <= num_levels):
        raise ValueError(f'frozen_stages must be an int in -1..{num_levels}, got {frozen_stages!r}')


def freeze(modules):
    """Put modules in eval mode and stop their parameters' gradients."""
    for m in modules:
        m.eval()
        for param in m.parameters():
            param.requires_grad = False


def checkpoint_if(enabled: bool, fn: Callable, *args):
    """``fn(*args)``, recomputed in backward (gradient checkpointing) when ``enabled`` and autograd
    is recording; the one rule every ``with_cp`` of this package follows.

    The test is whether autograd records at all, not whether the input requires grad: the
    non-reentrant form keeps parameter gradients for an input that does not (the image entering a
    stem, or the features a head gets from a frozen backbone), where ``x.requires_grad`` would
    silently skip checkpointing. It also replays dropout masks from the saved RNG state and handles
    in-place ops inside ``fn``.
    """
    if enabled and torch.is_grad_enabled():
        return cp.checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


def check_positive_ints(name: str, values, length: Optional[int] = None, hint: str = '') -> tuple:
    """``values`` as a tuple, after checking that it is a non-empty sequence of positive ints (of
    ``length`` items when given).

    Raises:
        ValueError: Naming ``name``, the expected form, ``hint`` and what was given.
    """
    ok = (
        isinstance(values, Sequence)
        and not isinstance(values, str)
        and len(values) > 0
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
        and (length is None or len(values) == length)
    )
    if not ok:
        count = f'{length} ' if length is not None else 'a non-empty list/tuple of '
        raise ValueError(f'{name} must be {count}positive ints{hint}; got {values!r}')
    return tuple(values)


def check_block_dilations(block_dilations, blocks_per_level: Sequence[int], levels: str) -> dict:
    """Per-block dilation rates, one tuple per named level, checked and expanded.

    Hybrid dilated convolution (`Wang et al., WACV 2018 <https://arxiv.org/abs/1702.08502>`_) gives
    the blocks of a level different rates, e.g. (1, 2, 5) cycled, so that the level samples every
    pixel of its field instead of a checkerboard.

    Args:
        block_dilations (dict[int, Sequence[int]] | None): Level number (1-based, as the level's
            module name: 5 is ``layer5``) -> rates, either one per block of that level or a cycle
            whose length divides the level's block count (repeated over its blocks).
        blocks_per_level (Sequence[int]): Blocks (dilatable units) of each level built.
        levels (str): How the error messages name the levels, e.g. 'layer1..layer8 of DRN-D'.

    Returns:
        dict[int, tuple[int]]: Level number -> one rate per block (empty for None).

    Raises:
        ValueError: Naming ``block_dilations``, the level, and the valid levels / lengths.
    """
    if block_dilations is None:
        return {}
    num_levels = len(blocks_per_level)
    if not isinstance(block_dilations, Mapping):
        raise ValueError(
            'block_dilations must be a dict {level: rates} with levels in '
            f'1..{num_levels} ({levels}), e.g. {{5: (1, 2, 5)}}; got '
            f'{block_dilations!r}'
        )
    expanded = {}
    for level, rates in block_dilations.items():
        if isinstance(level, str) and level.isdigit():  # keys from --cfg-options are strings
            level = int(level)
        if not (
            isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= num_levels
        ):
            raise ValueError(
                f'block_dilations: unknown level {level!r}; valid levels are '
                f'1..{num_levels} ({levels})'
            )
        num_blocks = blocks_per_level[level - 1]
        rates = check_positive_ints(f'block_dilations[{level}]', rates)
        if num_blocks % len(rates):
            lengths = tuple(n for n in range(1, num_blocks + 1) if num_blocks % n == 0)
            raise ValueError(
                f'block_dilations[{level}] must give {num_blocks} rates (one per block of level '
                f'{level}, {levels}) or a cycle whose length divides {num_blocks} (valid '
                f'lengths: {lengths}); got {len(rates)}: {rates}'
            )
        expanded[level] = rates * (num_blocks // len(rates))
    return expanded
