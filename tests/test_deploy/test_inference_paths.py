"""Inference paths (mmseg_dilated.deploy.inference_paths): fused fp32 equals eager on every model
family, bf16 runs in bfloat16 and stays close, torch.compile equals eager; the paths through
mmseg-dilated test (InferencePathHook) and demo."""

import copy
import os.path as osp
import re
import warnings

import numpy as np
import pytest
import torch
from deploy_models import MODELS_TO_EXPORT, model_config, random_bn_checkpoint
from mmseg.apis import inference_model, init_model
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_dilated.deploy import INFERENCE_PATHS, apply_inference_path, inference_paths

from _helpers import REPO, TINY_CONFIG, assert_ok, run_tool


def _segmentor(cfg, tmp_path):
    """The segmentor as mmseg's init_model loads it, on weights with random BN statistics."""
    return init_model(cfg, random_bn_checkpoint(cfg, tmp_path / 'weights.pth'), device='cpu')


def _logits(segmentor, image):
    """The network's logits (``_forward``) and ``predict``'s resized logits of one image."""
    data = segmentor.data_preprocessor(dict(inputs=[image]), False)
    with torch.no_grad():
        raw = segmentor._forward(data['inputs'])
        pred = inference_model(segmentor, image.permute(1, 2, 0).numpy())
    return raw, pred.seg_logits.data


def _image(height=64, width=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(3, height, width, generator=gen) * 255).to(torch.uint8)


@pytest.mark.parametrize('name', list(MODELS_TO_EXPORT))
def test_fused_equals_eager(name, tmp_path):
    eager = _segmentor(model_config(MODELS_TO_EXPORT[name]), tmp_path)
    fused = apply_inference_path(copy.deepcopy(eager), 'fused')
    assert fused.inference_path == 'fused'
    assert not any(isinstance(m, _BatchNorm) for m in fused.modules())  # all folded
    convs = [m for m in fused.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    image = _image(64, 72)
    for ref, out in zip(_logits(eager, image), _logits(fused, image)):
        assert out.dtype == torch.float32 and out.shape == ref.shape
        assert (out - ref).abs().max() <= 1e-4 * ref.abs().max(), name
    # the module tree keeps its names: the folded convolutions gain a bias, nothing is renamed
    new = set(fused.state_dict()) - set(eager.state_dict())
    assert all(k.endswith('.bias') and k[:-4] + 'weight' in eager.state_dict() for k in new)


def test_bf16_runs_in_bfloat16_and_stays_close(tmp_path):
    eager = _segmentor(model_config({}), tmp_path)
    if inference_paths.bf16_available():
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            bf16 = apply_inference_path(copy.deepcopy(eager), 'bf16')
    else:
        with pytest.warns(UserWarning, match='no bfloat16 instructions.*emulated'):
            bf16 = apply_inference_path(copy.deepcopy(eager), 'bf16')
    seen = []
    for module in bf16.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_pre_hook(
                lambda *_: seen.append(
                    torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu') else None
                )
            )
    image = _image()
    ref, _ = _logits(eager, image)
    out, pred = _logits(bf16, image)
    assert seen and set(seen) == {torch.bfloat16}  # every convolution under bf16 autocast
    assert out.dtype == pred.dtype == torch.float32  # logits handed back in fp32
    error = ((out - ref).abs().max() / ref.abs().max()).item()
    # bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.2%); through a few layers
    # the error grows to about 1%, as the issue measured for DRN-D-22 (1e-2)
    assert 0 < error < 5e-2


@pytest.mark.slow
def test_compile_equals_eager(tmp_path):
    eager = _segmentor(model_config({}), tmp_path)
    compiled = apply_inference_path(copy.deepcopy(eager), 'compile')
    image = _image()
    for ref, out in zip(_logits(eager, image), _logits(compiled, image)):
        assert (out - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_bf16_available_reads_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n')
    assert inference_paths.cpu_bf16_features(str(cpuinfo)) == ('avx512_bf16',)
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n')
    assert inference_paths.cpu_bf16_features(str(cpuinfo)) == ()
    with open('/proc/cpuinfo') as f:
        words = set(f.read().split())
    assert inference_paths.bf16_available('cpu') == bool(words & {'avx512_bf16', 'amx_bf16'})


def test_bad_path_and_second_path_are_refused(tmp_path):
    eager = _segmentor(model_config({}), tmp_path)
    with pytest.raises(ValueError, match="'int8'.*valid: eager, fused, bf16, compile"):
        apply_inference_path(eager, 'int8')
    apply_inference_path(eager, 'fused')
    with pytest.raises(ValueError, match="already runs on inference path 'fused'"):
        apply_inference_path(eager, 'bf16')
    assert INFERENCE_PATHS == ('eager', 'fused', 'bf16', 'compile')


def _miou(stdout):
    """The mIoU mmseg's test loop logs (``mIoU: 12.3400``)."""
    found = re.findall(r'mIoU: ([0-9.]+)', stdout)
    assert found, stdout[-3000:]
    return float(found[-1])


@pytest.mark.slow
def test_test_tool_runs_the_paths(tmp_path, python):
    """tools/test.py --infer-path: the hook applies the path after the checkpoint has loaded, and
    mmseg's test loop and evaluator run on it (fused gives eager's mIoU)."""
    ckpt = random_bn_checkpoint(model_config({}), tmp_path / 'weights.pth')
    test = osp.join(REPO, 'tools', 'test.py')
    mious = {}
    for path in ('eager', 'fused', 'bf16'):
        out = assert_ok(
            run_tool(
                [
                    python,
                    test,
                    TINY_CONFIG,
                    ckpt,
                    '--infer-path',
                    path,
                    '--work-dir',
                    f'work_{path}',
                ],
                tmp_path,
            ),
            f'test.py {path}',
        )
        assert (f'inference path: {path}' in out) == (path != 'eager')
        mious[path] = _miou(out)
    assert mious['fused'] == pytest.approx(mious['eager'], abs=0.01)
    proc = run_tool([python, test, TINY_CONFIG, ckpt, '--infer-path', 'int8'], tmp_path)
    assert proc.returncode != 0 and "invalid choice: 'int8'" in proc.stdout


@pytest.mark.slow
def test_demo_fused_draws_what_eager_draws(tmp_path, python):
    from PIL import Image

    ckpt = random_bn_checkpoint(model_config({}), tmp_path / 'weights.pth')
    image = tmp_path / 'image.png'
    Image.fromarray(_image(48, 56).permute(1, 2, 0).numpy()).save(image)
    demo = osp.join(REPO, 'tools', 'demo.py')
    for path in ('eager', 'fused'):
        assert_ok(
            run_tool(
                [
                    python,
                    demo,
                    str(image),
                    TINY_CONFIG,
                    ckpt,
                    '--out',
                    f'{path}.png',
                    '--infer-path',
                    path,
                ],
                tmp_path,
            ),
            f'demo.py {path}',
        )
    eager, fused = (np.array(Image.open(tmp_path / f'{p}.png')) for p in ('eager', 'fused'))
    assert eager.shape == (48, 56, 3)
    assert (eager != fused).any(axis=-1).mean() <= 0.001
