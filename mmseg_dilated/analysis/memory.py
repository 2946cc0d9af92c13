"""Peak CPU memory of one training step, and of one inference, as the process's resident set.

torch keeps no CPU allocator statistics (there is no CPU ``max_memory_allocated``) and
tracemalloc does not see its allocations, so the figure is the kernel's resident-set high-water
mark: ``VmHWM`` is reset (``echo 5 > /proc/self/clear_refs``) right before the step and read after
it, against ``VmRSS`` at the reset. glibc must run with a fixed mmap threshold
(``MALLOC_MMAP_THRESHOLD_``, read at process start) so that every freed tensor goes back to the
kernel and the high-water mark follows live tensors; the training measurement therefore runs in a
fresh interpreter (:func:`run_train_memory_worker`, through
:func:`~mmseg_dilated.analysis.fresh_process.run_in_fresh_process`), the CPU analogue of a
fresh CUDA context.

The resident set is what a user's process needs, scratch buffers included. A tensor-level view of
the peak (``TensorPeakTracker``) complements it. torch's own profiler was tried for that view and
kept out: on CPU, ``torch.profiler.profile(profile_memory=True)`` gives per-operator *net*
allocations in ``key_averages`` (540,672 bytes for the Linear example of the tests, whose peak is
557,064), not a peak; its memory timeline (``prof._memory_profile()``, a private API) does reach
the same peak, 557,064 bytes once parameters and inputs are taken out, but as category totals,
without the shapes and producing operators of the tensors alive at the peak, which is what the
breakdown is for. Neither profiler sees oneDNN's scratch buffers or the allocator's slack, which
the resident set does.
"""

import contextlib
import gc
import resource
import time
import weakref
from collections import Counter
from typing import Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .fresh_process import run_in_fresh_process

__all__ = [
    'proc_status_kib',
    'reset_peak_rss',
    'PeakRSS',
    'TensorPeakTracker',
    'with_cp_components',
    'measure_train_memory',
    'run_train_memory_worker',
    'memory_reduction',
    'reduction_bound',
]

_MIB = 2.0**-20


def proc_status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS; False where the kernel refuses."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakRSS:
    """Context manager: the resident-set increase (MiB) at its peak inside the block.

    ``mib`` after the block. ``exact`` is False where ``VmHWM`` cannot be reset; then only the
    process's lifetime peak is known, and the increase counts from where it exceeds everything
    before the block (an underestimate).
    """

    def __enter__(self):
        gc.collect()
        self.exact = reset_peak_rss()
        self._before = (
            proc_status_kib('VmRSS')
            if self.exact
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        return self

    def __exit__(self, *exc):
        peak = (
            proc_status_kib('VmHWM')
            if self.exact
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        self.peak_kib = peak
        self.mib = max(peak - self._before, 0) / 1024
        return False

    @property
    def method(self) -> str:
        return 'VmHWM reset' if self.exact else 'ru_maxrss delta (approximate)'


def _tensors(out) -> list:
    return [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]


class TensorPeakTracker(TorchDispatchMode):
    """Live tensor bytes of what runs under it, and the tensors alive at their peak.

    Every operator's outputs are seen through torch's dispatcher; each new storage counts from its
    creation until it is freed (a finalizer on the storage), so views and in-place results add
    nothing. Storages of ``preexisting`` tensors (parameters, optimizer state, the batch) are not
    counted. What the dispatcher never sees (oneDNN scratch buffers, the allocator's slack) is not
    counted either: the figure is a floor of the resident-set measurement. It stays beside
    ``torch.profiler`` because it names the shapes and operators at the peak (module docstring).

    Args:
        preexisting (Sequence[Tensor]): Tensors whose storages are not counted. Default: ().
    """

    def __init__(self, preexisting=()):
        super().__init__()
        self._skip = {t.untyped_storage().data_ptr() for t in preexisting if t is not None}
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
            if storage.nbytes() == 0 or ptr in self._skip or ptr in self._live:
                continue
            record = dict(
                bytes=storage.nbytes(),
                op=str(func.overloadpacket.__name__),
                shape=tuple(t.shape),
                dtype=str(t.dtype).replace('torch.', ''),
            )
            self._live[ptr] = record
            self.current += record['bytes']
            weakref.finalize(storage, self._free, ptr, record)
            grew = True
        if grew and self.current > self.peak:
            self.peak = self.current
            self.peak_op = str(func.overloadpacket.__name__)
            self.at_peak = list(self._live.items())
        return out

    def summary(self, gradients, top: int = 6) -> dict:
        """The peak (MiB), split into parameter gradients (``gradients``: the ``.grad`` tensors
        after the step; a tensor counts as one if it is the same, still-live storage) and the
        ``top`` largest other tensors (op, shape, dtype), then the rest."""
        grad_ptrs = {g.untyped_storage().data_ptr() for g in gradients}
        grads, others = [], []
        for ptr, record in self.at_peak:
            is_grad = ptr in grad_ptrs and self._live.get(ptr) is record
            (grads if is_grad else others).append(record)
        others.sort(key=lambda r: -r['bytes'])
        return dict(
            peak_mib=self.peak * _MIB,
            peak_op=self.peak_op,
            gradient_mib=sum(r['bytes'] for r in grads) * _MIB,
            gradient_tensors=len(grads),
            largest=[
                dict(mib=r['bytes'] * _MIB, op=r['op'], shape=list(r['shape']), dtype=r['dtype'])
                for r in others[:top]
            ],
            rest_mib=sum(r['bytes'] for r in others[top:]) * _MIB,
            rest_tensors=len(others[top:]),
        )


def with_cp_components(segmentor) -> list:
    """The parts of a segmentor that checkpoint, e.g. ``['backbone (DRN)']``."""
    from mmseg_dilated.apis.model_builder import WITH_CP_PARTS

    return [
        f'{key} ({type(getattr(segmentor, key)).__name__})'
        for key in WITH_CP_PARTS
        if getattr(getattr(segmentor, key, None), 'with_cp', False) is True
    ]


def _train_batch(batch, size, num_classes, gen):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    inputs = torch.randn(batch, 3, size, size, generator=gen)
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=gen)
        )
        sample.set_metainfo(
            dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size))
        )
        samples.append(sample)
    return inputs, samples


