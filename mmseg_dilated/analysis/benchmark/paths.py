"""The inference paths the benchmark times, each as a zero-argument callable, and what CPU
instructions each needs."""

import copy
import os
import os.path as osp
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch

from mmseg_dilated.deploy.inference_paths import CPU_BF16_FLAGS, INFERENCE_PATHS
from mmseg_dilated.deploy.quantize import CPU_INT8_FLAGS

from ..cost import TensorForward

__all__ = [
    'PATHS',
    'ALL_PATHS',
    'FP32_PATHS',
    'PATH_FEATURES',
    'path_features',
    'prepare_paths',
    'last_array',
    'agreement',
]

PATHS = ('eager', 'fused', 'onnx-fp32', 'bf16', 'onnx-int8')
# 'compile' (torch.compile of the fused network, inductor) on request: its first call compiles
# for a minute or more per model, which the default run's time budget does not hold.
ALL_PATHS = PATHS + ('compile',)
FP32_PATHS = ('eager', 'fused', 'onnx-fp32', 'compile')
# path -> (CPU flags of which one lets it run natively, what it does on a CPU without any).
PATH_FEATURES = {
    'eager': (('avx512f', 'avx2'), 'oneDNN picks the widest fp32 kernels the CPU has'),
    'fused': (('avx512f', 'avx2'), 'as eager'),
    'compile': (('avx512f', 'avx2'), 'as eager'),
    'onnx-fp32': (('avx512f', 'avx2'), "onnxruntime's MLAS picks the widest fp32 kernels"),
    'bf16': (
        CPU_BF16_FLAGS,
        'runs, emulated with fp32 arithmetic plus conversions: slower than fused',
    ),
    'onnx-int8': (
        CPU_INT8_FLAGS,
        "runs on onnxruntime's AVX2 int8 kernels (16-bit products): little or no "
        'speed-up over fp32',
    ),
}


def path_features(flags: Sequence[str]) -> List[dict]:
    """Per path: the CPU flags it needs to run natively, those of them present in ``flags``
    (``/proc/cpuinfo``), and what it does without them."""
    flags = set(flags)
    return [
        dict(
            path=path, needs=list(needs), present=[f for f in needs if f in flags], without=without
        )
        for path, (needs, without) in PATH_FEATURES.items()
    ]


def _bind(target, inputs, onnx: bool = False) -> Callable[[], object]:
    """``target`` run on ``inputs`` as a zero-argument callable; ``fn.target`` is the module or
    onnxruntime session it runs."""

    def fn():
        return target.run(None, inputs) if onnx else target(inputs)

    fn.target = target
    return fn


def prepare_paths(
    segmentor: torch.nn.Module,
    x: torch.Tensor,
    paths: Sequence[str],
    workdir: str,
    backbone_only: bool = False,
    channels_last: bool = False,
    calibration_images: int = 2,
) -> Dict[str, Callable[[], object]]:
    """One zero-argument callable per inference path (``fn.target``: the module or onnxruntime
    session it runs), each running ``segmentor``'s network on
    ``x`` (NCHW float32, normalised as the network expects). ONNX files go to ``workdir``.

    Args:
        segmentor (nn.Module): The segmentor (eval mode); copied, never modified.
        paths (Sequence[str]): Names from :data:`PATHS`.
        backbone_only (bool): Time ``extract_feat`` only. Default: False.
        channels_last (bool): Eager in NHWC too. Default: False (as mmseg runs it).
        calibration_images (int): Random inputs that calibrate int8. Default: 2.
    """
    bad = [p for p in paths if p not in ALL_PATHS]
    if bad:
        raise ValueError(f'unknown inference paths {bad}; valid: {", ".join(ALL_PATHS)}')
    from mmseg_dilated.deploy.inference_paths import apply_inference_path

    fns = {}
    nhwc = x.contiguous(memory_format=torch.channels_last)
    for path in paths:
        if path == 'eager':
            net = TensorForward(copy.deepcopy(segmentor), backbone_only).eval()
            if channels_last:
                net = net.to(memory_format=torch.channels_last)
            fns[path] = _bind(net, nhwc if channels_last else x)
        elif path in INFERENCE_PATHS:  # the PyTorch paths but eager
            net = TensorForward(apply_inference_path(copy.deepcopy(segmentor), path), backbone_only)
            fns[path] = _bind(net, nhwc)
    onnx_paths = [p for p in paths if p.startswith('onnx-')]
    if onnx_paths:
        from mmcv.cnn import fuse_conv_bn

        from mmseg_dilated.deploy.onnx_export import export_graph, ort_session

        os.makedirs(workdir, exist_ok=True)
        fp32_file = osp.join(workdir, 'fp32.onnx')
        export_graph(
            TensorForward(fuse_conv_bn(copy.deepcopy(segmentor)), backbone_only).eval(),
            x,
            fp32_file,
            input_name='input',
            output_name='logits',
        )
        files = {'onnx-fp32': fp32_file}
        if 'onnx-int8' in paths:
            from mmseg_dilated.deploy.quantize import quantize_onnx_int8

            gen = torch.Generator().manual_seed(1)
            calibration = [
                torch.randn(x.shape, generator=gen).numpy() for _ in range(calibration_images)
            ]
            files['onnx-int8'] = quantize_onnx_int8(
                fp32_file, osp.join(workdir, 'int8.onnx'), calibration
            )
        array = x.numpy()
        for path in onnx_paths:
            session = ort_session(files[path], threads=torch.get_num_threads())
            fns[path] = _bind(session, {session.get_inputs()[0].name: array}, onnx=True)
    return {p: fns[p] for p in paths}


def last_array(out) -> np.ndarray:
    """The logits of a path's output as a numpy array; with backbone_only the deepest feature map
    (the last of the tuple / outputs)."""
    while isinstance(out, (list, tuple)):
        out = out[-1]
    return out.float().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, np.float32)


def agreement(reference: np.ndarray, other: np.ndarray) -> dict:
    """How far ``other`` is from ``reference``: largest absolute difference, that relative to the
    largest reference logit, and (for logits) the fraction of pixels whose argmax agrees."""
    scale = float(np.abs(reference).max()) or 1.0
    diff = float(np.abs(reference - other).max())
    agree = None
    if reference.ndim == 4:
        agree = float((reference.argmax(1) == other.argmax(1)).mean())
    return dict(max_abs_diff=diff, relative_diff=diff / scale, argmax_agreement=agree)
