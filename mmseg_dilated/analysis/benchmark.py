"""CPU benchmark of the shipped models: cost, latency on every inference path, training memory.

The models are those of shipped configs (:data:`MODEL_SPECS`) with random weights, built by
:func:`mmseg_dilated.apis.model_builder.build_segmentor`, and mmseg's DeepLabV3 R-50-D8 as the
reference. What is timed is ``forward(mode='tensor')`` (:class:`~.cost.TensorForward`: backbone and
decode head, logits at 1/8 resolution), batch 1, in one round-robin run
(:func:`~.timing.round_robin`) over every model and inference path:

- ``eager``: the segmentor as mmseg runs it (NCHW, BN as built; ``channels_last=True`` puts model
  and input in NHWC, as the benchmark did by default before the paths existed);
- ``fused``: BN folded into the convolutions (``mmcv.cnn.fuse_conv_bn``) and channels_last
  (:func:`mmseg_dilated.deploy.inference_paths.apply_inference_path`);
- ``onnx-fp32``: the fused network exported to ONNX (TorchScript exporter, opset 17) and run by
  onnxruntime with as many threads as torch;
- ``bf16``: ``fused`` under ``torch.autocast('cpu', torch.bfloat16)``;
- ``onnx-int8``: that ONNX model statically quantised by onnxruntime (QDQ, per channel;
  :func:`mmseg_dilated.deploy.quantize.quantize_onnx_int8`), calibrated on random inputs: the
  weights are random too, so real images would calibrate nothing more real;
- ``compile`` (on request only): ``fused`` compiled by ``torch.compile``.

The ONNX graphs are exported from the same ``forward(mode='tensor')`` as the PyTorch paths run, so
every path computes the same thing (``mmseg-dilated export-onnx`` adds the normalisation and the
resize of the logits for deployment).

Each path's latency is compared with eager's and with the matrix product's rate round by round.
Every path's output is compared with eager's (largest difference relative to the largest logit,
argmax agreement). Acceptance targets are in :data:`TARGETS` and judged by :func:`check_targets`.
"""

import copy
import os
import os.path as osp
import statistics
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmseg_dilated.deploy.inference_paths import CPU_BF16_FLAGS
from mmseg_dilated.deploy.quantize import CPU_INT8_FLAGS

from .cost import TensorForward, achieved_flops_per_s, count_flops, count_params, flop_rate_fraction
from .timing import median_ratio, round_robin

__all__ = [
    'REFERENCE',
    'MODEL_SPECS',
    'DEFAULT_MODELS',
    'PATHS',
    'ALL_PATHS',
    'FP32_PATHS',
    'PATH_FEATURES',
    'TARGETS',
    'config_of',
    'model_label',
    'build_model',
    'path_features',
    'prepare_paths',
    'benchmark_speed',
    'benchmark_memory',
    'check_targets',
]

