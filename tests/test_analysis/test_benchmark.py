"""mmseg_dilated.analysis.benchmark / cost / timing / memory: the counts against independent ones,
the per-round figures against their definitions, the targets' verdicts, and the command end to end
at tiny settings (``mmseg-dilated benchmark``). No timing is asserted."""

import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_dilated.analysis import benchmark as bench
from mmseg_dilated.analysis import fresh_process, memory, timing
from mmseg_dilated.analysis.cost import (
    TensorForward,
    achieved_flops_per_s,
    count_flops,
    flop_rate_fraction,
)

from _helpers import REPO, run_tool

SCRIPT = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')

# A config file as --config takes it: SyncBN (reverted for CPU), a Pretrained init_cfg that must
# not be loaded.
CONFIG = """
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
    backbone=dict(type='DRN', arch='C', depth=26, norm_cfg=norm_cfg,
                  init_cfg=dict(type='Pretrained', checkpoint='none.pth')),
    decode_head=dict(type='ContextHead', in_channels=512, num_classes=4,
                     module_type='basic', dilations=(1, 2, 1)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
crop_size = (32, 64)
"""
PATHS = ['eager', 'fused', 'onnx-fp32']


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'drn-c-26_tiny.py'
    path.write_text(CONFIG)
    return str(path)


