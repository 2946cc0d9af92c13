"""OpenVINO runs the ONNX models that mmseg-dilated export-onnx writes, with onnxruntime's outputs:
every model family (DRN-A, C and D, DilatedVGG, the three heads, ResNetV1c), dynamic batch and
image size, BN folded from random statistics. Skipped unless OpenVINO is installed
(``pip install -e .[openvino]``); CI does not install it."""

import numpy as np
import pytest
import torch
from deploy_models import MODELS_TO_EXPORT, model_config, random_bn_checkpoint

from mmseg_dilated.deploy import build_for_export, export_onnx, run_onnx

ov = pytest.importorskip('openvino')


def openvino_run(path, image):
    """OpenVINO's CPU plugin, in float32: on CPUs with bf16 units its default inference precision
    is bf16, which is a different model."""
    compiled = ov.Core().compile_model(str(path), 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
    return compiled(image)[compiled.output(0)]


@pytest.mark.parametrize('name', list(MODELS_TO_EXPORT))
def test_openvino_equals_onnxruntime(name, tmp_path):
    cfg = model_config(MODELS_TO_EXPORT[name])
    module, _ = build_for_export(cfg, random_bn_checkpoint(cfg, tmp_path / 'w.pth'))
    path = str(tmp_path / 'model.onnx')
    export_onnx(module, path, (64, 64), dynamic=True)
    for shape in ((1, 3, 64, 64), (2, 3, 96, 80)):
        image = torch.rand(*shape, generator=torch.Generator().manual_seed(3)).numpy() * 255
        expected = run_onnx(path, image)
        got = openvino_run(path, image)
        assert got.shape == expected.shape == (shape[0], 4, *shape[2:])
        scale = max(1.0, float(np.abs(expected).max()))
        assert float(np.abs(got - expected).max()) <= 1e-4 * scale
        assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.999