REFERENCE = 'deeplabv3-r50-d8'
# name -> (label, the shipped config whose model it is, as mmseg_dilated::NAME names it). The
# reference is mmseg's own config (reference_config_file).
MODEL_SPECS = {
    'drn-c-26-context': (
        'DRN-C-26 + basic context (19 cl.)',
        'context/context-basic_drn-c-26_8xb4-23k_cityscapes-896x896.py',
    ),
    'drn-d-22-context': ('DRN-D-22 + large context (21 cl.)', 'context_voc.py'),
    'drn-d-38-context': (
        'DRN-D-38 + basic context (19 cl.)',
        'context/context-basic_drn-d-38_8xb4-23k_cityscapes-896x896.py',
    ),
    'drn-d-105-context': (
        'DRN-D-105 + basic context (19 cl.)',
        'context/context-basic_drn-d-105_8xb2-92k_cityscapes-840x840.py',
    ),
    'drn-d-38-aspp': ('DRN-D-38 + ASPP (19 cl.)', 'aspp_cityscapes.py'),
    # The paper's model: the VOC release's unpadded context layers on score maps padded once.
    'vgg-context': (
        'Dilated VGG-16 + large context (21 cl.)',
        'context/context-large_dilated-vgg16_2xb7-60k_voc12aug-512x512.py',
    ),
    # MultiScaleEncoderDecoder on drn-d-22-context: scales 0.5, 0.75, 1.0, attention fusion. Its
    # cost against one scale: --models drn-d-22-context drn-d-22-context-ms --paths eager.
    'drn-d-22-context-ms': (
        'DRN-D-22 + large context, 3 scales + attention (21 cl.)',
        'multiscale/context-large_drn-d-22_4xb4-ms-attn-40k_voc12aug-512x512.py',
    ),
    REFERENCE: ('DeepLabV3 R-50-D8 (mmseg, 19 cl.)', None),
}
# What a run without --models benchmarks: every named model but the multi-scale variant, which is
# compared with its single-scale model on request.
DEFAULT_MODELS = tuple(name for name in MODEL_SPECS if name != 'drn-d-22-context-ms')
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
_GATED = {'bf16': PATH_FEATURES['bf16'][0], 'onnx-int8': PATH_FEATURES['onnx-int8'][0]}
_SPEED_MODELS = ('drn-d-22-context', 'drn-d-38-aspp')
# The acceptance targets, in one place. metric: 'speedup' (eager latency / the path's, median of
# per-round ratios), 'flop_rate_fraction' (eager), 'best_fp32_flop_rate' (the fastest fp32 path),
# 'with_cp_memory_reduction' (models=None: every measured model but the reference and those in
# 'report_only', for which the measured reduction and its bound are printed without a verdict).
TARGETS = (
    dict(metric='speedup', path='fused', models=_SPEED_MODELS, threshold=1.05),
    dict(metric='speedup', path='bf16', models=_SPEED_MODELS, threshold=1.8),
    dict(metric='speedup', path='onnx-int8', models=_SPEED_MODELS, threshold=2.0),
    dict(metric='flop_rate_fraction', path='eager', models=_SPEED_MODELS, threshold=0.85),
    dict(metric='best_fp32_flop_rate', path=None, models=('drn-d-105-context',), threshold=0.90),
    # The dilated VGG-16's gradients and static memory leave less than 40% to save (its bound).
    dict(
        metric='with_cp_memory_reduction',
        path=None,
        models=None,
        threshold=0.40,
        report_only=('vgg-context',),
    ),
)


def reference_config_file() -> str:
    """mmseg's DeepLabV3 R-50-D8 model config, in the installed package."""
    import mmseg

    return osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models', 'deeplabv3_r50-d8.py'
    )


def config_of(spec: str) -> str:
    """The config file of a named model (:data:`MODEL_SPECS`) or a config path."""
    if spec == REFERENCE:
        return reference_config_file()
    if spec in MODEL_SPECS:
        from mmseg_dilated.utils.config_scope import configs_root

        return osp.join(configs_root(), MODEL_SPECS[spec][1])
    if osp.isfile(spec):
        return spec
    raise ValueError(
        f'unknown model {spec!r}: give one of {", ".join(MODEL_SPECS)} or a config file path'
    )


def model_label(spec: str) -> str:
    return MODEL_SPECS[spec][0] if spec in MODEL_SPECS else osp.splitext(osp.basename(spec))[0]


def build_model(spec: str, with_cp: Optional[bool] = None) -> torch.nn.Module:
    """A named model or a config's model: random weights (seed 0), plain BN, eval mode."""
    import logging

    from mmengine.logging import MMLogger

    from mmseg_dilated.apis.model_builder import build_segmentor

    if not MMLogger.check_instance_created('benchmark'):
        MMLogger.get_instance('benchmark', log_level=logging.WARNING)
    torch.manual_seed(0)
    return build_segmentor(config_of(spec), with_cp=with_cp)


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


def _export(net: torch.nn.Module, x: torch.Tensor, path: str) -> None:
    import warnings

    from mmseg_dilated.deploy.onnx_export import OPSET

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # the TorchScript exporter's deprecation notes
        torch.onnx.export(
            net,
            (x,),
            path,
            input_names=['input'],
            output_names=['logits'],
            opset_version=OPSET,
            dynamo=False,
        )


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
        elif path in ('fused', 'bf16', 'compile'):
            net = TensorForward(apply_inference_path(copy.deepcopy(segmentor), path), backbone_only)
            fns[path] = _bind(net, nhwc)
    onnx_paths = [p for p in paths if p.startswith('onnx-')]
    if onnx_paths:
        from mmcv.cnn import fuse_conv_bn

        from mmseg_dilated.deploy.onnx_export import ort_session

        os.makedirs(workdir, exist_ok=True)
        fp32_file = osp.join(workdir, 'fp32.onnx')
        _export(
            TensorForward(fuse_conv_bn(copy.deepcopy(segmentor)), backbone_only).eval(),
            x,
            fp32_file,
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


def _last_array(out) -> np.ndarray:
    # The logits; with backbone_only the deepest feature map (the last of the tuple / outputs).
    while isinstance(out, (list, tuple)):
        out = out[-1]
    return out.float().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, np.float32)


