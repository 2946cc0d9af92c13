"""CPU benchmark of the shipped models: parameters, GFLOPs, latency, FLOP rate
and peak training memory with and without ``with_cp``.

    python tools/analysis/benchmark.py [--models NAME ...] [--config PATH ...]
        [--size 512] [--repeats 5] [--warmup 1] [--json OUT] [--markdown]

Each named model (``--models``) is the model of a shipped config (see
``MODEL_SPECS``), built with random weights and SyncBN reverted to BN.

What is measured, all in one run on the same machine and threads:

- Params: ``sum(p.numel())`` over the built ``EncoderDecoder`` (for the
  DeepLabV3 reference this includes its auxiliary FCN head).
- GFLOPs: mmengine's ``FlopAnalyzer`` on ``model._forward`` (what
  ``forward(mode='tensor')`` runs: backbone and decode head, logits at 1/8
  resolution) for one 3xSxS image. mmengine counts ONE multiply-add as ONE
  flop, so these are GMACs reported as "GFLOPs" (plus small per-element terms
  for BN, upsampling and pooling).
- Latency: median of ``--repeats`` timed runs after ``--warmup`` runs, eval
  mode, ``torch.inference_mode``, batch 1. All models are built first and
  timed round-robin: each round times the matrix product and then every
  model once, so a slow spell of the machine falls on all of them alike.
- FLOP rate: ``2 * MACs / latency`` divided by the rate of an fp32
  ``torch.mm`` (n x n @ n x n, ``2 * n**3 / t``; median of
  ``--matmul-repeats`` per round), each round's model run against that
  round's matmul; the median of the rounds' fractions is reported. The
  machine's speed drifts by several percent over a run on a shared VM; the
  round-by-round ratio cancels that drift, which a ratio of medians taken at
  different times does not. A warning is printed when the matmul rounds
  differ by more than 10%. The matrix product is counted by the same
  convention (mmengine counts it as ``n**3``), so the fraction is the same
  with or without the factor 2.
- Latency against mmseg's DeepLabV3 R-50-D8 (``mmseg::_base_/models/
  deeplabv3_r50-d8.py``), timed in the same rounds: the median over rounds
  of model / reference.
- Peak training memory of one SGD step (forward, loss, backward, optimizer
  step) at batch 2, each measurement in a fresh subprocess. torch keeps no
  CPU allocator statistics and tracemalloc does not see its allocations, so
  the worker reads the kernel's resident-set high-water mark: it resets
  ``VmHWM`` (``echo 5 > /proc/self/clear_refs``) right before the step, reads
  ``VmRSS`` then and ``VmHWM`` after it. glibc runs with a fixed mmap
  threshold (``MALLOC_MMAP_THRESHOLD_``) so that every freed tensor goes back
  to the kernel and the high-water mark follows live tensors. The reported
  peak is parameters + buffers + input batch (exact bytes) plus that step
  increase, the CPU analogue of ``torch.cuda.max_memory_allocated``. A small
  step at 64x64 runs first, as earlier iterations of a training would: it
  initialises thread pools and the autograd engine and creates the SGD
  momentum buffers, which then count as static memory (exact bytes).

Inference options applied to EVERY model alike, the reference included, and
printed with the results: ``--channels-last`` (default on; NHWC memory format
for model and input, the layout oneDNN's CPU convolutions prefer; the output
is the same) and ``--fuse-bn`` (default off; fold eval-mode BatchNorm into
the preceding conv, checked to give the same output). GFLOPs are always
counted on the model as built. Targets are printed as PASS/FAIL from the
measured numbers; ``--strict`` makes a FAIL the exit status.
"""
import argparse
import contextlib
import gc
import inspect
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
import weakref
from collections import Counter

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

REFERENCE = 'deeplabv3-r50-d8'
# Targets of the issue: FLOP-rate fraction of these models, with_cp saving.
RATE_TARGET = 0.85
RATE_TARGET_MODELS = ('drn-d-22-context', 'drn-d-38-aspp')
MEMORY_TARGET = 0.40
MEMORY_RESULT_TAG = 'BENCHMARK_MEMORY_RESULT '
MMAP_THRESHOLD = 64 * 1024

