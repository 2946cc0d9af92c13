"""Convert torchvision VGG-16 (or VGG-16-BN) weights to
:class:`~mmseg_dilated.models.backbones.DilatedVGG` keys.

Source layout: ``features.N.{weight,bias}`` for the 13 convs (and, for vgg16_bn, the BN after each
one), ``classifier.0`` = fc6 as a ``F x 25088`` linear, ``classifier.3`` = fc7 ``F x F``,
``classifier.6`` = the 1000-way ImageNet classifier (dropped). fc6 is reshaped to ``F x 512 x 7 x
7`` (the linear layer reads the flattened ``512 x 7 x 7`` pool5 map in C, H, W order, which is the
conv kernel's layout) and fc7 to ``F x F x 1 x 1``.

For vgg16_bn the target is ``DilatedVGG(norm_cfg=dict(type='BN'))``, whose convs have no bias
(mmcv's ConvModule drops it before a norm); the torchvision conv bias is folded into the BN running
mean (``BN(Wx + b)`` with mean ``m`` equals ``BN(Wx)`` with mean ``m - b``), which is exact.

Output: ``{'state_dict': ..., 'meta': {...}}`` with prefix-less backbone keys, or ``backbone.*``
keys with ``full_model=True``.
"""

import os
from collections import OrderedDict
from typing import Dict, Tuple

import torch

from ..utils.checkpoint import load_state_dict_file
from ..utils.errors import UserError
from .hashes import verify_weight_file

__all__ = ['VGGCheckpointError', 'convert_vgg', 'convert_vgg_checkpoint']

_VGG16_WIDTHS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
_CONV_NAMES = (
    'conv1_1',
    'conv1_2',
    'conv2_1',
    'conv2_2',
    'conv3_1',
    'conv3_2',
    'conv3_3',
    'conv4_1',
    'conv4_2',
    'conv4_3',
    'conv5_1',
    'conv5_2',
    'conv5_3',
)


class VGGCheckpointError(UserError, ValueError):
    """The checkpoint is not a torchvision VGG-16 checkpoint."""