def _agreement(reference: np.ndarray, other: np.ndarray) -> dict:
    scale = float(np.abs(reference).max()) or 1.0
    diff = float(np.abs(reference - other).max())
    agree = None
    if reference.ndim == 4:
        agree = float((reference.argmax(1) == other.argmax(1)).mean())
    return dict(max_abs_diff=diff, relative_diff=diff / scale, argmax_agreement=agree)


def _prepare_model(spec, paths, size, backbone_only, channels_last, workdir):
    model = build_model(spec)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    macs = count_flops(TensorForward(model, backbone_only), x)
    info = dict(name=spec, label=model_label(spec), params=count_params(model), gflops=macs / 1e9)
    fns = prepare_paths(model, x, paths, workdir, backbone_only, channels_last)
    with torch.inference_mode():
        outputs = {p: _last_array(fn()) for p, fn in fns.items()}
    reference = outputs['eager' if 'eager' in outputs else paths[0]]
    info['agreement'] = {p: _agreement(reference, out) for p, out in outputs.items()}
    return info, fns


def benchmark_speed(
    specs: Sequence[str],
    paths: Sequence[str] = PATHS,
    size: int = 512,
    repeats: int = 5,
    warmup: int = 1,
    matmul_size: int = 2048,
    matmul_repeats: int = 10,
    backbone_only: bool = False,
    channels_last: bool = False,
    reference_paths: Sequence[str] = ('eager',),
    progress: Optional[Callable[[str], None]] = None,
) -> Tuple[dict, List[dict]]:
    """Time every model on every path in one round-robin run (module docstring).

    Args:
        specs (Sequence[str]): Named models or config paths; :data:`REFERENCE` among them runs
            only ``reference_paths``.
        paths (Sequence[str]): Inference paths. Speed-ups, ``latency_ms`` and the FLOP-rate
            fraction of a model are those of ``eager`` (else of the first path).

    Returns:
        tuple[dict, list[dict]]: The matrix product's figures, and per model its counts and, for
        the baseline path and per path (``'paths'``), latency, per-round figures, the FLOP-rate
        fraction, the speed-up over the baseline and the agreement with it.
    """
    say = progress or (lambda msg: None)
    prepared = []
    with tempfile.TemporaryDirectory(prefix='mmseg_dilated_bench_') as workdir:
        for i, spec in enumerate(specs):
            chosen = [p for p in paths if spec != REFERENCE or p in reference_paths] or paths[:1]
            say(f'building {model_label(spec)} ({", ".join(chosen)}) ...')
            prepared.append(
                _prepare_model(
                    spec, chosen, size, backbone_only, channels_last, osp.join(workdir, str(i))
                )
            )
        fns = [fn for _, per_path in prepared for fn in per_path.values()]
        say(f'timing {len(fns)} model paths round-robin, {repeats} rounds ...')
        runs, matmul_rounds = round_robin(fns, repeats, warmup, matmul_size, matmul_repeats)
    mm_macs = matmul_size**3
    mm_seconds = statistics.median(matmul_rounds)
    matmul = dict(
        n=matmul_size,
        macs=mm_macs,
        seconds=mm_seconds,
        seconds_rounds=matmul_rounds,
        gflops_per_s=achieved_flops_per_s(mm_macs, mm_seconds) / 1e9,
    )
    runs = iter(runs)
    models = []
    for info, per_path in prepared:
        macs = info['gflops'] * 1e9
        info['paths'] = {}
        for path in per_path:
            times = next(runs)
            info['paths'][path] = dict(
                latency_ms=statistics.median(times) * 1e3,
                latency_runs_ms=[t * 1e3 for t in times],
                flop_rate_rounds=[
                    flop_rate_fraction(macs, t, mm_macs, t_mm)
                    for t, t_mm in zip(times, matmul_rounds)
                ],
                **info['agreement'][path],
            )
            info['paths'][path]['flop_rate_fraction'] = statistics.median(
                info['paths'][path]['flop_rate_rounds']
            )
        base = info['paths']['eager' if 'eager' in per_path else next(iter(per_path))]
        for record in info['paths'].values():
            record['speedup'] = median_ratio(base['latency_runs_ms'], record['latency_runs_ms'])
        del info['agreement']
        info.update(
            {
                k: base[k]
                for k in ('latency_ms', 'latency_runs_ms', 'flop_rate_rounds', 'flop_rate_fraction')
            }
        )
        info['achieved_gflops_per_s'] = achieved_flops_per_s(macs, info['latency_ms'] / 1e3) / 1e9
        models.append(info)
    ref = next((m for m in models if m['name'] == REFERENCE), None)
    for m in models:
        m['vs_reference'] = (
            None if ref is None else median_ratio(m['latency_runs_ms'], ref['latency_runs_ms'])
        )
    return matmul, models


