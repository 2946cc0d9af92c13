"""vgg2mmseg: torchvision VGG-16 layout -> DilatedVGG, checked against an independent
functional forward pass of the Yu & Koltun front-end (fc6 applied as a linear layer on dilated
7x7 patches)."""

import math
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mmseg_dilated.converters.vgg import VGGCheckpointError, convert_vgg
from mmseg_dilated.models.backbones import DilatedVGG
from mmseg_dilated.utils.checkpoint import load_state_dict_file

from _helpers import run_script

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'model_converters' / 'vgg2mmseg.py'
# torchvision's VGG-16 configuration ('M' = max pool)
CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']


def torchvision_vgg16(fc=64, with_bn=False, seed=0):
    """Random weights in torchvision's vgg16 / vgg16_bn key layout (fc width reduced)."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    idx, cin = 0, 3
    for v in CFG:
        if v == 'M':
            idx += 1
            continue
        sd[f'features.{idx}.weight'] = torch.randn(v, cin, 3, 3, generator=g) * math.sqrt(
            2.0 / (9 * v)
        )
        sd[f'features.{idx}.bias'] = 0.1 * torch.randn(v, generator=g)
        if with_bn:
            p = f'features.{idx + 1}'
            sd[f'{p}.weight'] = 0.5 + torch.rand(v, generator=g)
            sd[f'{p}.bias'] = 0.1 * torch.randn(v, generator=g)
            sd[f'{p}.running_mean'] = torch.randn(v, generator=g)
            sd[f'{p}.running_var'] = 0.5 + torch.rand(v, generator=g)
            sd[f'{p}.num_batches_tracked'] = torch.tensor(7)
        idx += 3 if with_bn else 2  # (conv, [bn,] relu)
        cin = v
    sd['classifier.0.weight'] = torch.randn(fc, 25088, generator=g) * math.sqrt(2.0 / 25088)
    sd['classifier.0.bias'] = 0.1 * torch.randn(fc, generator=g)
    sd['classifier.3.weight'] = torch.randn(fc, fc, generator=g) * math.sqrt(2.0 / fc)
    sd['classifier.3.bias'] = 0.1 * torch.randn(fc, generator=g)
    sd['classifier.6.weight'] = torch.randn(1000, fc, generator=g)
    sd['classifier.6.bias'] = torch.randn(1000, generator=g)
    return sd


def reference_forward(sd, x, with_bn=False):
    """Front-end from the torchvision layout: pool4/pool5 dropped, conv5 dilation 2, "same"
    padding, ceil-mode 2x2 pools; fc6 = the 25088-wide linear layer on every 7x7 patch dilated by
    4 (zero padded), fc7 = the linear layer on every pixel. Eval mode (no dropout)."""
    idx, pools = 0, 0
    for v in CFG:
        if v == 'M':
            pools += 1
            if pools <= 3:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            idx += 1
            continue
        d = 2 if pools == 4 else 1
        x = F.conv2d(x, sd[f'features.{idx}.weight'], sd[f'features.{idx}.bias'], 1, d, d)
        if with_bn:
            p = f'features.{idx + 1}'
            x = F.batch_norm(
                x,
                sd[f'{p}.running_mean'],
                sd[f'{p}.running_var'],
                sd[f'{p}.weight'],
                sd[f'{p}.bias'],
                False,
                0.0,
                1e-5,
            )
        x = F.relu(x)
        idx += 3 if with_bn else 2
    n, _, h, w = x.shape
    cols = F.unfold(x, kernel_size=7, dilation=4, padding=12)  # (N, 512 * 49, H * W)
    x = F.relu(sd['classifier.0.weight'] @ cols + sd['classifier.0.bias'][:, None])
    x = F.relu(sd['classifier.3.weight'] @ x + sd['classifier.3.bias'][:, None])
    return x.view(n, -1, h, w)


def compare(model, sd, with_bn=False, size=45):
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        (ours,) = model(x)
        ref = reference_forward(sd, x, with_bn)
    assert ours.shape == ref.shape == (1, model.fc_channels, 6, 6)
    assert ref.abs().max().item() > 1e-2
    diff = (ours - ref).abs().max().item()
    assert diff < 1e-4, diff


@pytest.mark.parametrize('with_bn', [False, True])
def test_convert_load_and_match_reference(
    tmp_path, monkeypatch, capsys, strict_pretrained, with_bn
):
    src = torchvision_vgg16(fc=64, with_bn=with_bn)
    torch.save(src, tmp_path / 'vgg16.pth')
    run_script(monkeypatch, SCRIPT, tmp_path / 'vgg16.pth', tmp_path / 'out.pth')
    assert 'fc_channels 64' in capsys.readouterr().out
    norm_cfg = dict(type='BN') if with_bn else None
    model = DilatedVGG(
        fc_channels=64,
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'out.pth')),
    )
    model.init_weights()
    model.eval()
    assert strict_pretrained == [set()]
    assert torch.equal(model.fc6.conv.weight.flatten(1), src['classifier.0.weight'])
    assert torch.equal(model.fc7.conv.weight[:, :, 0, 0], src['classifier.3.weight'])
    first_conv = 'features.0.weight'
    assert torch.equal(model.conv1_1.conv.weight, src[first_conv])
    last = 'features.40.weight' if with_bn else 'features.28.weight'
    assert torch.equal(model.conv5_3.conv.weight, src[last])
    if with_bn:  # conv bias folded into the running mean (ConvModule drops the bias)
        torch.testing.assert_close(
            model.conv5_3.bn.running_mean, src['features.41.running_mean'] - src['features.40.bias']
        )
    compare(model, src, with_bn)


def test_no_fc_and_full_model(tmp_path, monkeypatch):
    src = torchvision_vgg16(fc=64)
    torch.save(src, tmp_path / 'vgg16.pth')
    run_script(monkeypatch, SCRIPT, tmp_path / 'vgg16.pth', tmp_path / 'nofc.pth', '--no-fc')
    sd = load_state_dict_file(tmp_path / 'nofc.pth')
    model = DilatedVGG(fc_channels=32)  # reduced fc cannot take the ImageNet fc6/fc7
    result = model.load_state_dict(sd, strict=False)
    assert sorted(result.missing_keys) == [
        'fc6.conv.bias',
        'fc6.conv.weight',
        'fc7.conv.bias',
        'fc7.conv.weight',
    ]
    assert result.unexpected_keys == []
    run_script(monkeypatch, SCRIPT, tmp_path / 'vgg16.pth', tmp_path / 'full.pth', '--full-model')
    full = load_state_dict_file(tmp_path / 'full.pth')
    assert all(k.startswith('backbone.') for k in full)
    assert 'backbone.fc6.conv.weight' in full and not any('classifier' in k for k in full)


def test_not_vgg16_is_refused(tmp_path, monkeypatch):
    with pytest.raises(VGGCheckpointError, match='unexpected key'):
        convert_vgg({'layer0.0.weight': torch.zeros(16, 3, 7, 7)})
    src = torchvision_vgg16(fc=8)
    vgg11 = OrderedDict(
        (k, v) for k, v in src.items() if not k.startswith(('features.2.', 'features.7.'))
    )
    with pytest.raises(VGGCheckpointError, match='expected 13 3x3 convs'):
        convert_vgg(vgg11)
    bad = dict(src)
    bad['classifier.0.weight'] = torch.zeros(8, 100)
    with pytest.raises(VGGCheckpointError, match='fc6/fc7 shapes'):
        convert_vgg(bad)
    torch.save({'features.0.weight': torch.zeros(3)}, tmp_path / 'bad.pth')
    with pytest.raises(SystemExit, match='error: '):
        run_script(monkeypatch, SCRIPT, tmp_path / 'bad.pth', tmp_path / 'out.pth')


def test_data_parallel_wrapped_sources(tmp_path):
    src = torchvision_vgg16(fc=8)
    expected, _ = convert_vgg(src)
    wrapped = {k.replace('features.', 'features.module.'): v for k, v in src.items()}
    torch.save({'state_dict': {f'module.{k}': v for k, v in wrapped.items()}}, tmp_path / 'w.pth')
    got, info = convert_vgg(load_state_dict_file(tmp_path / 'w.pth'))
    assert info == dict(norm=None, fc_channels=8)
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
