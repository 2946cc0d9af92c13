"""tools/analysis/benchmark.py: the script end to end at tiny settings, and its
counts against independent ones. No timing is asserted."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from _helpers import REPO, load_script, run_tool

SCRIPT = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')

# A config file as --config takes it: SyncBN (reverted for CPU), a
# Pretrained init_cfg that must not be loaded.
CONFIG = """
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                           std=[1, 1, 1]),
    backbone=dict(type='DRN', arch='C', depth=26, norm_cfg=norm_cfg,
                  init_cfg=dict(type='Pretrained', checkpoint='none.pth')),
    decode_head=dict(type='ContextHead', in_channels=512, num_classes=4,
                     module_type='basic', dilations=(1, 2, 1)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
"""


@pytest.fixture(scope='module')
def bench():
    return load_script(SCRIPT, 'benchmark_tool')


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'drn-c-26_tiny.py'
    path.write_text(CONFIG)
    return str(path)


@pytest.fixture(scope='module')
def tiny_run(python, config_file, tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    proc = run_tool([
        python, SCRIPT, '--models', 'drn-d-22-context', '--config',
        config_file, '--size', '64', '--repeats', '3', '--warmup', '0',
        '--matmul-size', '256', '--matmul-repeats', '2', '--memory-models',
        'drn-d-22-context', '--memory-breakdown', '--json',
        str(out), '--markdown'
    ],
                    cwd=REPO,
                    timeout=300)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout, json.loads(out.read_text())


def test_prints_all_columns_and_targets(tiny_run):
    stdout, _ = tiny_run
    for column in ('Params (M)', 'GFLOPs*', 'Latency (ms)',
                   'vs DeepLabV3 R-50-D8 (x)', 'FLOP-rate fraction',
                   'Peak train (MiB)', 'with_cp (MiB)', 'Reduction'):
        assert column in stdout
    for label in ('DRN-D-22 + large context', 'DeepLabV3 R-50-D8',
                  'drn-c-26_tiny'):
        assert label in stdout
    assert 'one multiply-add = one flop' in stdout
    assert '2 threads' in stdout  # _helpers sets OMP_NUM_THREADS=2
    # Targets are judged from the measurements: one line per check, and the
    # model not run is reported as such, not as a pass.
    assert '[NOT MEASURED] drn-d-38-aspp' in stdout
    assert stdout.count('drn-d-22-context: FLOP rate / matmul rate') == 1
    assert stdout.count('drn-d-22-context: with_cp saves') == 1
    assert 'Tensors alive at the peak of the step' in stdout
    assert stdout.count('DRN-D-22 + large context (21 cl.), with_cp: ') == 1
    # --markdown: the README tables.
    assert '| Model | Params (M) | GFLOPs* |' in stdout
    assert '| --- |' in stdout


def test_json_numbers(tiny_run, config_file):
    _, res = tiny_run
    assert set(res) == {'settings', 'matmul', 'models', 'memory', 'targets'}
    assert res['settings']['size'] == 64
    assert res['settings']['channels_last'] is True
    assert res['matmul']['macs'] == 256**3
    assert res['matmul']['gflops_per_s'] > 0
    # --repeats 3: three rounds; the matmul figure is their median.
    mm_rounds = res['matmul']['seconds_rounds']
    assert len(mm_rounds) == 3
    assert res['matmul']['seconds'] == sorted(mm_rounds)[1]
    ref_runs = res['models'][-1]['latency_runs_ms']
    names = [m['name'] for m in res['models']]
    # The reference joins every run, last.
    assert names == ['drn-d-22-context', config_file, 'deeplabv3-r50-d8']
    for m in res['models']:
        for key in ('params', 'gflops', 'latency_ms', 'achieved_gflops_per_s',
                    'flop_rate_fraction', 'vs_reference'):
            assert m[key] > 0, (m['name'], key)
        runs = m['latency_runs_ms']
        assert len(runs) == 3
        # The stored numbers are consistent with each other: latency the
        # median run; the fraction and the ratio to the reference medians of
        # the per-round ratios, each round against its own matmul.
        assert m['latency_ms'] == sorted(runs)[1]
        assert m['achieved_gflops_per_s'] == pytest.approx(
            2 * m['gflops'] / (m['latency_ms'] / 1e3))
        per_round = sorted(
            (m['gflops'] * 1e9 / (t / 1e3)) / (256**3 / t_mm)
            for t, t_mm in zip(runs, mm_rounds))
        assert m['flop_rate_fraction'] == pytest.approx(per_round[1])
        assert m['vs_reference'] == pytest.approx(
            sorted(t / r for t, r in zip(runs, ref_runs))[1])
    assert res['models'][-1]['vs_reference'] == 1.0

    (mem, ) = res['memory']
    assert mem['name'] == 'drn-d-22-context'
    off, on = mem['without_cp'], mem['with_cp']
    for r in (off, on):
        assert r['peak_mib'] >= r['static_mib'] > 0
        if r['method'] == 'VmHWM reset':  # exact where /proc allows it
            assert r['step_increase_mib'] > 0
    assert mem['reduction'] == pytest.approx(
        1 - on['peak_mib'] / off['peak_mib'])
    # Checkpointing really ran in the with_cp step, and only there.
    assert off['checkpoint_calls'] == 0 and off['with_cp_components'] == []
    assert on['checkpoint_calls'] > 0
    assert on['with_cp_components'] == [
        'backbone (DRN)', 'decode_head (ContextHead)'
    ]
    # Static memory is the parameters, buffers and the batch, in bytes.
    assert off['static_mib'] == on['static_mib']
    assert off['static_mib'] * 2**20 > 4 * res['models'][0]['params']
    # Gradients: 4 bytes per (trainable, fp32) parameter; the bound follows from the figures.
    assert off['grad_mib'] * 2**20 == 4 * res['models'][0]['params']
    assert mem['reduction_bound'] == pytest.approx(
        1 - (off['static_mib'] + off['grad_mib']) / off['peak_mib'])
    assert mem['reduction'] <= mem['reduction_bound']
    # --memory-breakdown: the step's tensors at their peak; the gradients
    # among them are at most every trainable parameter's.
    for r in (off, on):
        tp = r['tensor_peak']
        assert 0 < tp['gradient_mib'] <= r['grad_mib']
        assert tp['peak_mib'] >= tp['gradient_mib'] + sum(
            t['mib'] for t in tp['largest'])

    metrics = {(t['model'], t['metric']) for t in res['targets']}
    assert metrics == {('drn-d-22-context', 'flop_rate_fraction'),
                       ('drn-d-38-aspp', 'flop_rate_fraction'),
                       ('drn-d-22-context', 'with_cp_memory_reduction')}


def test_params_match_independent_count(tiny_run, bench, config_file):
    import mmseg_dilated  # noqa: F401
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    _, res = tiny_run
    reported = {m['name']: m['params'] for m in res['models']}

    cfg = Config.fromfile(config_file).model
    cfg.backbone.norm_cfg = dict(type='BN')
    cfg.backbone.pop('init_cfg')
    independent = sum(p.numel() for p in MODELS.build(cfg).parameters())
    assert reported[config_file] == independent

    # DRN-D-22 (15,880,752 in the authors' drn.py, fyu/drn) + the large context
    # module of Table 1 for C = 21: the 512 -> 21 classifier, 3x3 layers
    # 21-42-42-84-168-336-672-672 and the final 672 -> 21 1x1, with biases.
    widths = [21, 42, 42, 84, 168, 336, 672, 672]
    head = (512 * 21 + 21) + sum(
        9 * a * b + b for a, b in zip(widths, widths[1:])) + (672 * 21 + 21)
    assert reported['drn-d-22-context'] == 15_880_752 + head


def test_named_models_are_shipped_configs(bench):
    for name, (label, path) in bench.MODEL_SPECS.items():
        if name != bench.REFERENCE:
            assert osp.isfile(osp.join(REPO, path)), (name, path)
    assert osp.isfile(bench._reference_config_file())


def test_drn_d_22_backbone_gmacs_at_512(bench):
    """68.2 GMACs for the authors' DRN-D-22 (drn.py, fyu/drn) at 512x512, backbone only."""
    model, _ = bench.build_model('drn-d-22-context')
    net = bench.TensorForward(model, backbone_only=True)
    macs = bench.count_flops(net, torch.randn(1, 3, 512, 512))
    assert macs == pytest.approx(68.2e9, rel=0.01)


def test_flop_counts_by_hand(bench):
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert bench.count_flops(conv, torch.randn(1, 3, 16, 16)) == \
        8 * 3 * 9 * 16 * 16

    # The large context head on 8x8 maps, Table 1 widths for C = 21; the
    # 'same' padding reads zeros, which the count includes as the convs do.
    model, _ = bench.build_model('drn-d-22-context')
    widths = [21, 42, 42, 84, 168, 336, 672, 672, 21]
    by_hand = 64 * (512 * 21 + sum(
        9 * a * b for a, b in zip(widths[:-2], widths[1:-1])) + 672 * 21)
    head = model.decode_head
    assert bench.count_flops(head, ([torch.randn(1, 512, 8, 8)], )) == by_hand

    class MatMul(nn.Module):

        def forward(self, a, b):
            return torch.mm(a, b)

    # The matmul reference is counted as mmengine counts it: n**3.
    a = torch.randn(32, 32)
    assert bench.count_flops(MatMul(), (a, a)) == 32**3


def test_reported_gflops_equal_the_analyzer(tiny_run, bench):
    _, res = tiny_run
    model, _ = bench.build_model('drn-d-22-context')
    macs = bench.count_flops(
        bench.TensorForward(model), torch.randn(1, 3, 64, 64))
    assert res['models'][0]['gflops'] == pytest.approx(macs / 1e9)


def test_flop_rate_worked_example(bench):
    # 100 GMACs in 2 s = 100 GFLOP/s. A 2048 matmul (8.59 G multiply-adds)
    # in 0.1 s = 171.8 GFLOP/s. Fraction 100 / 171.8 = 0.582.
    assert bench.achieved_flops_per_s(100e9, 2.0) == 100e9
    frac = bench.flop_rate_fraction(100e9, 2.0, 2048**3, 0.1)
    assert frac == pytest.approx(100 / 171.79869184, rel=1e-9)
    assert frac == pytest.approx(0.582, abs=5e-4)
    # The factor 2 cancels: the same convention on both sides.
    assert frac == pytest.approx((100e9 / 2.0) / (2048**3 / 0.1))


def test_round_robin_order(bench):
    """Warm-up runs of every model first, then each round times the matrix
    product and every model once, in order: a slow spell of the machine
    falls on all models alike."""
    calls = []

    def net(name):
        return lambda x: calls.append(name)

    prepared = [(dict(name=n), net(n), None) for n in ('a', 'b', 'c')]
    args = argparse.Namespace(
        warmup=2, repeats=3, matmul_size=16, matmul_repeats=4)
    runs, matmul_rounds = bench.time_round_robin(prepared, args)
    assert calls == ['a', 'a', 'b', 'b', 'c', 'c'] + ['a', 'b', 'c'] * 3
    assert [len(r) for r in runs] == [3, 3, 3]
    assert len(matmul_rounds) == 3
    assert all(t > 0 for r in runs + [matmul_rounds] for t in r)


def test_tensor_peak_tracker_by_hand(bench):
    keep = torch.zeros(10)
    with bench.TensorPeakTracker([keep]) as tracker:
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


def test_tensor_peak_tracker_splits_gradients(bench):
    lin = nn.Linear(256, 512, bias=False)
    x = torch.randn(8, 256)
    with bench.TensorPeakTracker([lin.weight, x]) as tracker:
        y = lin(x)
        (y * y).sum().backward()
    summary = tracker.summary([lin.weight.grad])
    # At the weight gradient's matmul: the gradient (512 x 256 floats), y
    # (8 x 512, saved by the product), y's gradient (8 x 512), the loss and
    # its seed gradient (4 bytes each); y * y itself was freed by the sum.
    by_hand = 512 * 256 * 4 + 2 * 8 * 512 * 4 + 2 * 4
    assert summary['peak_mib'] * 2**20 == by_hand
    assert summary['peak_op'] == 'mm'
    assert summary['gradient_mib'] * 2**20 == 512 * 256 * 4
    assert summary['gradient_tensors'] == 1
    assert [t['shape'] for t in summary['largest'][:2]] == [[8, 512]] * 2


def test_memory_reduction_and_targets(bench):
    off = dict(peak_mib=1000.)
    on = dict(peak_mib=550.)
    assert bench.memory_reduction(off, on) == pytest.approx(0.45)
    results = dict(
        models=[
            dict(name='drn-d-22-context', flop_rate_fraction=0.86),
            dict(name='drn-d-38-aspp', flop_rate_fraction=0.84)
        ],
        memory=[
            dict(name='drn-d-22-context', reduction=0.45),
            dict(name='deeplabv3-r50-d8', reduction=0.1)
        ])
    passed = {(t['model'], t['metric']): t['passed']
              for t in bench.check_targets(results)}
    assert passed == {
        ('drn-d-22-context', 'flop_rate_fraction'): True,
        ('drn-d-38-aspp', 'flop_rate_fraction'): False,
        ('drn-d-22-context', 'with_cp_memory_reduction'): True,
    }


def test_peak_rss_method_sees_torch_allocations(bench):
    """The memory method, as the worker runs it (a fresh process, glibc's fixed mmap threshold):
    reset VmHWM, allocate 64 MiB, read the peak. In the long-lived test process freed memory stays
    resident and would be reused, which is why the benchmark measures in fresh processes."""
    code = (
        'import importlib.util, sys, torch\n'
        f'spec = importlib.util.spec_from_file_location("bench", {SCRIPT!r})\n'
        'bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)\n'
        'if not bench._reset_peak_rss(): print("skip"); sys.exit()\n'
        'before = bench._proc_status_kib("VmRSS")\n'
        'x = torch.ones(16 * 2**20)  # 64 MiB, written\n'
        'print((bench._proc_status_kib("VmHWM") - before) / 1024)\n')
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(bench.MMAP_THRESHOLD))
    out = subprocess.run([sys.executable, '-c', code], env=env, stdout=subprocess.PIPE,
                         text=True, check=True).stdout.split()[-1]
    if out == 'skip':
        pytest.skip('/proc/self/clear_refs is not writable here')
    assert 60 < float(out) < 80


