from .inference_path_hook import InferencePathHook
from .inference_paths import (
    INFERENCE_PATHS,
    apply_inference_path,
    bf16_available,
    cpu_bf16_features,
)
from .onnx_export import (
    SegmentorForExport,
    build_for_export,
    check_onnx,
    export_onnx,
    image_to_export_input,
    ort_session,
    run_onnx,
)
from .quantize import calibration_images, quantize_onnx_int8

__all__ = [
    'INFERENCE_PATHS',
    'apply_inference_path',
    'bf16_available',
    'cpu_bf16_features',
    'InferencePathHook',
    'SegmentorForExport',
    'build_for_export',
    'check_onnx',
    'export_onnx',
    'image_to_export_input',
    'ort_session',
    'run_onnx',
    'calibration_images',
    'quantize_onnx_int8',
]
