"""Accuracy of the reduced-precision paths on the trained toy model (configs/context_toy.py, trained
in this session by conftest's toy_runs): its 60 validation images through mmseg's evaluator
(IoUMetric) in fp32, bf16 (tools/test.py --infer-path bf16) and int8 (onnxruntime static
quantization, tools/deployment/export_onnx.py --int8 --eval).

Tolerances (the issue's): bf16 within 0.3 mIoU of fp32, int8 within 1.0."""

import os.path as osp
import re

import pytest

from _helpers import REPO, assert_ok, run_tool

CONFIG = osp.join(REPO, 'configs', 'context_toy.py')


def _test_miou(stdout):
    """The mIoU of the test loop's last line (``Iter(test) [60/60] ... mIoU: 81.2300``)."""
    found = re.findall(r'Iter\(test\) \[60/60\].*mIoU: ([\d.]+)', stdout)
    assert found, stdout[-3000:]
    return float(found[-1])


# The trained toy models come from conftest's toy_runs (two 2,000-iteration trainings): slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def mious(toy_runs, python):
    """{path: mIoU} of the trained toy checkpoint: eager, fused and bf16 through mmseg's test loop,
    fp32 and int8 ONNX through the same evaluator."""
    cwd = toy_runs['cwd']
    ckpt = str(cwd / 'context_toy' / 'iter_2000.pth')
    result = {}
    for path in ('eager', 'fused', 'bf16'):
        out = assert_ok(
            run_tool(
                [
                    python,
                    osp.join(REPO, 'tools', 'test.py'),
                    CONFIG,
                    ckpt,
                    '--infer-path',
                    path,
                    '--work-dir',
                    f'deploy_test_{path}',
                ],
                cwd,
            ),
            f'tools/test.py --infer-path {path}',
        )
        result[path] = _test_miou(out)
    out = assert_ok(
        run_tool(
            [
                python,
                osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'),
                CONFIG,
                ckpt,
                '--shape',
                '128',
                '128',
                '--dynamic',
                '--out',
                'deploy_toy.onnx',
                '--int8',
                '--calib-images',
                '8',
                '--eval',
            ],
            cwd,
        ),
        'export_onnx.py --int8 --eval',
    )
    for name in ('fp32', 'int8'):
        found = re.search(rf'^{name} \S+: mIoU ([\d.]+) on the test set', out, re.M)
        assert found, out[-3000:]
        result[f'onnx {name}'] = float(found.group(1))
    print('context_toy mIoU: ' + ', '.join(f'{k} {v:.2f}' for k, v in result.items()))
    return result


def test_fp32_paths_give_the_trained_models_miou(toy_runs, mious):
    """The reference the tolerances are taken from: eager is the run's own last validation (the
    validation and test sets are the same 60 images), and fused fp32 and the fp32 ONNX model,
    evaluated by the same metric, agree with it to rounding."""
    val_miou, step = toy_runs['context_toy.py']
    assert step == 2000
    assert mious['eager'] == pytest.approx(val_miou, abs=0.01)
    assert mious['fused'] == pytest.approx(mious['eager'], abs=0.05)
    assert mious['onnx fp32'] == pytest.approx(mious['eager'], abs=0.05)


def test_bf16_within_0_3_miou_of_fp32(mious):
    assert abs(mious['bf16'] - mious['eager']) <= 0.3, mious


def test_int8_within_1_miou_of_fp32(mious):
    assert abs(mious['onnx int8'] - mious['onnx fp32']) <= 1.0, mious
