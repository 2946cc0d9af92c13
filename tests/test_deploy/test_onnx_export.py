"""ONNX export (mmseg_dilated.deploy, mmseg-dilated export-onnx) of every model family: DRN-A, C
and D, DilatedVGG, the three heads, and our heads on mmseg's ResNetV1c. Each is exported with BN
folded, from weights whose BN statistics are random (so the folding is exercised), and onnxruntime's
output is compared with the unfused PyTorch segmentor's, static and dynamic."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS
from mmseg_dilated.deploy import (SegmentorForExport, build_for_export, check_onnx, export_onnx,
                                  run_onnx)

from _helpers import REPO, TINY_CONFIG, run_tool

BN = dict(type='BN', requires_grad=True)
R18_D8 = dict(type='ResNetV1c', depth=18, num_stages=4, out_indices=(3, ), dilations=(1, 1, 2, 4),
              strides=(1, 2, 1, 1), norm_cfg=BN, contract_dilation=True)
HEAD = dict(in_index=0, num_classes=4, norm_cfg=BN, align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss'))
MODELS_TO_EXPORT = {
    'drn-d-22 (3 levels) + context large': {},
    'drn-c-26 + context basic': dict(
        backbone=dict(arch='C', depth=26, base_channels=2, num_levels=None, out_indices=(7, )),
        decode_head=dict(in_channels=64, module_type='basic')),
    'drn-a-18 + aspp': dict(
        backbone=dict(arch='A', depth=18, base_channels=8, num_levels=None, out_indices=(3, )),
        decode_head=dict(_delete_=True, type='DilatedASPPHead', in_channels=64, channels=16,
                         **HEAD)),
    'drn-d-38 + parallel context': dict(
        backbone=dict(depth=38, base_channels=2, num_levels=None, out_indices=(7, )),
        decode_head=dict(_delete_=True, type='ParallelContextHead', in_channels=64, channels=16,
                         **HEAD)),
    'dilated vgg-16 + context large': dict(
        backbone=dict(_delete_=True, type='DilatedVGG', fc_channels=32, dropout_ratio=0.0),
        decode_head=dict(in_channels=32)),
    'resnetv1c-18-d8 + context large': dict(
        backbone=dict(_delete_=True, **R18_D8), decode_head=dict(in_channels=512)),
    'resnetv1c-18-d8 + aspp (separable)': dict(
        backbone=dict(_delete_=True, **R18_D8),
        decode_head=dict(_delete_=True, type='DilatedASPPHead', in_channels=512, channels=16,
                         separable=True, **HEAD)),
}


def _config(overrides):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(model=overrides))
    return cfg


def _random_bn_checkpoint(cfg, path):
    """Weights whose BN layers have random statistics and affine parameters."""
    init_default_scope('mmseg')
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    from mmseg_dilated.datasets import ContextShapesDataset
    meta = dict(dataset_meta=ContextShapesDataset.METAINFO)  # what mmseg's init_model reads
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


@pytest.mark.parametrize('name', list(MODELS_TO_EXPORT))
def test_export_agrees_with_pytorch(name, tmp_path):
    cfg = _config(MODELS_TO_EXPORT[name])
    ckpt = _random_bn_checkpoint(cfg, tmp_path / 'weights.pth')
    module, reference = build_for_export(cfg, ckpt)
    assert not any(isinstance(m, _BatchNorm) for m in module.modules())  # all folded
    if any(isinstance(m, _BatchNorm) for m in reference.modules()):
        assert any(m.running_var.min() < 0.9 for m in reference.modules()
                   if isinstance(m, _BatchNorm))  # the checkpoint's statistics were loaded
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


def test_argmax_graph_gives_labels(tmp_path):
    cfg = _config({})
    module, reference = build_for_export(cfg, _random_bn_checkpoint(cfg, tmp_path / 'w.pth'),
                                         argmax=True)
    path = str(tmp_path / 'labels.onnx')
    export_onnx(module, path, (64, 48), dynamic=True)
    result = check_onnx(path, reference, (64, 48), argmax=True, batch=2)
    assert result['max_abs_diff'] is None and result['argmax_agreement'] >= 0.999
    labels = run_onnx(path, np.zeros((1, 3, 32, 40), np.float32))
    assert labels.shape == (1, 32, 40) and labels.dtype == np.int64


def test_command_demo_overlay_equals_the_pytorch_demo(tmp_path, python):
    """export-onnx --demo draws the same overlay as mmseg-dilated demo (mmseg's visualizer)."""
    cfg = _config({})
    ckpt = _random_bn_checkpoint(cfg, tmp_path / 'w.pth')
    image = tmp_path / 'image.png'
    rng = np.random.default_rng(0)
    from PIL import Image
    Image.fromarray(rng.integers(0, 255, (48, 56, 3), dtype=np.uint8)).save(image)
    proc = run_tool([python, osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'), TINY_CONFIG,
                     ckpt, '--shape', '48', '56', '--dynamic', '--out', 'tiny.onnx', '--demo',
                     str(image),
                     '--demo-out', 'onnx.png'], tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'exported tiny.onnx (logits, dynamic 48x56 input, BN folded)' in proc.stdout
    assert 'same label on 100.00% of pixels' in proc.stdout
    proc = run_tool([python, osp.join(REPO, 'tools', 'demo.py'), str(image), TINY_CONFIG, ckpt,
                     '--out', 'torch.png'], tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    onnx_overlay = np.array(Image.open(tmp_path / 'onnx.png'))
    torch_overlay = np.array(Image.open(tmp_path / 'torch.png'))
    assert onnx_overlay.shape == torch_overlay.shape == (48, 56, 3)
    # the same test-pipeline resize, model and post-processing: the same drawing
    assert (onnx_overlay != torch_overlay).any(axis=-1).mean() <= 0.001