@pytest.fixture(scope='module')
def tiny_run(python, config_file, tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    proc = run_tool(
        [
            python,
            SCRIPT,
            '--models',
            'drn-d-22-context',
            '--config',
            config_file,
            '--size',
            '64',
            '--repeats',
            '3',
            '--warmup',
            '0',
            '--matmul-size',
            '256',
            '--matmul-repeats',
            '2',
            '--paths',
            *PATHS,
            '--memory-models',
            'drn-d-22-context',
            '--memory-breakdown',
            '--check',
            '--json',
            str(out),
            '--markdown',
        ],
        cwd=REPO,
        timeout=600,
    )
    res = json.loads(out.read_text())
    # --check: exit status 1 exactly when a target FAILs.
    failed = any(t['status'] == 'FAIL' for t in res['targets'])
    assert proc.returncode == int(failed), proc.stdout
    return proc.stdout, res


@pytest.mark.slow
def test_prints_all_columns_and_targets(tiny_run):
    stdout, _ = tiny_run
    for column in (
        'Params (M)',
        'GFLOPs*',
        'Latency (ms)',
        'vs DeepLabV3 R-50-D8 (x)',
        'FLOP-rate fraction',
        'Peak train (MiB)',
        'with_cp (MiB)',
        'Reduction',
        'Speed-up (x)',
        'Argmax agreement',
    ):
        assert column in stdout
    for label in ('DRN-D-22 + large context', 'DeepLabV3 R-50-D8', 'drn-c-26_tiny'):
        assert label in stdout
    assert 'one multiply-add = one flop' in stdout
    assert '2 threads' in stdout  # _helpers sets OMP_NUM_THREADS=2
    # The CPU features of every path are printed with the results.
    assert 'bf16 needs avx512_bf16 or amx_bf16' in stdout
    assert 'onnx-int8 needs avx512_vnni' in stdout
    # Targets are judged from the measurements: one line per check, and the model not run is
    # reported as such, not as a pass.
    assert '[NOT MEASURED] drn-d-38-aspp' in stdout
    assert stdout.count('drn-d-22-context: FLOP rate / matmul rate [eager]') == 1
    assert stdout.count('drn-d-22-context: with_cp saves') == 1
    assert stdout.count('drn-d-22-context: speed-up over eager [fused]') == 1
    # bf16 and int8 were not run: not measured, whatever the CPU.
    assert '[NOT MEASURED] drn-d-22-context: speed-up over eager [bf16]' in stdout
    assert 'Tensors alive at the peak of the step' in stdout
    assert stdout.count('DRN-D-22 + large context (21 cl.), with_cp: ') == 1
    # --markdown: the README tables.
    assert re.search(r'^\| Model +\| Params \(M\) +\| GFLOPs\* +\|', stdout, re.M)
    assert '| :---' in stdout
    assert 'elapsed: ' in stdout


@pytest.mark.slow
def test_json_numbers(tiny_run, config_file):
    _, res = tiny_run
    assert set(res) == {'settings', 'cpu', 'cpu_flags', 'matmul', 'models', 'memory', 'targets'}
    assert res['settings']['size'] == 64
    assert res['settings']['paths'] == PATHS
    assert res['settings']['channels_last'] is False
    assert res['matmul']['macs'] == 256**3
    assert res['matmul']['gflops_per_s'] > 0
    # --repeats 3: three rounds; the matmul figure is their median.
    mm_rounds = res['matmul']['seconds_rounds']
    assert len(mm_rounds) == 3
    assert res['matmul']['seconds'] == sorted(mm_rounds)[1]
    ref_runs = res['models'][-1]['latency_runs_ms']
    names = [m['name'] for m in res['models']]
    # The reference joins every run, last, on the eager path only.
    assert names == ['drn-d-22-context', config_file, 'deeplabv3-r50-d8']
    assert list(res['models'][-1]['paths']) == ['eager']
    for m in res['models']:
        for key in (
            'params',
            'gflops',
            'latency_ms',
            'achieved_gflops_per_s',
            'flop_rate_fraction',
            'vs_reference',
        ):
            assert m[key] > 0, (m['name'], key)
        runs = m['latency_runs_ms']
        assert len(runs) == 3
        # The stored numbers are consistent with each other: latency the median run; the
        # fraction and the ratio to the reference medians of the per-round ratios, each round
        # against its own matmul.
        assert m['latency_ms'] == sorted(runs)[1]
        assert m['latency_runs_ms'] == m['paths']['eager']['latency_runs_ms']
        assert m['achieved_gflops_per_s'] == pytest.approx(
            2 * m['gflops'] / (m['latency_ms'] / 1e3)
        )
        per_round = sorted(
            (m['gflops'] * 1e9 / (t / 1e3)) / (256**3 / t_mm) for t, t_mm in zip(runs, mm_rounds)
        )
        assert m['flop_rate_fraction'] == pytest.approx(per_round[1])
        assert m['vs_reference'] == pytest.approx(sorted(t / r for t, r in zip(runs, ref_runs))[1])
        # Every path: its speed-up is the median of per-round eager / path ratios, and its
        # output is eager's (fp32 paths: within 1e-4 of the largest logit, same labels).
        for path, r in m['paths'].items():
            assert len(r['latency_runs_ms']) == 3
            assert r['speedup'] == pytest.approx(
                sorted(e / t for e, t in zip(runs, r['latency_runs_ms']))[1]
            )
            assert r['relative_diff'] < 1e-4, (m['name'], path)
            assert r['argmax_agreement'] == 1.0, (m['name'], path)
    assert res['models'][-1]['vs_reference'] == 1.0

    (mem,) = res['memory']
    assert mem['name'] == 'drn-d-22-context'
    off, on = mem['without_cp'], mem['with_cp']
    for r in (off, on):
        assert r['peak_mib'] >= r['static_mib'] > 0
        if r['method'] == 'VmHWM reset':  # exact where /proc allows it
            assert r['step_increase_mib'] > 0
    assert mem['reduction'] == pytest.approx(1 - on['peak_mib'] / off['peak_mib'])
    # Checkpointing really ran in the with_cp step, and only there.
    assert off['checkpoint_calls'] == 0 and off['with_cp_components'] == []
    assert on['checkpoint_calls'] > 0
    assert on['with_cp_components'] == ['backbone (DRN)', 'decode_head (ContextHead)']
    # Static memory is the parameters, buffers and the batch, in bytes.
    assert off['static_mib'] == on['static_mib']
    assert off['static_mib'] * 2**20 > 4 * res['models'][0]['params']
    # Gradients: 4 bytes per (trainable, fp32) parameter; the bound follows from the figures.
    assert off['grad_mib'] * 2**20 == 4 * res['models'][0]['params']
    assert mem['reduction_bound'] == pytest.approx(
        1 - (off['static_mib'] + off['grad_mib']) / off['peak_mib']
    )
    assert mem['reduction'] <= mem['reduction_bound']
    # --memory-breakdown: the step's tensors at their peak; the gradients among them are at
    # most every trainable parameter's.
    for r in (off, on):
        tp = r['tensor_peak']
        assert 0 < tp['gradient_mib'] <= r['grad_mib']
        assert tp['peak_mib'] >= tp['gradient_mib'] + sum(t['mib'] for t in tp['largest'])

    metrics = {(t['model'], t['metric'], t['path']) for t in res['targets']}
    speed = {
        (m, 'speedup', p)
        for m in ('drn-d-22-context', 'drn-d-38-aspp')
        for p in ('fused', 'bf16', 'onnx-int8')
    }
    assert metrics == speed | {
        ('drn-d-22-context', 'flop_rate_fraction', 'eager'),
        ('drn-d-38-aspp', 'flop_rate_fraction', 'eager'),
        ('drn-d-105-context', 'best_fp32_flop_rate', None),
        ('drn-d-22-context', 'with_cp_memory_reduction', None),
    }


@pytest.mark.slow
def test_params_match_independent_count(tiny_run, config_file):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import mmseg_dilated  # noqa: F401

    register_all_modules()
    _, res = tiny_run
    reported = {m['name']: m['params'] for m in res['models']}

    cfg = Config.fromfile(config_file).model
    cfg.backbone.norm_cfg = dict(type='BN')
    cfg.backbone.pop('init_cfg')
    independent = sum(p.numel() for p in MODELS.build(cfg).parameters())
    assert reported[config_file] == independent

    # DRN-D-22 (15,880,752 in the authors' drn.py, fyu/drn) + the large context module of
    # Table 1 for C = 21: the 512 -> 21 classifier, 3x3 layers 21-42-42-84-168-336-672-672 and
    # the final 672 -> 21 1x1, with biases.
    widths = [21, 42, 42, 84, 168, 336, 672, 672]
    head = (
        (512 * 21 + 21) + sum(9 * a * b + b for a, b in zip(widths, widths[1:])) + (672 * 21 + 21)
    )
    assert reported['drn-d-22-context'] == 15_880_752 + head


def test_named_models_are_shipped_configs():
    for name, (label, path) in bench.MODEL_SPECS.items():
        if name != bench.REFERENCE:
            assert osp.isfile(osp.join(REPO, 'configs', path)), (name, path)
            assert bench.config_of(name) == osp.join(REPO, 'configs', path)
    assert osp.isfile(bench.reference_config_file())
    with pytest.raises(ValueError, match='drn-d-22-context'):
        bench.config_of('drn-z-99')


def test_drn_d_22_backbone_gmacs_at_512():
    """68.2 GMACs for the authors' DRN-D-22 (drn.py, fyu/drn) at 512x512, backbone only."""
    net = TensorForward(bench.build_model('drn-d-22-context'), backbone_only=True)
    assert count_flops(net, torch.randn(1, 3, 512, 512)) == pytest.approx(68.2e9, rel=0.01)


def test_flop_counts_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert count_flops(conv, torch.randn(1, 3, 16, 16)) == 8 * 3 * 9 * 16 * 16

    # The large context head on 8x8 maps, Table 1 widths for C = 21; the 'same' padding reads
    # zeros, which the count includes as the convs do.
    model = bench.build_model('drn-d-22-context')
    widths = [21, 42, 42, 84, 168, 336, 672, 672, 21]
    by_hand = 64 * (512 * 21 + sum(9 * a * b for a, b in zip(widths[:-2], widths[1:-1])) + 672 * 21)
    assert count_flops(model.decode_head, ([torch.randn(1, 512, 8, 8)],)) == by_hand

    class MatMul(nn.Module):
        def forward(self, a, b):
            return torch.mm(a, b)

    # The matmul reference is counted as mmengine counts it: n**3.
    a = torch.randn(32, 32)
    assert count_flops(MatMul(), (a, a)) == 32**3


@pytest.mark.slow
def test_reported_gflops_by_hand(tiny_run):
    # The run's 64x64 DRN-D-22 + large context: the backbone's 68.2 GMACs at 512x512 (the
    # authors' drn.py) scaled by the pixels (every map is 1/8, 1/4, ... of the input exactly),
    # plus the large context head on its 8x8 features, by hand as in test_flop_counts_by_hand.
    _, res = tiny_run
    widths = [21, 42, 42, 84, 168, 336, 672, 672, 21]
    head = 64 * (512 * 21 + sum(9 * a * b for a, b in zip(widths[:-2], widths[1:-1])) + 672 * 21)
    expected = 68.2e9 * (64 * 64) / (512 * 512) + head
    assert res['models'][0]['gflops'] == pytest.approx(expected / 1e9, rel=0.01)


def test_flop_rate_worked_example():
    # 100 GMACs in 2 s = 100 GFLOP/s. A 2048 matmul (8.59 G multiply-adds) in 0.1 s = 171.8
    # GFLOP/s. Fraction 100 / 171.8 = 0.582.
    assert achieved_flops_per_s(100e9, 2.0) == 100e9
    frac = flop_rate_fraction(100e9, 2.0, 2048**3, 0.1)
    assert frac == pytest.approx(100 / 171.79869184, rel=1e-9)
    assert frac == pytest.approx(0.582, abs=5e-4)
    # The factor 2 cancels: the same convention on both sides.
    assert frac == pytest.approx((100e9 / 2.0) / (2048**3 / 0.1))


def test_round_robin_order():
    """Warm-up runs of every callable first, then each round times the matrix product and every
    callable once, in order: a slow spell of the machine falls on all of them alike."""
    calls = []
    fns = [(lambda n: lambda: calls.append(n))(name) for name in ('a', 'b', 'c')]
    runs, matmul_rounds = timing.round_robin(
        fns, repeats=3, warmup=2, matmul_size=16, matmul_repeats=4
    )
    assert calls == ['a', 'a', 'b', 'b', 'c', 'c'] + ['a', 'b', 'c'] * 3
    assert [len(r) for r in runs] == [3, 3, 3]
    assert len(matmul_rounds) == 3
    assert all(t > 0 for r in runs + [matmul_rounds] for t in r)


def test_round_robin_keeps_the_threads():
    # torch.utils.benchmark.Timer runs on ONE thread unless told; the timers pass the current
    # number, so the callable sees what the caller set.
    seen = []
    timing.round_robin(
        [lambda: seen.append(torch.get_num_threads())],
        repeats=2,
        warmup=0,
        matmul_size=8,
        matmul_repeats=1,
    )
    assert seen == [torch.get_num_threads()] * 2


def test_time_once_calls_once():
    # round_robin times a model path with time_once: one call per round, no warm-up calls of its
    # own (torch.utils.benchmark.Timer.timeit(1) would call it three times).
    calls = []
    assert timing.time_once(lambda: calls.append(1)) > 0 and len(calls) == 1


def test_per_round_ratios_by_hand():
    # Round 2 is a slow spell for both: its ratio is the same as the others'.
    assert timing.per_round_ratios([2.0, 4.0, 2.2], [1.0, 2.0, 1.0]) == [2.0, 2.0, 2.2]
    assert timing.median_ratio([1.0, 3.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    with pytest.raises(ValueError, match='one figure per round'):
        timing.per_round_ratios([1.0], [1.0, 2.0])


def test_profile_names_the_convolution():
    conv = nn.Conv2d(16, 16, 3, padding=1)
    x = torch.randn(1, 16, 64, 64)
    table, rows = timing.profile_ops(lambda: conv(x), runs=2)
    assert 'Self CPU' in table
    # The convolution's kernel takes the time; the shares add up to at most 1.
    assert 'conv' in rows[0][0]
    assert 0 < sum(share for _, _, share in rows) <= 1 + 1e-9


def test_tensor_peak_tracker_by_hand():
    keep = torch.zeros(10)
    with memory.TensorPeakTracker([keep]) as tracker:
        a = torch.ones(1024)  # 4 KiB
        b = torch.ones(2048)  # 8 KiB: 12 KiB live, the peak
        b[:100].mul_(2)  # a view, in place: no new storage
        keep.add_(1)  # a pre-existing tensor: not counted
        del a
        c = torch.ones(512)  # 2 KiB: 10 KiB live
    assert tracker.peak == 12 * 1024
    assert tracker.peak_op == 'ones'
    assert tracker.current == 10 * 1024
    assert b.numel() + c.numel() == 2560


def test_tensor_peak_tracker_splits_gradients():
    lin = nn.Linear(256, 512, bias=False)
    x = torch.randn(8, 256)
    with memory.TensorPeakTracker([lin.weight, x]) as tracker:
        y = lin(x)
        (y * y).sum().backward()
    summary = tracker.summary([lin.weight.grad])
    # At the weight gradient's matmul: the gradient (512 x 256 floats), y (8 x 512, saved by the
    # product), y's gradient (8 x 512), the loss and its seed gradient (4 bytes each); y * y
    # itself was freed by the sum.
    by_hand = 512 * 256 * 4 + 2 * 8 * 512 * 4 + 2 * 4
    assert summary['peak_mib'] * 2**20 == by_hand
    assert summary['peak_op'] == 'mm'
    assert summary['gradient_mib'] * 2**20 == 512 * 256 * 4
    assert summary['gradient_tensors'] == 1
    assert [t['shape'] for t in summary['largest'][:2]] == [[8, 512]] * 2


def _results(**speedups):
    paths = {p: dict(speedup=v, flop_rate_fraction=0.5) for p, v in speedups.items()}
    return dict(
        models=[
            dict(
                name='drn-d-22-context',
                paths=dict(paths, eager=dict(speedup=1.0, flop_rate_fraction=0.86)),
            ),
            dict(
                name='drn-d-38-aspp', paths=dict(eager=dict(speedup=1.0, flop_rate_fraction=0.84))
            ),
            dict(
                name='drn-d-105-context',
                paths={
                    'eager': dict(speedup=1.0, flop_rate_fraction=0.80),
                    'onnx-fp32': dict(speedup=1.2, flop_rate_fraction=0.91),
                    'bf16': dict(speedup=2.0, flop_rate_fraction=1.6),
                },
            ),
        ],
        memory=[
            dict(name='drn-d-22-context', reduction=0.45, reduction_bound=0.6),
            dict(name='vgg-context', reduction=0.2, reduction_bound=0.3),
            dict(name='deeplabv3-r50-d8', reduction=0.1, reduction_bound=0.5),
        ],
    )


def test_memory_reduction_and_targets():
    assert memory.memory_reduction(dict(peak_mib=1000.0), dict(peak_mib=550.0)) == pytest.approx(
        0.45
    )
    verdicts = bench.check_targets(
        _results(fused=1.06, bf16=1.5, **{'onnx-int8': 2.1}), flags=['avx2']
    )
    status = {(v['model'], v['metric'], v['path']): v['status'] for v in verdicts}
    assert status == {
        ('drn-d-22-context', 'speedup', 'fused'): 'PASS',
        ('drn-d-38-aspp', 'speedup', 'fused'): 'NOT MEASURED',
        # bf16 misses its target on a CPU without bf16 instructions: not judged.
        ('drn-d-22-context', 'speedup', 'bf16'): 'N/A',
        ('drn-d-38-aspp', 'speedup', 'bf16'): 'NOT MEASURED',
        ('drn-d-22-context', 'speedup', 'onnx-int8'): 'PASS',
        ('drn-d-38-aspp', 'speedup', 'onnx-int8'): 'NOT MEASURED',
        ('drn-d-22-context', 'flop_rate_fraction', 'eager'): 'PASS',
        ('drn-d-38-aspp', 'flop_rate_fraction', 'eager'): 'FAIL',
        # The fastest fp32 path counts (bf16 is not fp32).
        ('drn-d-105-context', 'best_fp32_flop_rate', 'onnx-fp32'): 'PASS',
        ('drn-d-22-context', 'with_cp_memory_reduction', None): 'PASS',
        # The dilated VGG-16: reduction and bound printed, no verdict; the reference: no line.
        ('vgg-context', 'with_cp_memory_reduction', None): 'INFO',
    }
    vgg = next(v for v in verdicts if v['model'] == 'vgg-context')
    assert (vgg['value'], vgg['bound']) == (0.2, 0.3)
    # With bf16 instructions the same figure fails.
    verdicts = bench.check_targets(_results(bf16=1.5), flags=['avx2', 'avx512_bf16'])
    assert [v['status'] for v in verdicts if v['path'] == 'bf16'] == ['FAIL', 'NOT MEASURED']


def test_path_features_from_flags():
    features = {f['path']: f for f in bench.path_features(['avx2', 'avx512_vnni'])}
    assert set(features) == set(bench.ALL_PATHS)
    assert features['bf16']['present'] == [] and 'avx512_bf16' in features['bf16']['needs']
    assert features['onnx-int8']['present'] == ['avx512_vnni']
    assert features['eager']['present'] == ['avx2']


def test_peak_rss_method_sees_torch_allocations():
    """The memory method, as the workers run it (a fresh process, glibc's fixed mmap threshold):
    reset VmHWM, allocate 64 MiB, read the peak. In the long-lived test process freed memory stays
    resident and would be reused, which is why the benchmark measures in fresh processes."""
    code = (
        'import sys, torch\n'
        'from mmseg_dilated.analysis.memory import PeakRSS\n'
        'with PeakRSS() as rss:\n'
        '    x = torch.ones(16 * 2**20)  # 64 MiB, written\n'
        'print(rss.mib if rss.exact else "skip")\n'
    )
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(fresh_process.MMAP_THRESHOLD))
    out = subprocess.run(
        [sys.executable, '-c', code], env=env, stdout=subprocess.PIPE, text=True, check=True
    ).stdout.split()[-1]
    if out == 'skip':
        pytest.skip('/proc/self/clear_refs is not writable here')
    assert 60 < float(out) < 80


@pytest.mark.parametrize('spec', ['drn-d-38-aspp', 'deeplabv3-r50-d8'])
def test_fused_path_folds_every_bn_and_keeps_output(spec):
    # mmseg's reference config uses SyncBN, which the builder reverts to _BatchNormXd, not
    # BatchNorm2d: those must be folded too.
    model = bench.build_model(spec)

    def running_bns(module):
        # The auxiliary head (the reference's FCN) does not run at inference.
        return [
            m
            for name, m in module.named_modules()
            if isinstance(m, _BatchNorm) and 'auxiliary_head' not in name
        ]

    assert len(running_bns(model)) > 0
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = TensorForward(model)(x)
    fns = bench.prepare_paths(model, x, ['fused'], workdir='')
    with torch.no_grad():
        after = fns['fused']()
    # The source model is left as it was; every BN of the copy (DRN-D, ResNetV1c, the ASPP
    # heads with their image pooling) follows a conv and is folded.
    assert len(running_bns(model)) > 0
    assert running_bns(fns['fused'].target) == []
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_every_path_agrees_with_eager(config_file, tmp_path):
    """All five paths on one model: fp32 paths equal eager within 1e-4 of the largest logit;
    bf16 and int8 (calibrated on random inputs) keep most labels."""
    model = bench.build_model(config_file)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    fns = bench.prepare_paths(model, x, bench.PATHS, str(tmp_path))
    assert list(fns) == list(bench.PATHS)
    assert {'fp32.onnx', 'int8.onnx'} <= set(os.listdir(tmp_path))
    with torch.inference_mode():
        out = {p: bench.last_array(fn()) for p, fn in fns.items()}
    for path in bench.PATHS:
        assert out[path].shape == (1, 4, 8, 8), path
        agreement = bench.agreement(out['eager'], out[path])
        assert agreement['max_abs_diff'] == pytest.approx(np.abs(out['eager'] - out[path]).max())
        if path in bench.FP32_PATHS:
            assert agreement['relative_diff'] < 1e-4, path
        else:
            assert 0 < agreement['relative_diff'] < 0.3, path
            assert agreement['argmax_agreement'] > 0.8, path


def test_with_cp_enabled_where_supported():
    model = bench.build_model('deeplabv3-r50-d8', with_cp=True)
    # ResNetV1c takes with_cp through **kwargs; ASPPHead has none.
    assert memory.with_cp_components(model) == ['backbone (ResNetV1c)']
    assert model.backbone.with_cp is True
    assert not hasattr(model.decode_head, 'with_cp')
    assert model.cfg.model.pretrained is None  # no download
    assert memory.with_cp_components(bench.build_model('deeplabv3-r50-d8')) == []


def test_unknown_model_is_refused(python):
    proc = run_tool([python, SCRIPT, '--models', 'drn-z-99'], cwd=REPO)
    assert proc.returncode != 0
    assert 'drn-d-22-context' in proc.stdout
