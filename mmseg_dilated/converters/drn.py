"""Convert the DRN authors' checkpoints to :class:`~mmseg_dilated.models.backbones.DRN` keys.

Two source layouts are recognised (the key names are those of the authors' ``drn.py``, fyu/drn):

* ImageNet classification checkpoints (``drn_d_22-4bd2f8ea.pth`` ...) and, for DRN-A, torchvision
  ResNet checkpoints: a plain state dict of the reference module tree plus ``fc.*``.
* Cityscapes segmentation checkpoints of the authors' ``DRNSeg``: ``base.N.*`` (the DRN's children
  in registration order with ``avgpool``/``fc`` removed), ``seg.weight``/``seg.bias`` (1x1
  classifier) and ``up.weight`` (fixed bilinear ConvTranspose2d).

Either may be wrapped as ``{'state_dict': ...}`` and carry DataParallel's ``module.`` prefix.

The DRN backbone mirrors the reference module tree, so the backbone keys are unchanged; the
converter renames DRNSeg's ``base.N``, drops the classifier ``fc.*`` and ``up.weight``, adds the
``num_batches_tracked`` buffers that pre-0.4 PyTorch checkpoints lack, works out the variant from
the keys (arch, block type, blocks per level) and checks every key and shape against the backbone it
is meant for, so that ``init_cfg=dict(type='Pretrained', checkpoint=DST)`` loads with no missing or
unexpected key.

Output: ``{'state_dict': ..., 'meta': {...}}``. By default the state dict holds prefix-less backbone
keys (for the backbone's ``init_cfg``). With ``full_model=True`` the keys are ``backbone.*`` and,
for a DRNSeg source, the classifier becomes ``decode_head.conv_seg.{weight,bias}``: it is exactly
the ``conv_seg`` of mmseg's ``FCNHead(num_convs=0, concat_input=False, in_channels=C, channels=C,
num_classes=K)`` on the last level (use as ``load_from``, or with ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='backbone.')`` on the backbone). ``up.weight`` is dropped: mmseg upsamples
the logits with bilinear interpolation instead of the fixed transposed conv.
"""

import os
import re
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

from ..utils.checkpoint import load_state_dict_file
from ..utils.errors import UserError
from .hashes import verify_weight_file

__all__ = ['DRNCheckpointError', 'inspect_drn_state_dict', 'convert_drn', 'convert_drn_checkpoint']


class DRNCheckpointError(UserError, ValueError):
    """The checkpoint is not a (supported) DRN checkpoint or not the requested variant."""


def _describe_keys(keys, n=6):
    keys = sorted(keys)
    more = f', ... ({len(keys)} in all)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


_NOT_DRN = (
    "not a DRN checkpoint: expected the authors' key layout, i.e. "
    '"layer0.0.weight" + layer1..layer8 (DRN-D), "conv1.weight" + layer1..layer8 '
    '(DRN-C), "conv1.weight" + layer1..layer4 (DRN-A / torchvision ResNet) or '
    '"base.N.*" + "seg.weight" (DRNSeg); found keys: {}'
)


def _unwrap_drnseg(sd):
    """Map DRNSeg's ``base.N`` names back to the DRN module names."""
    head = OrderedDict()
    body = OrderedDict()
    for k, v in sd.items():
        if k in ('seg.weight', 'seg.bias'):
            head[k] = v
        elif k == 'up.weight':
            continue
        elif k.startswith('base.'):
            body[k] = v
        else:
            raise DRNCheckpointError(
                f'unexpected key {k!r} in a DRNSeg checkpoint (expected base.N.*, seg.*, up.weight)'
            )
    indices = sorted({int(k.split('.')[1]) for k in body})
    if 'base.0.0.weight' in body:
        # DRN-D children: layer0 .. layer8
        names = {i: f'layer{i}' for i in indices}
    elif 'base.0.weight' in body:
        if 3 in indices:
            # DRN-C children: conv1, bn1, relu, layer1 .. layer8
            names = {0: 'conv1', 1: 'bn1', **{i: f'layer{i - 2}' for i in indices if i >= 3}}
        else:
            # DRN-A children: conv1, bn1, relu, maxpool, layer1 .. layer4
            names = {0: 'conv1', 1: 'bn1', **{i: f'layer{i - 3}' for i in indices if i >= 4}}
    else:
        raise DRNCheckpointError(_NOT_DRN.format(_describe_keys(sd)))
    out = OrderedDict()
    for k, v in body.items():
        _, idx, rest = k.split('.', 2)
        if int(idx) not in names:
            raise DRNCheckpointError(f'unexpected DRNSeg key {k!r}')
        out[f'{names[int(idx)]}.{rest}'] = v
    return out, head