def _train_step(model, optimizer, inputs, samples):
    loss, _ = model.parse_losses(model(inputs, samples, mode='loss'))
    loss.backward()
    optimizer.step()


def measure_train_memory(
    config: str, size: int, batch: int, with_cp: bool, breakdown: bool = False
) -> dict:
    """Memory of one SGD step (forward, loss, backward, optimizer step) in THIS process.

    Meant for a fresh process (:func:`run_train_memory_worker`): the resident set is process
    wide. A small step at 64x64 runs first, as earlier iterations of a training would: it
    initialises thread pools and the autograd engine and creates the SGD momentum buffers, which
    then count as static memory; gradients are dropped between the steps as mmengine's
    ``OptimWrapper.zero_grad`` does. The reported peak is static memory (parameters, buffers,
    momentum, the batch: exact bytes) plus the step's resident-set increase, the CPU analogue of
    ``torch.cuda.max_memory_allocated``.

    Args:
        config (str): Config file of the model (random weights).
        size (int): Square input side.
        batch (int): Batch size.
        with_cp (bool): Gradient checkpointing on the backbone and decode head where they take it.
        breakdown (bool): Also track the step's tensors (:class:`TensorPeakTracker`).

    Returns:
        dict: Figures in MiB (``peak_mib``, ``static_mib``, ``grad_mib``, ``step_increase_mib``),
        the checkpointed components and the number of ``torch.utils.checkpoint`` calls.
    """
    import torch.utils.checkpoint as cp

    from mmseg_dilated.apis.model_builder import build_segmentor

    torch.manual_seed(0)
    model = build_segmentor(config, with_cp=with_cp).train()
    num_classes = model.decode_head.num_classes
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9
    )
    gen = torch.Generator().manual_seed(0)
    _train_step(model, optimizer, *_train_batch(batch, 64, num_classes, gen))
    optimizer.zero_grad(set_to_none=True)

    inputs, samples = _train_batch(batch, size, num_classes, gen)
    state = [
        t
        for per_param in optimizer.state.values()
        for t in per_param.values()
        if torch.is_tensor(t)
    ]
    labels = [s.gt_sem_seg.data for s in samples]
    static = list(model.parameters()) + list(model.buffers()) + state + [inputs] + labels
    static_mib = sum(t.numel() * t.element_size() for t in static) * _MIB
    calls = Counter()
    original = cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls['checkpoint'] += 1
        return original(*args, **kwargs)

    tracker = TensorPeakTracker(static) if breakdown else None
    cp.checkpoint = counting_checkpoint
    try:
        with PeakRSS() as rss, tracker or contextlib.nullcontext():
            start = time.perf_counter()
            _train_step(model, optimizer, inputs, samples)
            seconds = time.perf_counter() - start
    finally:
        cp.checkpoint = original
    # Every trainable parameter's gradient is alive at once when the optimizer steps.
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return dict(
        with_cp=with_cp,
        with_cp_components=with_cp_components(model),
        checkpoint_calls=calls['checkpoint'],
        static_mib=static_mib,
        grad_mib=grad_bytes * _MIB,
        step_increase_mib=rss.mib,
        peak_mib=static_mib + rss.mib,
        process_peak_rss_mib=rss.peak_kib / 1024,
        step_seconds=seconds,
        tensor_peak=tracker.summary([p.grad for p in model.parameters() if p.grad is not None])
        if tracker
        else None,
        method=rss.method,
    )


def run_train_memory_worker(
    config: str,
    size: int,
    batch: int,
    with_cp: bool,
    breakdown: bool = False,
    threads: Optional[int] = None,
) -> dict:
    """:func:`measure_train_memory` in a fresh interpreter with glibc's fixed mmap threshold."""
    args = dict(config=config, size=size, batch=batch, with_cp=with_cp, breakdown=breakdown)
    return run_in_fresh_process(
        'mmseg_dilated.analysis.memory',
        'measure_train_memory',
        args,
        threads,
        f'the memory worker for {config} (with_cp={with_cp})',
    )


def memory_reduction(without_cp: dict, with_cp: dict) -> float:
    """Fraction of peak training memory that ``with_cp`` saves."""
    return 1.0 - with_cp['peak_mib'] / without_cp['peak_mib']


def reduction_bound(without_cp: dict) -> float:
    """The most any checkpointing can save: the peak never falls below the static memory plus
    every trainable parameter's gradient (all alive at the optimizer step), even with no
    activations kept at all."""
    return 1.0 - (without_cp['static_mib'] + without_cp['grad_mib']) / without_cp['peak_mib']
