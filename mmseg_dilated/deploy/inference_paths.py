"""Faster ways to run a segmentor without leaving PyTorch: fused fp32, bf16 and ``torch.compile``.

``apply_inference_path(segmentor, path)`` turns a loaded mmseg ``EncoderDecoder`` (eval mode, its
weights already loaded) into one of these, in place, and returns it. mmseg's test loop, the
segmentor's ``predict``, ``_forward`` and ``inference`` and ``mmseg.apis.inference_model`` accept
the result as before: only the network (``extract_feat`` and the decode head's ``forward``) runs
differently, the data preprocessor, the test mode (``whole`` or ``slide``) and the resize of the
logits to the image are mmseg's own.

- ``'eager'``: the segmentor as mmseg runs it (unchanged).
- ``'fused'``: every BatchNorm folded into the convolution before it (``mmcv.cnn.fuse_conv_bn``:
  the same linear map, one op fewer per layer) and the weights and input in channels_last, the
  layout oneDNN's CPU convolutions (and cuDNN's tensor-core ones) work in. Same outputs as eager
  up to float rounding (tested: within 1e-4 relative on every model family).
- ``'bf16'``: ``'fused'`` run under autocast: bfloat16 on CPU (``torch.autocast('cpu',
  torch.bfloat16)``), AMP on CUDA (bfloat16 where the GPU has it, else float16). Logits come back
  in float32. On a CPU without bf16 instructions (``avx512_bf16`` or ``amx_bf16``) autocast still
  runs, but emulated in fp32 arithmetic and slower than ``'fused'``: :func:`bf16_available` says
  which case this is, and applying the path warns.
- ``'compile'``: ``'fused'`` with the backbone and decode head compiled by ``torch.compile``
  (inductor). The first image of each new size pays the compilation.
"""

import os.path as osp
import warnings
from typing import Optional, Tuple

import torch
import torch.nn as nn

__all__ = [
    'INFERENCE_PATHS',
    'apply_inference_path',
    'bf16_available',
    'cpu_bf16_features',
    'cpu_flags',
]

INFERENCE_PATHS = ('eager', 'fused', 'bf16', 'compile')
# x86 instructions that run bfloat16 dot products natively (oneDNN uses them for bf16 convolutions):
# AVX512-BF16 (Intel Cooper Lake and later, AMD Zen 4 and later) and AMX-BF16 (Intel Sapphire
# Rapids and later). Without either, oneDNN emulates bf16 with fp32 arithmetic plus conversions.
CPU_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> Tuple[str, ...]:
    """The CPU's feature flags as Linux lists them in ``/proc/cpuinfo`` (empty elsewhere)."""
    if not osp.isfile(cpuinfo):
        return ()
    with open(cpuinfo) as f:
        for line in f:
            if line.startswith('flags'):
                return tuple(line.split(':', 1)[1].split())
    return ()


def cpu_bf16_features(cpuinfo: str = '/proc/cpuinfo') -> Tuple[str, ...]:
    """Which of ``CPU_BF16_FLAGS`` this CPU has (from ``/proc/cpuinfo``)."""
    flags = set(cpu_flags(cpuinfo))
    return tuple(flag for flag in CPU_BF16_FLAGS if flag in flags)


def bf16_available(device='cpu') -> bool:
    """Whether bfloat16 runs natively on ``device``.

    On CPU: the CPU has ``avx512_bf16`` or ``amx_bf16`` (``/proc/cpuinfo``; where Linux's list is
    not available, oneDNN's own check ``torch.ops.mkldnn._is_mkldnn_bf16_supported``). On CUDA:
    ``torch.cuda.is_bf16_supported()`` (Ampere and later).
    """
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != 'cpu':
        return False
    if cpu_flags():
        return bool(cpu_bf16_features())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _device_of(module: nn.Module) -> torch.device:
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def _autocast_dtype(device: torch.device, dtype: Optional[torch.dtype]) -> torch.dtype:
    if dtype is not None:
        valid = (torch.bfloat16,) if device.type == 'cpu' else (torch.bfloat16, torch.float16)
        if dtype not in valid:
            raise ValueError(
                f'dtype {dtype} is not an autocast type on {device.type}; valid: '
                f'{", ".join(map(str, valid))}'
            )
        return dtype
    if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def _network_modules(segmentor: nn.Module):
    """The ``EncoderDecoder`` inside a segmentor (mmseg's ``SegTTAModel`` wraps one)."""
    inner = getattr(segmentor, 'module', segmentor)
    for name in ('extract_feat', 'decode_head'):
        if not hasattr(inner, name):
            raise TypeError(
                f'{type(segmentor).__name__} is not an mmseg EncoderDecoder (it has '
                f'no {name}); inference paths apply to EncoderDecoder segmentors'
            )
    return inner