def _level_indices(sd, level):
    prefix = f'{level}.'
    return sorted({int(k.split('.')[1]) for k in sd if k.startswith(prefix)})


def inspect_drn_state_dict(sd: Dict[str, torch.Tensor]) -> dict:
    """Work out the DRN variant of a state dict in the reference layout (``fc.*`` removed).

    Returns:
        dict: ``arch``, ``depth`` (None when no table entry matches), ``block``
        ('basic' / 'bottleneck'), ``blocks`` (per level), ``base_channels``, ``in_channels``.
    """
    from mmseg_dilated.models.backbones.drn import DRN

    if 'layer0.0.weight' in sd:
        arch, stem = 'D', sd['layer0.0.weight']
    elif 'conv1.weight' in sd and any(k.startswith('layer1.') for k in sd):
        arch = 'C' if any(k.startswith('layer5.') for k in sd) else 'A'
        stem = sd['conv1.weight']
    else:
        raise DRNCheckpointError(_NOT_DRN.format(_describe_keys(sd)))
    if stem.dim() != 4 or stem.shape[-2:] != (7, 7):
        raise DRNCheckpointError(
            f'not a DRN checkpoint: the stem conv should be 7x7, found shape {tuple(stem.shape)}'
        )
    allowed = re.compile(r'^(conv1|bn1|layer\d)\.' if arch != 'D' else r'^layer\d\.')
    stray = [k for k in sd if not allowed.match(k)]
    if stray:
        raise DRNCheckpointError(
            f'unexpected keys for a DRN-{arch} checkpoint: {_describe_keys(stray)}'
        )

    kinds = DRN.level_layouts[arch]['kinds']
    blocks = []
    for i, kind in enumerate(kinds):
        level = f'layer{i + 1}'
        idx = _level_indices(sd, level)
        if kind == 'conv':
            # conv, norm, ReLU triples: count the 4-D conv weights
            n = sum(1 for j in idx if sd.get(f'{level}.{j}.weight', torch.empty(0)).dim() == 4)
        else:
            n = len(idx)
            if idx and idx != list(range(n)):
                raise DRNCheckpointError(f'{level}: block indices {idx} are not 0..{n - 1}')
        blocks.append(n)
    main_level = 'layer1' if arch == 'A' else 'layer3'
    block = 'bottleneck' if f'{main_level}.0.conv3.weight' in sd else 'basic'
    blocks = tuple(blocks)
    depth = None
    for d, (b, n) in DRN.arch_settings[arch].items():
        if (b, tuple(n)) == (block, blocks):
            depth = d
    return dict(
        arch=arch,
        depth=depth,
        block=block,
        blocks=blocks,
        base_channels=int(stem.shape[0]),
        in_channels=int(stem.shape[1]),
    )


def _fill_num_batches_tracked(sd):
    out = OrderedDict()
    for k, v in sd.items():
        out[k] = v
        if k.endswith('.running_var'):
            nbt = k[: -len('running_var')] + 'num_batches_tracked'
            if nbt not in sd:
                out[nbt] = torch.tensor(0, dtype=torch.long)
    return out


def _check_against_model(sd, info):
    from mmseg_dilated.models.backbones.drn import DRN

    with torch.device('meta'):
        model = DRN(
            arch=info['arch'],
            depth=info['depth'],
            in_channels=info['in_channels'],
            base_channels=info['base_channels'],
        )
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    wrong = [
        f'{k} {tuple(sd[k].shape)} (expected {expected[k]})'
        for k in sorted(set(sd) & set(expected))
        if tuple(sd[k].shape) != expected[k]
    ]
    if missing or unexpected or wrong:
        msg = [
            f'the checkpoint does not fit DRN-{info["arch"]}-{info["depth"]} '
            f'(base_channels={info["base_channels"]}):'
        ]
        if missing:
            msg.append(f'missing: {_describe_keys(missing)}')
        if unexpected:
            msg.append(f'unexpected: {_describe_keys(unexpected)}')
        if wrong:
            msg.append(f'shape mismatch: {"; ".join(wrong[:6])}')
        raise DRNCheckpointError(' '.join(msg))