@pytest.mark.parametrize('spec', ['drn-d-38-aspp', 'deeplabv3-r50-d8'])
def test_fuse_bn_keeps_output(bench, spec):
    # mmseg's reference config uses SyncBN, which the benchmark reverts to
    # _BatchNormXd, not BatchNorm2d: those must be folded too.
    model, _ = bench.build_model(spec)
    net = bench.TensorForward(model).eval()
    # The auxiliary head (the reference's FCN) does not run at inference.
    def running_bns():
        return [m for name, m in net.named_modules()
                if isinstance(m, _BatchNorm) and 'auxiliary_head' not in name]

    num_bn = len(running_bns())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = net(x)
    folded = bench.fuse_conv_bn(net, x)
    with torch.no_grad():
        after = net(x)
    # Every BN of DRN-D, of ResNetV1c and of the ASPP heads (image pooling
    # included) follows a conv.
    assert folded == num_bn > 0
    assert running_bns() == []
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_with_cp_enabled_where_supported(bench):
    from mmseg.registry import MODELS
    registry = bench._registry()
    cfg = bench._model_cfg('deeplabv3-r50-d8')
    # ResNetV1c takes with_cp through **kwargs; ASPPHead/FCNHead have none.
    assert bench.enable_with_cp(cfg, registry) == ['backbone (ResNetV1c)']
    assert cfg['backbone']['with_cp'] is True
    assert 'with_cp' not in cfg['decode_head']
    assert registry is MODELS
    assert 'pretrained' not in cfg  # no download


def test_unknown_model_is_refused(python):
    proc = run_tool([python, SCRIPT, '--models', 'drn-z-99'], cwd=REPO)
    assert proc.returncode != 0
    assert 'drn-d-22-context' in proc.stdout
