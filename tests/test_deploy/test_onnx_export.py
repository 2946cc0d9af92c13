"""ONNX export (mmseg_dilated.deploy, mmseg-dilated export-onnx) of every model family: DRN-A, C
and D, DilatedVGG, the three heads, and our heads on mmseg's ResNetV1c. Each is exported with BN
folded, from weights whose BN statistics are random (so the folding is exercised), and onnxruntime's
output is compared with the unfused PyTorch segmentor's, static and dynamic."""

import os.path as osp

import numpy as np
import pytest
import torch
from deploy_models import MODELS_TO_EXPORT, PSP, model_config, random_bn_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_dilated.deploy import (
    SegmentorForExport,
    build_for_export,
    check_onnx,
    export_onnx,
    run_onnx,
)

from _helpers import REPO, TINY_CONFIG, run_tool


@pytest.mark.parametrize('name', list(MODELS_TO_EXPORT))
def test_export_agrees_with_pytorch(name, tmp_path):
    cfg = model_config(MODELS_TO_EXPORT[name])
    ckpt = random_bn_checkpoint(cfg, tmp_path / 'weights.pth')
    module, reference = build_for_export(cfg, ckpt)
    assert not any(isinstance(m, _BatchNorm) for m in module.modules())  # all folded
    if any(isinstance(m, _BatchNorm) for m in reference.modules()):
        assert any(
            m.running_var.min() < 0.9 for m in reference.modules() if isinstance(m, _BatchNorm)
        )  # the checkpoint's statistics were loaded
    for dynamic in (False, True):
        path = str(tmp_path / f'model_{dynamic}.onnx')
        export_onnx(module, path, (64, 64), dynamic=dynamic)
        result = check_onnx(path, reference, (64, 64))
        scale = max(1.0, result['max_abs_logit'])
        assert result['max_abs_diff'] <= 1e-4 * scale, result
        assert result['argmax_agreement'] >= 0.999, result
    # the dynamic graph on another batch size and image size
    image = torch.rand(2, 3, 96, 80, generator=torch.Generator().manual_seed(2)) * 255
    with torch.no_grad():
        expected = SegmentorForExport(reference)(image)
    out = run_onnx(path, image.numpy())
    assert out.shape == (2, 4, 96, 80)
    assert np.abs(out - expected.numpy()).max() <= 1e-4 * max(1.0, expected.abs().max().item())


def test_pspnet_exports_at_sizes_its_pool_scales_divide(tmp_path):
    """mmseg's PSPHead (pspnet_drn-d-38): static export where the 1/8 features divide by the pool
    scales (1, 2, 3, 6) - 96 px, 12 x 12 features - agrees with PyTorch; 64 px (8 x 8 features,
    not divisible by 3 or 6) and dynamic export are refused with the reason."""
    cfg = model_config(PSP)
    module, reference = build_for_export(cfg, random_bn_checkpoint(cfg, tmp_path / 'w.pth'))
    path = str(tmp_path / 'psp.onnx')
    export_onnx(module, path, (96, 96))
    result = check_onnx(path, reference, (96, 96))
    assert result['max_abs_diff'] <= 1e-4 * max(1.0, result['max_abs_logit']), result
    for shape, dynamic in (((64, 64), False), ((96, 96), True)):
        with pytest.raises(ValueError, match='pool_scales.*48 px'):
            export_onnx(module, str(tmp_path / 'bad.onnx'), shape, dynamic=dynamic)


def test_argmax_graph_gives_labels(tmp_path):
    cfg = model_config({})
    module, reference = build_for_export(
        cfg, random_bn_checkpoint(cfg, tmp_path / 'w.pth'), argmax=True
    )
    path = str(tmp_path / 'labels.onnx')
    export_onnx(module, path, (64, 48), dynamic=True)
    result = check_onnx(path, reference, (64, 48), argmax=True, batch=2)
    assert result['max_abs_diff'] is None and result['argmax_agreement'] >= 0.999
    labels = run_onnx(path, np.zeros((1, 3, 32, 40), np.float32))
    assert labels.shape == (1, 32, 40) and labels.dtype == np.int64


@pytest.mark.slow
def test_command_demo_overlay_equals_the_pytorch_demo(tmp_path, python):
    """export-onnx --demo draws the same overlay as mmseg-dilated demo (mmseg's visualizer)."""
    cfg = model_config({})
    ckpt = random_bn_checkpoint(cfg, tmp_path / 'w.pth')
    image = tmp_path / 'image.png'
    rng = np.random.default_rng(0)
    from PIL import Image

    Image.fromarray(rng.integers(0, 255, (48, 56, 3), dtype=np.uint8)).save(image)
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'),
            TINY_CONFIG,
            ckpt,
            '--shape',
            '48',
            '56',
            '--dynamic',
            '--out',
            'tiny.onnx',
            '--demo',
            str(image),
            '--demo-out',
            'onnx.png',
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'exported tiny.onnx (logits, dynamic 48x56 input, BN folded)' in proc.stdout
    assert 'same label on 100.00% of pixels' in proc.stdout
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'demo.py'),
            str(image),
            TINY_CONFIG,
            ckpt,
            '--out',
            'torch.png',
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    onnx_overlay = np.array(Image.open(tmp_path / 'onnx.png'))
    torch_overlay = np.array(Image.open(tmp_path / 'torch.png'))
    assert onnx_overlay.shape == torch_overlay.shape == (48, 56, 3)
    # the same test-pipeline resize, model and post-processing: the same drawing
    assert (onnx_overlay != torch_overlay).any(axis=-1).mean() <= 0.001