def convert_drn(
    state_dict: Dict[str, torch.Tensor],
    arch: Optional[str] = None,
    depth: Optional[int] = None,
    full_model: bool = False,
) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """Convert an authors' DRN / DRNSeg state dict to mmseg-dilated keys.

    Args:
        state_dict (dict): Source state dict (already unwrapped, no ``module.`` prefix).
        arch (str, optional): Expected arch ('A', 'C', 'D'); None infers it.
        depth (int, optional): Expected depth; None infers it.
        full_model (bool): Emit ``backbone.*`` keys and, for DRNSeg, ``decode_head.conv_seg.*``.

    Returns:
        tuple: The converted state dict and a dict describing the source (arch, depth, block,
        blocks, base_channels, in_channels, source = 'imagenet' / 'drnseg', num_classes).

    Raises:
        DRNCheckpointError: Not a DRN checkpoint, or not the requested variant.
    """
    if any(k.startswith('base.') for k in state_dict):
        body, head = _unwrap_drnseg(state_dict)
        source = 'drnseg'
    else:
        body = OrderedDict((k, v) for k, v in state_dict.items() if not k.startswith('fc.'))
        head = {}
        source = 'imagenet'
    info = inspect_drn_state_dict(body)
    info['source'] = source
    found = (
        f'DRN-{info["arch"]} with {info["block"]} blocks, blocks per level '
        f'{",".join(map(str, info["blocks"]))}'
    )
    if arch is not None and str(arch).upper() != info['arch']:
        raise DRNCheckpointError(
            f'arch {arch!r} (DRN-{str(arch).upper()}) expected, but the checkpoint is {found}'
        )
    if info['depth'] is None:
        from mmseg_dilated.models.backbones.drn import DRN

        table = '; '.join(
            f'{info["arch"]}-{d}: {b}, {",".join(map(str, n))}'
            for d, (b, n) in DRN.arch_settings[info['arch']].items()
        )
        raise DRNCheckpointError(
            f'the checkpoint is {found}, which matches no DRN variant ({table})'
        )
    if depth is not None and int(depth) != info['depth']:
        from mmseg_dilated.models.backbones.drn import DRN

        exp_block, exp_blocks = DRN.arch_settings[info['arch']].get(int(depth), (None, None))
        expected = (
            f'{exp_block} blocks, blocks per level {",".join(map(str, exp_blocks))}'
            if exp_blocks
            else 'no such variant'
        )
        raise DRNCheckpointError(
            f'depth {depth} mismatch: the checkpoint is {found} (= DRN-{info["arch"]}-'
            f'{info["depth"]}), but DRN-{info["arch"]}-{depth} expects {expected}'
        )
    body = _fill_num_batches_tracked(body)
    _check_against_model(body, info)

    info['num_classes'] = int(head['seg.weight'].shape[0]) if 'seg.weight' in head else None
    if not full_model:
        return body, info
    out = OrderedDict((f'backbone.{k}', v) for k, v in body.items())
    if 'seg.weight' in head:
        out['decode_head.conv_seg.weight'] = head['seg.weight']
        if 'seg.bias' in head:
            out['decode_head.conv_seg.bias'] = head['seg.bias']
    return out, info


def convert_drn_checkpoint(
    src: str,
    dst: str,
    arch: Optional[str] = None,
    depth: Optional[int] = None,
    full_model: bool = False,
    check_hash: bool = True,
) -> dict:
    """Convert the checkpoint file ``src`` and save ``{'state_dict', 'meta'}`` to ``dst``.

    Args:
        check_hash (bool): First check ``src`` against the SHA-256 its name or the table of
            published files promises (:func:`~mmseg_dilated.converters.hashes.verify_weight_file`);
            False for a file of one's own that carries a name of torch hub's ``NAME-<hash>.pth``
            form. Default: True.

    Returns:
        dict: The description of the source, as :func:`convert_drn`, plus ``hash``: what the
        check found (a :class:`~mmseg_dilated.converters.hashes.HashCheck`, None unchecked).

    Raises:
        WeightHashError: ``src`` is not the file its name promises.
        DRNCheckpointError: ``src`` is not a DRN checkpoint (the message names the file).
    """
    check = verify_weight_file(src) if check_hash else None
    try:
        state_dict, info = convert_drn(load_state_dict_file(src), arch, depth, full_model)
    except DRNCheckpointError as err:  # name the file
        raise DRNCheckpointError(f'{src}: {err}') from None
    info['hash'] = check
    meta = dict(
        converted_from=str(src),
        source_sha256=check.sha256 if check else None,
        arch=info['arch'],
        depth=info['depth'],
        source=info['source'],
        full_model=bool(full_model),
    )
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    return info