def benchmark_memory(
    specs: Sequence[str],
    size: int = 512,
    batch: int = 2,
    breakdown: bool = False,
    threads: Optional[int] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> List[dict]:
    """Peak training memory of every model without and with ``with_cp``, each measurement in a
    fresh process (:func:`~.memory.run_train_memory_worker`), and the reduction and its bound."""
    from .memory import memory_reduction, reduction_bound, run_train_memory_worker

    say = progress or (lambda msg: None)
    memory = []
    for spec in specs:
        say(f'training memory of {model_label(spec)} ...')
        off, on = (
            run_train_memory_worker(config_of(spec), size, batch, cp, breakdown, threads)
            for cp in (False, True)
        )
        memory.append(
            dict(
                name=spec,
                label=model_label(spec),
                without_cp=off,
                with_cp=on,
                reduction=memory_reduction(off, on),
                reduction_bound=reduction_bound(off),
            )
        )
    return memory


def check_targets(
    results: dict, flags: Optional[Sequence[str]] = None, targets: Sequence[dict] = TARGETS
) -> List[dict]:
    """Judge :data:`TARGETS` from measured ``results`` (``models``, ``memory``).

    Each verdict has ``status``: 'PASS', 'FAIL', 'NOT MEASURED' (model or path not run), 'N/A'
    (the path needs CPU instructions, :data:`PATH_FEATURES`, that ``flags`` lack: the figure is
    printed, not judged) or 'INFO' (a report-only model: value and bound, no verdict).
    """
    flags = set(flags or ())
    by_name = {m['name']: m for m in results.get('models', [])}
    verdicts = []
    for target in targets:
        metric, path = target['metric'], target['path']
        if metric == 'with_cp_memory_reduction':
            for m in results.get('memory', []):
                if m['name'] == REFERENCE:
                    continue
                info = m['name'] in target.get('report_only', ())
                verdicts.append(
                    dict(
                        model=m['name'],
                        metric=metric,
                        path=None,
                        threshold=target['threshold'],
                        value=m['reduction'],
                        bound=m['reduction_bound'],
                        status='INFO'
                        if info
                        else 'PASS'
                        if m['reduction'] >= target['threshold']
                        else 'FAIL',
                    )
                )
            continue
        for name in target['models']:
            value, status, best = None, 'NOT MEASURED', None
            paths = by_name.get(name, {}).get('paths', {})
            if metric == 'best_fp32_flop_rate':
                fp32 = {p: paths[p]['flop_rate_fraction'] for p in FP32_PATHS if p in paths}
                if fp32:
                    best = max(fp32, key=fp32.get)
                    value = fp32[best]
            elif path in paths:
                value = paths[path]['speedup' if metric == 'speedup' else metric]
            if value is not None:
                status = 'PASS' if value >= target['threshold'] else 'FAIL'
                if status == 'FAIL' and path in _GATED and not flags & set(_GATED[path]):
                    status = 'N/A'
            verdicts.append(
                dict(
                    model=name,
                    metric=metric,
                    path=best or path,
                    value=value,
                    threshold=target['threshold'],
                    status=status,
                )
            )
    return verdicts