# name -> (label, the shipped config whose model it is). The reference is
# read from mmseg's own config (_reference_config_file).
MODEL_SPECS = {
    'drn-c-26-context': (
        'DRN-C-26 + basic context (19 cl.)',
        'configs/drn/context-basic_drn-c-26_8xb2-80k_cityscapes-512x1024.py'),
    'drn-d-22-context': ('DRN-D-22 + large context (21 cl.)',
                         'configs/context_voc.py'),
    'drn-d-38-context': (
        'DRN-D-38 + basic context (19 cl.)',
        'configs/drn/context-basic_drn-d-38_8xb2-80k_cityscapes-512x1024.py'),
    'drn-d-105-context': (
        'DRN-D-105 + basic context (19 cl.)',
        'configs/drn/context-basic_drn-d-105_8xb2-80k_cityscapes-840x840.py'),
    'drn-d-38-aspp': (
        'DRN-D-38 + ASPP (19 cl.)',
        'configs/drn/aspp_drn-d-38_8xb2-80k_cityscapes-512x1024.py'),
    # The paper's model: the VOC release's unpadded context layers on score
    # maps padded once by the margin.
    'vgg-context': (
        'Dilated VGG-16 + large context (21 cl.)',
        'configs/dilated_vgg/'
        'context-large_dilated-vgg16_2xb7-60k_voc12aug-512x512.py'),
    REFERENCE: ('DeepLabV3 R-50-D8 (mmseg, 19 cl.)', None),
}
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _reference_config_file():
    import mmseg
    return osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models',
        'deeplabv3_r50-d8.py')


def _registry():
    import mmseg_dilated  # noqa: F401  (registers our modules)
    from mmengine.logging import MMLogger
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    # init_weights logs every parameter at INFO; a WARNING-level logger
    # made current here keeps that quiet.
    if not MMLogger.check_instance_created('benchmark'):
        MMLogger.get_instance('benchmark', log_level='WARNING')
    return MODELS


def _model_cfg(spec):
    """The model dict of a named model or of a config file path."""
    from mmengine.config import Config
    if spec == REFERENCE:
        path = _reference_config_file()
    elif spec in MODEL_SPECS:
        path = osp.join(REPO_ROOT, MODEL_SPECS[spec][1])
    elif osp.isfile(spec):
        path = spec
    else:
        raise ValueError(f'unknown model {spec!r}: give one of '
                         f'{", ".join(MODEL_SPECS)} or a config file path')
    model = Config.fromfile(path).model.to_dict()
    # Weights are random here: no checkpoint loading or download.
    model.pop('pretrained', None)
    model.pop('init_cfg', None)
    for key in ('backbone', 'decode_head', 'auxiliary_head'):
        parts = model.get(key)
        for part in parts if isinstance(parts, list) else [parts]:
            if isinstance(part, dict):
                part.pop('init_cfg', None)
    return model


def enable_with_cp(model_cfg, registry):
    """Set ``with_cp=True`` on every component whose class takes it.

    Returns:
        list[str]: The components that got it, e.g. ['backbone'].
    """
    enabled = []
    for key in ('backbone', 'decode_head', 'auxiliary_head'):
        parts = model_cfg.get(key)
        parts = parts if isinstance(parts, list) else [parts]
        for part in parts:
            if not isinstance(part, dict):
                continue
            cls = registry.get(part['type'])
            # Subclasses such as ResNetV1c pass it on through **kwargs.
            if any('with_cp' in inspect.signature(c.__init__).parameters
                   for c in cls.__mro__ if '__init__' in vars(c)):
                part['with_cp'] = True
                enabled.append(f'{key} ({part["type"]})')
    return enabled


def build_model(spec, with_cp=False):
    """Build a named model or a config's model with plain BN, weights
    initialised, in eval mode.

    Returns:
        tuple[nn.Module, list[str]]: The model and the components that have
        ``with_cp`` enabled.
    """
    from mmengine.model import revert_sync_batchnorm
    registry = _registry()
    cfg = _model_cfg(spec)
    enabled = enable_with_cp(cfg, registry) if with_cp else []
    model = revert_sync_batchnorm(registry.build(cfg))
    model.init_weights()
    return model.eval(), enabled


def model_label(spec):
    if spec in MODEL_SPECS:
        return MODEL_SPECS[spec][0]
    return osp.splitext(osp.basename(spec))[0]


def count_params(model):
    return sum(p.numel() for p in model.parameters())


class TensorForward(nn.Module):
    """``forward(mode='tensor')`` of a segmentor as a plain module, or only
    its backbone (``extract_feat``)."""

    def __init__(self, model, backbone_only=False):
        super().__init__()
        self.model = model
        self.backbone_only = backbone_only

    def forward(self, x):
        if self.backbone_only:
            return self.model.extract_feat(x)
        return self.model._forward(x)


