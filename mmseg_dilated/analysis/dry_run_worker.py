"""The measuring side of a dry run (:mod:`.dry_run`), in its fresh process: mmengine's Runner
built from the dry run's config, trained with a probe hook that times every iteration and the wait
for its data and resets and reads the memory peaks, then one validation batch and the data
loader's own speed."""

import time
from typing import List

import torch

__all__ = ['measure_dry_run']

_MIB = 2**20


def _device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _probe_class():
    from mmengine.hooks import Hook

    from .memory import proc_status_kib, reset_peak_rss

    class DryRunProbe(Hook):
        """Times each iteration and the wait for its data; resets and reads the memory peaks."""

        def __init__(self, warmup: int, device: str):
            self.warmup, self.device = warmup, device
            self.step, self.wait, self.val_step = [], [], []
            self.train_peak = self.val_peak = None
            self._end = self._start = None
            self.exact = True

        def now(self):
            if self.device == 'cuda':
                torch.cuda.synchronize()
            return time.perf_counter()

        def reset_peak(self):
            if self.device == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            else:
                self.exact = reset_peak_rss() and self.exact

        def read_peak(self) -> dict:
            if self.device == 'cuda':
                free, total = torch.cuda.mem_get_info()
                return dict(
                    allocated_mib=torch.cuda.max_memory_allocated() / _MIB,
                    reserved_mib=torch.cuda.max_memory_reserved() / _MIB,
                    outside_allocator_mib=(total - free - torch.cuda.memory_reserved()) / _MIB,
                )
            return dict(peak_rss_mib=proc_status_kib('VmHWM') / 1024)

        def before_train(self, runner):
            self._end = self.now()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            now = self.now()
            if batch_idx == self.warmup:
                self.reset_peak()
            if batch_idx >= self.warmup:
                self.wait.append(now - self._end)
            self._start = self.now()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            now = self.now()
            if batch_idx >= self.warmup:
                self.step.append(now - self._start)
            self._end = now
            if batch_idx + 1 == runner.train_loop.max_iters:
                self.train_peak = self.read_peak()

        def before_val(self, runner):
            self.reset_peak()

        def before_val_iter(self, runner, batch_idx, data_batch=None):
            self._start = self.now()

        def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.val_step.append(self.now() - self._start)

        def after_val(self, runner):
            self.val_peak = self.read_peak()

    return DryRunProbe


def _loader_seconds(loader, batches: int) -> List[float]:
    """Seconds to build each of ``batches`` batches as one loader worker builds them: the next
    indices of the loader's own batch sampler, the dataset's samples (read, decoded, transformed)
    and the collate function, in this process."""
    indices = iter(loader.batch_sampler)
    times = []
    for _ in range(batches):
        batch = next(indices)
        start = time.perf_counter()
        loader.collate_fn([loader.dataset[i] for i in batch])
        times.append(time.perf_counter() - start)
    return times


def _optimizer_buffers(optimizer) -> int:
    """Tensors the optimizer keeps per parameter (1 for SGD with momentum, 2 for Adam(W))."""
    counts = [
        sum(1 for t in state.values() if torch.is_tensor(t) and t.numel() == p.numel() > 1)
        for group in optimizer.param_groups
        for p in group['params']
        for state in [optimizer.state.get(p, {})]
        if p.numel() > 1
    ]
    return max(set(counts), key=counts.count) if counts else 0


def measure_dry_run(config: str, warmup: int, val: bool = True, loader_batches: int = 3) -> dict:
    """Build the Runner of a prepared dry-run config and train it (meant for a fresh process).

    Args:
        config (str): The dry run's config file (:func:`dry_run` writes it): ``max_iters`` is
            ``warmup`` plus the measured iterations, nothing is saved.
        warmup (int): Iterations before the measurement.
        val (bool): Also run the validation loop (one batch). Default: True.
        loader_batches (int): Batches of the loader timing. Default: 3.

    Returns:
        dict: The measurements (see the module docstring), JSON-able.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    from .memory import proc_status_kib

    device = _device()
    cfg = Config.fromfile(config)
    rss_before = proc_status_kib('VmRSS') / 1024
    runner = Runner.from_cfg(cfg)
    probe = _probe_class()(warmup, device)
    runner.register_hook(probe, priority='LOWEST')
    runner.train()
    if val:
        runner.val_loop.run()
    loader = runner.train_dataloader
    model = runner.model
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out = dict(
        device=device,
        device_name=torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU',
        torch_threads=torch.get_num_threads(),
        rss_before_runner_mib=rss_before,
        peak_exact=probe.exact,
        train_peak=probe.train_peak,
        val_peak=probe.val_peak,
        step_seconds=probe.step,
        wait_seconds=probe.wait,
        val_seconds=probe.val_step,
        loader_seconds=_loader_seconds(loader, loader_batches),
        num_workers=loader.num_workers,
        batch_size=loader.batch_size,
        trainable_params=params,
        optimizer_buffers=_optimizer_buffers(runner.optim_wrapper.optimizer),
        optim_wrapper=type(runner.optim_wrapper).__name__,
        accumulative_counts=getattr(runner.optim_wrapper, '_accumulative_counts', 1),
    )
    if device == 'cuda':
        out['capacity_mib'] = torch.cuda.get_device_properties(0).total_memory / _MIB
    return out
