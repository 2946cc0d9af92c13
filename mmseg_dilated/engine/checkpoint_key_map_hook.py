"""Rename checkpoint keys on load: a stage's weights become the next stage's under other names.

The staged protocol of `Yu & Koltun (ICLR 2016) <https://arxiv.org/abs/1511.07122>`_ trains the
front-end first and the context module on its class scores next. In mmseg terms the front-end's
1x1 classifier is ``decode_head.conv_seg`` (``FCNHead`` with ``num_convs=0``), while in
:class:`~mmseg_dilated.models.decode_heads.ContextHead` the same layer is ``decode_head.classifier``
and ``conv_seg`` is the context module's last layer. Loaded as it is (``load_from``), the
front-end's classifier would be offered to the module's last layer (and skipped for its shape), and
the head's classifier would keep its random initialisation.
"""

import logging
from collections import OrderedDict
from typing import Dict, List, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

__all__ = ['CheckpointKeyMapHook', 'map_state_dict_keys', 'FRONTEND_TO_CONTEXT_HEAD']

# The front-end's 1x1 classifier (FCNHead, num_convs=0) -> ContextHead's classifier (a ConvModule).
FRONTEND_TO_CONTEXT_HEAD = {'decode_head.conv_seg.': 'decode_head.classifier.conv.'}


def _map_key(key: str, key_map: Dict[str, str]) -> str:
    for src, dst in key_map.items():
        if key.startswith(src):
            return dst + key[len(src) :]
    return key


def map_state_dict_keys(state_dict: Dict, key_map: Dict[str, str]) -> Tuple[Dict, List[str]]:
    """Rename the keys of ``state_dict`` that start with a ``key_map`` prefix.

    A key ``src + rest`` becomes ``key_map[src] + rest``; other keys are kept as they are. Nothing
    is renamed when the state dict already holds a key under any destination prefix: it is then a
    checkpoint of the model being trained (a resume, a later stage's test), not of the earlier
    stage, and renaming would move that model's own ``conv_seg`` onto its classifier.

    Args:
        state_dict (dict): Parameter name -> tensor (an mmengine checkpoint's ``state_dict``).
        key_map (dict[str, str]): Source prefix -> destination prefix, e.g.
            ``{'decode_head.conv_seg.': 'decode_head.classifier.conv.'}``.

    Returns:
        tuple[dict, list[str]]: The state dict with renamed keys (a new ``OrderedDict``, same
        order, same tensors, torch's ``_metadata`` kept) and the source keys that were renamed,
        empty when nothing was.
    """
    if (
        not isinstance(key_map, dict)
        or not key_map
        or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in key_map.items()
        )
    ):
        raise ValueError(
            'key_map must be a non-empty dict of source prefix -> destination '
            f'prefix (non-empty strings), got {key_map!r}'
        )
    if any(key.startswith(dst) for key in state_dict for dst in key_map.values()):
        return state_dict, []
    mapped, renamed = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = _map_key(key, key_map)
        if new_key != key:
            renamed.append(key)
        mapped[new_key] = value
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:  # module versions, which norm layers read on load
        mapped._metadata = OrderedDict(
            (_map_key(name + '.', key_map)[:-1] if name else name, value)
            for name, value in metadata.items()
        )
    return mapped, renamed


@HOOKS.register_module()
class CheckpointKeyMapHook(Hook):
    """Rename the keys of every checkpoint the runner loads (``load_from``, ``resume``), before
    mmengine copies it into the model.

    Used by the staged configs (``configs/staged/``) to start stage 2 of `Yu & Koltun (ICLR 2016)
    <https://arxiv.org/abs/1511.07122>`_ from the front-end's checkpoint: with the default
    ``key_map``, the front-end's ``decode_head.conv_seg`` becomes ``ContextHead``'s
    ``decode_head.classifier.conv``, and the backbone's weights load unchanged. A checkpoint that
    already holds the destination keys (the stage's own, when resuming) is loaded unchanged: see
    :func:`map_state_dict_keys`.

    Args:
        key_map (dict[str, str]): Source prefix -> destination prefix.
            Default: ``{'decode_head.conv_seg.': 'decode_head.classifier.conv.'}``.

    Example:
        >>> custom_hooks = [dict(type='CheckpointKeyMapHook')]
        >>> load_from = 'work_dirs/frontend_toy/iter_2000.pth'
    """

    priority = 'VERY_HIGH'

    def __init__(self, key_map: Dict[str, str] = None):
        key_map = dict(FRONTEND_TO_CONTEXT_HEAD) if key_map is None else key_map
        map_state_dict_keys({}, key_map)  # check the argument at build time
        self.key_map = dict(key_map)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state_dict = checkpoint.get('state_dict', checkpoint)
        mapped, renamed = map_state_dict_keys(state_dict, self.key_map)
        if not renamed:
            return
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = mapped
        else:  # a bare state dict: mmengine loads the dict itself
            checkpoint.clear()
            checkpoint.update(mapped)
        print_log(
            'CheckpointKeyMapHook: '
            + ', '.join(f'{key} -> {_map_key(key, self.key_map)}' for key in renamed),
            logger='current',
            level=logging.INFO,
        )