def convert_vgg(
    state_dict: Dict[str, torch.Tensor], include_fc: bool = True, full_model: bool = False
) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """Convert a torchvision VGG-16 / VGG-16-BN state dict.

    Args:
        state_dict (dict): Source state dict (unwrapped, no ``module.`` prefix).
        include_fc (bool): Convert fc6/fc7 (needs ``fc_channels`` equal to the source's).
        full_model (bool): Prefix the keys with ``backbone.``.

    Returns:
        tuple: The converted state dict and ``dict(norm='BN' or None, fc_channels=F or None)``.

    Raises:
        VGGCheckpointError: Not a torchvision VGG-16 layout.
    """
    feats = {}
    # torchvision's ImageNet example wraps only ``features`` in DataParallel
    state_dict = {k.replace('features.module.', 'features.', 1): v for k, v in state_dict.items()}
    for k, v in state_dict.items():
        if k.startswith('features.'):
            _, idx, name = k.split('.', 2)
            feats.setdefault(int(idx), {})[name] = v
        elif not k.startswith('classifier.'):
            raise VGGCheckpointError(
                f'not a torchvision VGG-16 checkpoint: unexpected key {k!r} (expected features.N.* '
                'and classifier.{0,3,6}.*)'
            )
    convs = []  # (conv params, bn params or None)
    for idx in sorted(feats):
        params = feats[idx]
        w = params.get('weight')
        if w is not None and w.dim() == 4:
            convs.append([params, None])
        elif 'running_mean' in params and convs and convs[-1][1] is None:
            convs[-1][1] = params
        else:
            raise VGGCheckpointError(
                f'not a torchvision VGG-16 checkpoint: features.{idx} holds {sorted(params)}'
            )
    widths = tuple(int(c[0]['weight'].shape[0]) for c in convs)
    if widths != _VGG16_WIDTHS or any(c[0]['weight'].shape[-2:] != (3, 3) for c in convs):
        raise VGGCheckpointError(
            f'not a VGG-16 checkpoint: expected 13 3x3 convs of widths '
            f'{_VGG16_WIDTHS}, found {len(convs)} of widths {widths}'
        )
    with_bn = [c[1] is not None for c in convs]
    if any(with_bn) and not all(with_bn):
        raise VGGCheckpointError('some convs have a BN and others not; expected vgg16 or vgg16_bn')
    with_bn = all(with_bn)

    out = OrderedDict()
    for name, (conv, bn) in zip(_CONV_NAMES, convs):
        out[f'{name}.conv.weight'] = conv['weight']
        if not with_bn:
            out[f'{name}.conv.bias'] = conv['bias']
            continue
        bias = conv.get('bias')
        mean = bn['running_mean'] - (bias if bias is not None else 0)
        out[f'{name}.bn.weight'] = bn['weight']
        out[f'{name}.bn.bias'] = bn['bias']
        out[f'{name}.bn.running_mean'] = mean
        out[f'{name}.bn.running_var'] = bn['running_var']
        out[f'{name}.bn.num_batches_tracked'] = bn.get(
            'num_batches_tracked', torch.tensor(0, dtype=torch.long)
        )

    fc_channels = None
    if include_fc:
        try:
            fc6_w, fc6_b = state_dict['classifier.0.weight'], state_dict['classifier.0.bias']
            fc7_w, fc7_b = state_dict['classifier.3.weight'], state_dict['classifier.3.bias']
        except KeyError as e:
            raise VGGCheckpointError(
                f'missing fc weights {e} (classifier.0 = fc6, classifier.3 = '
                'fc7); convert with include_fc=False / --no-fc'
            ) from None
        fc_channels = int(fc6_w.shape[0])
        if fc6_w.shape != (fc_channels, 512 * 7 * 7) or fc7_w.shape != (fc_channels, fc_channels):
            raise VGGCheckpointError(
                f'fc6/fc7 shapes {tuple(fc6_w.shape)}/{tuple(fc7_w.shape)}, expected '
                f'(F, 25088)/(F, F)'
            )
        out['fc6.conv.weight'] = fc6_w.reshape(fc_channels, 512, 7, 7)
        out['fc6.conv.bias'] = fc6_b
        out['fc7.conv.weight'] = fc7_w.reshape(fc_channels, fc_channels, 1, 1)
        out['fc7.conv.bias'] = fc7_b
    if full_model:
        out = OrderedDict((f'backbone.{k}', v) for k, v in out.items())
    return out, dict(norm='BN' if with_bn else None, fc_channels=fc_channels)


def convert_vgg_checkpoint(
    src: str, dst: str, include_fc: bool = True, full_model: bool = False, check_hash: bool = True
) -> dict:
    """Convert the file ``src`` and save ``{'state_dict', 'meta'}`` to ``dst``.

    Args:
        check_hash (bool): First check ``src`` against the SHA-256 its name or the table of
            published files promises (:func:`~mmseg_dilated.converters.hashes.verify_weight_file`).
            Default: True.

    Returns:
        dict: As :func:`convert_vgg`, plus ``hash`` (a ``HashCheck``, None unchecked).

    Raises:
        WeightHashError: ``src`` is not the file its name promises.
        VGGCheckpointError: ``src`` is not a VGG-16 checkpoint (the message names the file).
    """
    check = verify_weight_file(src) if check_hash else None
    try:
        state_dict, info = convert_vgg(load_state_dict_file(src), include_fc, full_model)
    except VGGCheckpointError as err:  # name the file
        raise VGGCheckpointError(f'{src}: {err}') from None
    info['hash'] = check
    meta = dict(
        converted_from=str(src),
        source_sha256=check.sha256 if check else None,
        norm=info['norm'],
        fc_channels=info['fc_channels'],
    )
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    return info
