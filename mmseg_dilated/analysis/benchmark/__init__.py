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

The package: :mod:`.specs` (the models), :mod:`.paths` (the inference paths), :mod:`.run` (speed
and memory runs), :mod:`.targets` (the targets), :mod:`.report` (the tables, text or Markdown).
"""

from .paths import (
    ALL_PATHS,
    FP32_PATHS,
    PATH_FEATURES,
    PATHS,
    agreement,
    last_array,
    path_features,
    prepare_paths,
)
from .run import benchmark_memory, benchmark_speed, run_benchmark
from .specs import (
    DEFAULT_MODELS,
    MODEL_SPECS,
    REFERENCE,
    TARGET_MODELS,
    build_model,
    config_of,
    model_label,
    reference_config_file,
)
from .targets import TARGETS, check_targets

__all__ = [
    'REFERENCE',
    'MODEL_SPECS',
    'DEFAULT_MODELS',
    'TARGET_MODELS',
    'PATHS',
    'ALL_PATHS',
    'FP32_PATHS',
    'PATH_FEATURES',
    'TARGETS',
    'reference_config_file',
    'config_of',
    'model_label',
    'build_model',
    'path_features',
    'prepare_paths',
    'last_array',
    'agreement',
    'benchmark_speed',
    'benchmark_memory',
    'run_benchmark',
    'check_targets',
]