def apply_inference_path(
    segmentor: nn.Module,
    path: str,
    dtype: Optional[torch.dtype] = None,
    compile_kwargs: Optional[dict] = None,
) -> nn.Module:
    """Make ``segmentor`` run on one of :data:`INFERENCE_PATHS`, in place (see module docstring).

    Apply it after the weights are loaded: folding BN changes the parameters (a checkpoint with BN
    statistics no longer loads into the result). The segmentor is put in eval mode.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (or a ``SegTTAModel`` around one).
        path (str): One of ``'eager'``, ``'fused'``, ``'bf16'``, ``'compile'``.
        dtype (torch.dtype, optional): Autocast type of ``'bf16'``: ``torch.bfloat16`` (CPU;
            CUDA with bf16) or ``torch.float16`` (CUDA). Default: bfloat16, float16 on a GPU
            without bf16.
        compile_kwargs (dict, optional): Keyword arguments of ``torch.compile`` for
            ``'compile'``. Default: None (torch's defaults).

    Returns:
        nn.Module: ``segmentor``, with ``inference_path`` set to ``path``.
    """
    if path not in INFERENCE_PATHS:
        raise ValueError(f'unknown inference path {path!r}; valid: {", ".join(INFERENCE_PATHS)}')
    applied = getattr(segmentor, 'inference_path', 'eager')
    if applied != 'eager':
        raise ValueError(
            f'the segmentor already runs on inference path {applied!r}; apply a '
            'path to a freshly loaded segmentor'
        )
    model = _network_modules(segmentor)
    segmentor.eval()
    if path != 'eager':
        from mmcv.cnn import fuse_conv_bn

        fuse_conv_bn(model)
        model.to(memory_format=torch.channels_last)
        device = _device_of(model)
        autocast = None
        if path == 'bf16':
            autocast = (device.type, _autocast_dtype(device, dtype))
            if device.type == 'cpu' and not bf16_available('cpu'):
                warnings.warn(
                    'inference path bf16: this CPU has no bfloat16 instructions (none of '
                    f'{", ".join(CPU_BF16_FLAGS)} in /proc/cpuinfo), so bf16 is emulated and '
                    "runs slower than 'fused'; use 'fused' on this CPU",
                    stacklevel=2,
                )
        _wrap_network(
            model,
            autocast,
            compile_kwargs if path == 'compile' else None,
            compile=path == 'compile',
        )
    segmentor.inference_path = path
    return segmentor


def _wrap_network(model: nn.Module, autocast, compile_kwargs, compile: bool) -> None:
    """Route ``model.extract_feat`` and ``model.decode_head.forward`` (every network call mmseg's
    ``_forward``, ``encode_decode`` and hence ``predict`` make) through channels_last input,
    autocast and ``torch.compile``, keeping the module tree and its state dict keys as they are."""
    extract_feat, head_forward = model.extract_feat, model.decode_head.forward
    if compile:
        extract_feat = torch.compile(extract_feat, **(compile_kwargs or {}))
        head_forward = torch.compile(head_forward, **(compile_kwargs or {}))

    def fast_extract_feat(inputs: torch.Tensor):
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        if autocast is None:
            return extract_feat(inputs)
        with torch.autocast(autocast[0], dtype=autocast[1]):
            return extract_feat(inputs)

    def fast_head_forward(inputs):
        if autocast is None:
            return head_forward(inputs)
        with torch.autocast(autocast[0], dtype=autocast[1]):
            logits = head_forward(inputs)
        return logits.float()  # mmseg's resize, softmax and argmax in fp32

    model.extract_feat = fast_extract_feat
    model.decode_head.forward = fast_head_forward