def count_flops(module, inputs):
    """mmengine's flop count (one multiply-add = one flop) of ``module``
    called on ``inputs`` (a tensor or a tuple of tensors)."""
    from mmengine.analysis import FlopAnalyzer
    inputs = inputs if isinstance(inputs, tuple) else (inputs, )
    was_training = module.training
    module.eval()
    with torch.no_grad():
        analyzer = FlopAnalyzer(module, inputs)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        total = analyzer.total()
    module.train(was_training)
    return total


def achieved_flops_per_s(macs, seconds):
    """FLOP/s of ``macs`` multiply-adds done in ``seconds`` (2 FLOPs each)."""
    return 2.0 * macs / seconds


def flop_rate_fraction(macs, seconds, matmul_macs, matmul_seconds):
    """Achieved FLOP rate of a model as a fraction of the matrix product's,
    both counted in multiply-adds (mmengine's convention)."""
    return (achieved_flops_per_s(macs, seconds) /
            achieved_flops_per_s(matmul_macs, matmul_seconds))


def median_seconds(fn, repeats, warmup):
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def fuse_conv_bn(module, example):
    """Fold every eval-mode BatchNorm (any ``_BatchNorm`` with running
    statistics: BatchNorm2d, and the ``_BatchNormXd`` that reverted SyncBN
    becomes) that directly consumes a Conv2d's output into that conv (the BN
    becomes ``nn.Identity``).

    Pairs are found by running ``example`` with hooks: a BN is folded when
    its input tensor is the output of a conv, and both ran exactly once. The
    output is compared with the unfused module's; a mismatch raises.

    Returns:
        int: The number of folded BN layers.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    module.eval()
    produced, pairs, calls = {}, [], Counter()

    def conv_hook(m, inputs, output):
        calls[m] += 1
        produced[id(output)] = (m, output)

    def bn_hook(m, inputs, output):
        calls[m] += 1
        source = produced.get(id(inputs[0]))
        if source is not None and source[1] is inputs[0]:
            pairs.append((source[0], m))

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, _BatchNorm) and m.track_running_stats:
            handles.append(m.register_forward_hook(bn_hook))
    with torch.no_grad():
        reference = module(example)
    for h in handles:
        h.remove()
    produced.clear()

    owners = {}
    for name, m in module.named_modules(remove_duplicate=False):
        owners.setdefault(m, []).append(name)
    folded = 0
    for conv, bn in pairs:
        if calls[conv] != 1 or calls[bn] != 1:
            continue
        if len(owners[conv]) != 1 or len(owners[bn]) != 1:
            continue
        for name, new in ((owners[conv][0], fuse_conv_bn_eval(conv, bn)),
                          (owners[bn][0], nn.Identity())):
            parent_name, _, attr = name.rpartition('.')
            setattr(module.get_submodule(parent_name), attr, new)
        folded += 1
    with torch.no_grad():
        fused = module(example)
    for ref, out in zip(_tensors(reference), _tensors(fused)):
        tol = 1e-4 * ref.abs().max().item() + 1e-5
        if not torch.allclose(ref, out, rtol=1e-3, atol=tol):
            raise RuntimeError('folding BN into conv changed the output '
                               f'(max diff {(ref - out).abs().max():.3g})')
    return folded


def _tensors(out):
    """The tensors in an op's or module's output (a tensor, or nested
    tuples/lists of them), in order."""
    return [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]


def prepare_model(spec, args):
    """Build one model for timing: its counts, and the module and input the
    timed forward runs (inference options applied)."""
    torch.manual_seed(0)
    model, _ = build_model(spec)
    params = count_params(model)
    net = TensorForward(model, args.backbone_only).eval()
    x = torch.randn(1, 3, args.size, args.size)
    macs = count_flops(net, x)
    folded = 0
    if args.fuse_bn:
        folded = fuse_conv_bn(net, x[..., :64, :64].clone())
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    info = dict(
        name=spec,
        label=model_label(spec),
        params=params,
        gflops=macs / 1e9,
        bn_folded=folded)
    return info, net, x


def time_round_robin(prepared, args):
    """Latency of every prepared model and the matmul rate, round-robin.

    After ``--warmup`` runs of each model, every round times the matrix
    product (median of ``--matmul-repeats``) and then each model once, so a
    slow spell of the machine falls on all of them alike rather than on
    whichever model happened to be running (timing one model after the other
    moved single models' figures by up to 10% between runs).

    Returns per-model lists of seconds (one per round) and the per-round
    matmul medians.
    """
    n = args.matmul_size
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    out = torch.empty(n, n)

    def matmul():
        torch.mm(a, b, out=out)

    runs = [[] for _ in prepared]
    matmul_rounds = []
    with torch.inference_mode():
        for _ in range(2):
            matmul()
        for _, net, x in prepared:
            for _ in range(args.warmup):
                net(x)
        for _ in range(args.repeats):
            seconds, _ = median_seconds(matmul, args.matmul_repeats, 0)
            matmul_rounds.append(seconds)
            for times, (_, net, x) in zip(runs, prepared):
                start = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - start)
    return runs, matmul_rounds


# ---------------------------------------------------------------- memory


def _proc_status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def _reset_peak_rss():
    """Reset VmHWM to the current RSS; False where the kernel refuses."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _train_batch(batch, size, num_classes, gen):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    inputs = torch.randn(batch, 3, size, size, generator=gen)
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        labels = torch.randint(
            0, num_classes, (1, size, size), generator=gen)
        sample.gt_sem_seg = PixelData(data=labels)
        sample.set_metainfo(
            dict(img_shape=(size, size), ori_shape=(size, size),
                 pad_shape=(size, size)))
        samples.append(sample)
    return inputs, samples


def _train_step(model, optimizer, inputs, samples):
    losses = model(inputs, samples, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    if optimizer is not None:
        optimizer.step()


class TensorPeakTracker(TorchDispatchMode):
    """Live tensor bytes of what runs under it, and the tensors alive at
    their peak (``--memory-breakdown``).

    Every operator's outputs are seen through torch's dispatcher; each new
    storage counts from its creation until it is freed (a finalizer on the
    storage), so views and in-place results add nothing. Storages of
    ``preexisting`` tensors (parameters, optimizer state, the batch) are not
    counted. What the dispatcher never sees (oneDNN scratch buffers, the
    allocator's slack) is not counted either: the figure is a floor of what
    the RSS measurement sees.
    """

    def __init__(self, preexisting=()):
        super().__init__()
        self._skip = {
            t.untyped_storage().data_ptr()
            for t in preexisting if t is not None
        }
        self._live = {}  # storage address -> record
        self.current = 0
        self.peak = 0
        self.peak_op = None
        self.at_peak = []

    def _free(self, ptr, record):
        if self._live.get(ptr) is record:
            del self._live[ptr]
            self.current -= record['bytes']

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        grew = False
        for t in _tensors(out):
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if (storage.nbytes() == 0 or ptr in self._skip
                    or ptr in self._live):
                continue
            record = dict(
                bytes=storage.nbytes(),
                op=str(func.overloadpacket.__name__),
                shape=tuple(t.shape),
                dtype=str(t.dtype).replace('torch.', ''))
            self._live[ptr] = record
            self.current += record['bytes']
            weakref.finalize(storage, self._free, ptr, record)
            grew = True
        if grew and self.current > self.peak:
            self.peak = self.current
            self.peak_op = str(func.overloadpacket.__name__)
            self.at_peak = list(self._live.items())
        return out

    def summary(self, gradients, top=6):
        """The peak, split into parameter gradients (``gradients``: the
        ``.grad`` tensors after the step; a tensor counts as one if it is
        the same, still-live storage) and the largest other tensors."""
        grad_ptrs = {g.untyped_storage().data_ptr() for g in gradients}
        grads, others = [], []
        for ptr, record in self.at_peak:
            is_grad = ptr in grad_ptrs and self._live.get(ptr) is record
            (grads if is_grad else others).append(record)
        others.sort(key=lambda r: -r['bytes'])
        mib = 2.0**-20
        return dict(
            peak_mib=self.peak * mib,
            peak_op=self.peak_op,
            gradient_mib=sum(r['bytes'] for r in grads) * mib,
            gradient_tensors=len(grads),
            largest=[
                dict(mib=r['bytes'] * mib, op=r['op'], shape=list(r['shape']),
                     dtype=r['dtype']) for r in others[:top]
            ],
            rest_mib=sum(r['bytes'] for r in others[top:]) * mib,
            rest_tensors=len(others[top:]))


def measure_train_memory(spec, size, batch, with_cp, breakdown=False):
    """One training step in this process; returns its memory figures (MiB).

    Meant to run in a fresh process (``--memory-worker``): the RSS peak is
    process wide. ``breakdown`` also tracks the step's tensors
    (``TensorPeakTracker``) and reports those alive at their peak.
    """
    import torch.utils.checkpoint as cp
    torch.manual_seed(0)
    model, enabled = build_model(spec, with_cp=with_cp)
    model.train()
    num_classes = model.decode_head.num_classes
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=0.01,
        momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    # A small step first, as in a running training: it initialises thread
    # pools and the autograd engine and creates the momentum buffers, which
    # then count as static memory. Gradients are dropped (set to None) as
    # mmengine's OptimWrapper.zero_grad does between iterations.
    _train_step(model, optimizer, *_train_batch(batch, 64, num_classes, gen))
    optimizer.zero_grad(set_to_none=True)

    calls = Counter()
    original = cp.checkpoint

    def counting_checkpoint(*a, **kw):
        calls['checkpoint'] += 1
        return original(*a, **kw)

    inputs, samples = _train_batch(batch, size, num_classes, gen)
    state = [
        t for per_param in optimizer.state.values()
        for t in per_param.values() if torch.is_tensor(t)
    ]
    static_bytes = sum(t.numel() * t.element_size()
                       for t in list(model.parameters()) +
                       list(model.buffers()) + state + [inputs])
    static_bytes += sum(s.gt_sem_seg.data.numel() *
                        s.gt_sem_seg.data.element_size() for s in samples)
    gc.collect()
    exact = _reset_peak_rss()
    if exact:
        before = _proc_status_kib('VmRSS')
    else:
        # Without the reset only the lifetime peak is known: the step counts
        # from where it exceeds everything before it (an underestimate).
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracker = None
    if breakdown:
        tracker = TensorPeakTracker(
            list(model.parameters()) + list(model.buffers()) + state +
            [inputs] + [s.gt_sem_seg.data for s in samples])
    cp.checkpoint = counting_checkpoint
    try:
        start = time.perf_counter()
        with tracker or contextlib.nullcontext():
            _train_step(model, optimizer, inputs, samples)
        seconds = time.perf_counter() - start
    finally:
        cp.checkpoint = original
    if exact:
        peak = _proc_status_kib('VmHWM')
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step_mib = max(peak - before, 0) / 1024
    static_mib = static_bytes / 2**20
    # Every trainable parameter's gradient is alive at once when the
    # optimizer steps, whatever is checkpointed.
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters()
                     if p.requires_grad)
    tensor_peak = None
    if tracker is not None:
        tensor_peak = tracker.summary(
            [p.grad for p in model.parameters() if p.grad is not None])
    return dict(
        with_cp=with_cp,
        with_cp_components=enabled,
        checkpoint_calls=calls['checkpoint'],
        static_mib=static_mib,
        grad_mib=grad_bytes / 2**20,
        step_increase_mib=step_mib,
        peak_mib=static_mib + step_mib,
        process_peak_rss_mib=peak / 1024,
        step_seconds=seconds,
        tensor_peak=tensor_peak,
        method='VmHWM reset' if exact else 'ru_maxrss delta (approximate)')


def run_memory_worker(spec, args, with_cp):
    """Run ``measure_train_memory`` in a fresh interpreter."""
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--memory-worker', spec, '--size',
        str(args.size), '--memory-batch',
        str(args.memory_batch)
    ]
    if with_cp:
        cmd.append('--with-cp')
    if args.memory_breakdown:
        cmd.append('--memory-breakdown')
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD))
    proc = subprocess.run(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(MEMORY_RESULT_TAG):
            return json.loads(line[len(MEMORY_RESULT_TAG):])
    raise RuntimeError(f'memory worker for {spec} (with_cp={with_cp}) '
                       f'failed:\n{proc.stdout}\n{proc.stderr}')


def memory_reduction(without_cp, with_cp):
    """Fraction of peak training memory that ``with_cp`` saves."""
    return 1.0 - with_cp['peak_mib'] / without_cp['peak_mib']


def reduction_bound(without_cp):
    """The most any checkpointing can save: the peak can never fall below the
    static memory plus every parameter's gradient (all alive at the optimizer
    step), even with no activations kept at all."""
    floor = without_cp['static_mib'] + without_cp['grad_mib']
    return 1.0 - floor / without_cp['peak_mib']


# ---------------------------------------------------------------- output


def _table(headers, rows):
    widths = [
        max(len(str(c)) for c in col) for col in zip(headers, *rows)
    ]
    lines = [
        '  '.join(str(c).ljust(w) for c, w in zip(headers, widths)),
        '  '.join('-' * w for w in widths)
    ]
    lines += [
        '  '.join(str(c).ljust(w) for c, w in zip(row, widths))
        for row in rows
    ]
    return '\n'.join(lines)


def _markdown(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '|'.join(' --- ' for _ in headers) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


SPEED_HEADERS = ('Model', 'Params (M)', 'GFLOPs*', 'Latency (ms)',
                 'vs DeepLabV3 R-50-D8 (x)', 'GFLOP/s', 'FLOP-rate fraction')
MEMORY_HEADERS = ('Model', 'Peak train (MiB)', 'with_cp (MiB)', 'Reduction',
                  'Bound**',
                  'Static (MiB)', 'Step +RSS (MiB)', 'with_cp step +RSS',
                  'Checkpointed calls', 'with_cp on')


def speed_rows(results):
    rows = []
    for r in results['models']:
        rel = r.get('vs_reference')
        rows.append((r['label'], f'{r["params"] / 1e6:.2f}',
                     f'{r["gflops"]:.1f}', f'{r["latency_ms"]:.1f}',
                     '-' if rel is None else f'{rel:.2f}',
                     f'{r["achieved_gflops_per_s"]:.1f}',
                     f'{r["flop_rate_fraction"]:.1%}'))
    return rows


def memory_rows(results):
    rows = []
    for m in results['memory']:
        off, on = m['without_cp'], m['with_cp']
        rows.append((m['label'], f'{off["peak_mib"]:.0f}',
                     f'{on["peak_mib"]:.0f}', f'{m["reduction"]:.1%}',
                     f'{m["reduction_bound"]:.1%}',
                     f'{off["static_mib"]:.0f}',
                     f'{off["step_increase_mib"]:.0f}',
                     f'{on["step_increase_mib"]:.0f}',
                     f'{on["checkpoint_calls"]}',
                     ', '.join(on['with_cp_components']) or 'none'))
    return rows


def check_targets(results):
    """PASS/FAIL lines of the issue's targets, from the measured numbers."""
    targets = []
    by_name = {r['name']: r for r in results['models']}
    for name in RATE_TARGET_MODELS:
        r = by_name.get(name)
        targets.append(
            dict(
                model=name,
                metric='flop_rate_fraction',
                threshold=RATE_TARGET,
                value=None if r is None else r['flop_rate_fraction'],
                passed=None if r is None else
                r['flop_rate_fraction'] >= RATE_TARGET))
    for m in results['memory']:
        if m['name'] == REFERENCE:
            continue
        targets.append(
            dict(
                model=m['name'],
                metric='with_cp_memory_reduction',
                threshold=MEMORY_TARGET,
                value=m['reduction'],
                passed=m['reduction'] >= MEMORY_TARGET))
    return targets


def _breakdown_line(label, record):
    tp = record['tensor_peak']
    parts = [f'gradients {tp["gradient_mib"]:.0f} MiB '
             f'({tp["gradient_tensors"]} tensors)']
    parts += [
        f'{t["mib"]:.0f} MiB {"x".join(map(str, t["shape"]))} {t["dtype"]} '
        f'({t["op"]})' for t in tp['largest']
    ]
    if tp['rest_tensors']:
        parts.append(f'{tp["rest_tensors"]} more {tp["rest_mib"]:.0f} MiB')
    cp_state = 'with_cp' if record['with_cp'] else 'without with_cp'
    return (f'- {label}, {cp_state}: {tp["peak_mib"]:.0f} MiB in '
            f'{tp["peak_op"]}: ' + '; '.join(parts))


def _target_line(t):
    status = ('NOT MEASURED' if t['passed'] is None else
              'PASS' if t['passed'] else 'FAIL')
    what = ('FLOP rate / matmul rate' if t['metric'] == 'flop_rate_fraction'
            else 'with_cp saves peak training memory')
    value = '-' if t['value'] is None else f'{t["value"]:.1%}'
    return (f'[{status}] {t["model"]}: {what} = {value} '
            f'(target >= {t["threshold"]:.0%})')


def report(results, markdown=False):
    s = results['settings']
    mm = results['matmul']
    print(f'torch {s["torch"]}, {s["threads"]} threads, '
          f'mkldnn {"on" if s["mkldnn"] else "off"}; input 1x3x{s["size"]}'
          f'x{s["size"]}{" (backbone only)" if s["backbone_only"] else ""}; '
          f'latency: median of {s["repeats"]} round-robin rounds after '
          f'{s["warmup"]} warm-up; '
          f'channels_last={s["channels_last"]}, fuse_bn={s["fuse_bn"]} '
          '(applied to every model)')
    print(f'fp32 matmul {mm["n"]}x{mm["n"]}: {mm["seconds"] * 1e3:.1f} ms, '
          f'{mm["gflops_per_s"]:.1f} GFLOP/s (2*n^3/t; median of '
          f'{len(mm["seconds_rounds"])} rounds, '
          f'{min(mm["seconds_rounds"]) * 1e3:.1f}-'
          f'{max(mm["seconds_rounds"]) * 1e3:.1f} ms)')
    spread = max(mm['seconds_rounds']) / min(mm['seconds_rounds'])
    if spread > 1.1:
        print(f'WARNING: the matmul rounds differ by {spread - 1:.0%}: the '
              'machine\'s speed changed during the run. The fractions and '
              '"vs" ratios are taken round by round and follow the drift; '
              'absolute latencies do not')
    print()
    print(_table(SPEED_HEADERS, speed_rows(results)))
    print('* GFLOPs as mmengine counts them: one multiply-add = one flop '
          '(i.e. GMACs). GFLOP/s = 2 * GMACs / latency; FLOP-rate fraction = '
          'that / the matmul GFLOP/s, and vs DeepLabV3 = latency / its '
          'latency, each a median of per-round ratios.')
    if results['memory']:
        print()
        print(f'Peak training memory: one SGD step, batch '
              f'{s["memory_batch"]}, {s["size"]}x{s["size"]}, fresh process '
              'per measurement.')
        print(_table(MEMORY_HEADERS, memory_rows(results)))
        print('Peak = static (params, buffers, SGD momentum, batch: exact '
              'bytes) + step +RSS (resident-memory high-water increase during '
              'the step: activations, gradients, workspace; method: '
              f'{results["memory"][0]["with_cp"]["method"]}). Training runs '
              'in NCHW without the inference options.')
        print('** Bound: the largest reduction any checkpointing could give, '
              '1 - (static + gradients of all trainable parameters) / peak '
              'without with_cp: those are all alive at the optimizer step '
              'even with no activations kept (exact bytes).')
    breakdown = [(m['label'], r) for m in results['memory']
                 for r in (m['without_cp'], m['with_cp'])
                 if r.get('tensor_peak')]
    if breakdown:
        print()
        print('Tensors alive at the peak of the step (--memory-breakdown: '
              'those the step created, exact bytes; oneDNN scratch and '
              'allocator slack are not seen):')
        for label, r in breakdown:
            print(_breakdown_line(label, r))
    print()
    for t in results['targets']:
        print(_target_line(t))
    if markdown:
        print()
        print(_markdown(SPEED_HEADERS, speed_rows(results)))
        if results['memory']:
            print()
            print(_markdown(MEMORY_HEADERS[:5],
                            [r[:5] for r in memory_rows(results)]))


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CPU benchmark: params, GFLOPs, latency, FLOP rate, '
        'peak training memory with and without with_cp')
    parser.add_argument(
        '--models',
        nargs='+',
        default=None,
        help=f'named models (default: all): {", ".join(MODEL_SPECS)}')
    parser.add_argument(
        '--config',
        action='append',
        default=[],
        help='also benchmark the model of this config file (repeatable)')
    parser.add_argument('--size', type=int, default=512, help='input side')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--threads', type=int, default=0,
        help='torch threads (default: torch.get_num_threads())')
    parser.add_argument('--matmul-size', type=int, default=2048)
    parser.add_argument('--matmul-repeats', type=int, default=10)
    parser.add_argument(
        '--no-reference',
        action='store_true',
        help=f'do not add {REFERENCE} when it is not selected')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='measure the backbone (extract_feat) alone')
    parser.add_argument(
        '--channels-last',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='NHWC (channels_last) memory format for every model and its '
        'input, the layout oneDNN convolutions run fastest in on CPU; '
        '--no-channels-last keeps NCHW (default: on)')
    parser.add_argument(
        '--fuse-bn',
        action='store_true',
        help='fold eval BN into the preceding conv in every model')
    parser.add_argument(
        '--memory-models',
        nargs='*',
        default=None,
        help='models whose training memory is measured (default: all '
        'benchmarked ones; give none to skip)')
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument('--memory-batch', type=int, default=2)
    parser.add_argument(
        '--memory-breakdown',
        action='store_true',
        help='also track the training step\'s tensors and print those alive '
        'at their peak (gradients, then the largest others)')
    parser.add_argument('--json', help='write the numbers to this file')
    parser.add_argument(
        '--markdown', action='store_true', help='also print Markdown tables')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='exit with status 1 when a target fails')
    parser.add_argument('--memory-worker', help=argparse.SUPPRESS)
    parser.add_argument('--with-cp', action='store_true',
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        result = measure_train_memory(args.memory_worker, args.size,
                                      args.memory_batch, args.with_cp,
                                      args.memory_breakdown)
        print(MEMORY_RESULT_TAG + json.dumps(result), flush=True)
        return 0

    specs = list(args.models or ([] if args.config else list(MODEL_SPECS)))
    for spec in specs:
        if spec not in MODEL_SPECS:
            raise SystemExit(f'unknown model {spec!r}; choose from '
                             f'{", ".join(MODEL_SPECS)}')
    specs += [osp.abspath(p) for p in args.config]
    if not args.no_reference and REFERENCE not in specs:
        specs.append(REFERENCE)

    prepared = []
    for spec in specs:
        print(f'building {model_label(spec)} ...', file=sys.stderr,
              flush=True)
        prepared.append(prepare_model(spec, args))
    print(f'timing {len(prepared)} models round-robin, {args.repeats} '
          'rounds ...', file=sys.stderr, flush=True)
    runs, matmul_rounds = time_round_robin(prepared, args)
    models = []
    for (info, _, _), times in zip(prepared, runs):
        seconds = statistics.median(times)
        models.append(
            dict(
                info,
                latency_ms=seconds * 1e3,
                latency_runs_ms=[t * 1e3 for t in times],
                achieved_gflops_per_s=achieved_flops_per_s(
                    info['gflops'] * 1e9, seconds) / 1e9))
    del prepared
    gc.collect()
    # Ratios are taken round by round, each against the matmul and the
    # reference timed in the same round, and their median is reported: a
    # drift of the machine's speed during the run cancels out of them.
    mm_macs = args.matmul_size**3
    mm_seconds = statistics.median(matmul_rounds)
    matmul = dict(
        n=args.matmul_size,
        macs=mm_macs,
        seconds=mm_seconds,
        seconds_rounds=matmul_rounds,
        gflops_per_s=achieved_flops_per_s(mm_macs, mm_seconds) / 1e9)
    ref = next((m for m in models if m['name'] == REFERENCE), None)
    for m in models:
        runs_s = [t / 1e3 for t in m['latency_runs_ms']]
        m['flop_rate_rounds'] = [
            flop_rate_fraction(m['gflops'] * 1e9, t, mm_macs, t_mm)
            for t, t_mm in zip(runs_s, matmul_rounds)
        ]
        m['flop_rate_fraction'] = statistics.median(m['flop_rate_rounds'])
        m['vs_reference'] = None if ref is None else statistics.median(
            t / t_ref for t, t_ref in zip(m['latency_runs_ms'],
                                          ref['latency_runs_ms']))

    memory = []
    if not args.no_memory:
        memory_specs = specs if args.memory_models is None else [
            s if s in MODEL_SPECS else osp.abspath(s)
            for s in args.memory_models
        ]
        for spec in memory_specs:
            print(f'training memory of {model_label(spec)} ...',
                  file=sys.stderr, flush=True)
            off = run_memory_worker(spec, args, with_cp=False)
            on = run_memory_worker(spec, args, with_cp=True)
            memory.append(
                dict(
                    name=spec,
                    label=model_label(spec),
                    without_cp=off,
                    with_cp=on,
                    reduction=memory_reduction(off, on),
                    reduction_bound=reduction_bound(off)))

    results = dict(
        settings=dict(
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            mkldnn=bool(torch.backends.mkldnn.is_available()
                        and torch.backends.mkldnn.enabled),
            size=args.size,
            repeats=args.repeats,
            warmup=args.warmup,
            backbone_only=args.backbone_only,
            channels_last=args.channels_last,
            fuse_bn=args.fuse_bn,
            memory_batch=args.memory_batch,
            flop_convention='mmengine: 1 multiply-add = 1 flop (GMACs)'),
        matmul=matmul,
        models=models,
        memory=memory)
    results['targets'] = check_targets(results)
    report(results, markdown=args.markdown)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    failed = any(t['passed'] is False for t in results['targets'])
    return 1 if args.strict and failed else 0


if __name__ == '__main__':
    sys.exit(main())
