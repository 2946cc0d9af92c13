"""Stop a run whose losses went non-finite before it overwrites the good checkpoints.

A diverged run (too high a learning rate, an fp16 overflow, a broken sample) gets NaN losses, then
NaN weights, and mmengine trains on. Measured on ``configs/context_toy.py`` with
``optim_wrapper.optimizer.lr=1e5``: the loss is ``nan`` from the first logged iteration, training
runs to the end with exit status 0, validation prints a meaningless mIoU, and ``max_keep_ckpts``
has deleted the last finite checkpoint by then.

This hook looks at each iteration's loss terms (the values the model returned, already computed)
and at the gradient norm where the optimizer wrapper computes it anyway
(``optim_wrapper.clip_grad=dict(max_norm=...)``, which mmengine logs as ``grad_norm``); nothing else
is computed. In distributed training one all-reduce of one flag per term makes every rank stop at
the same iteration. After ``max_bad_iters`` consecutive iterations with a non-finite value it
stops the run, exit status 65 (:mod:`mmseg_dilated.engine.stopping`), with a message naming the
iteration, the non-finite terms, the learning rate and the last finite checkpoint. It runs after
the logger hook (the iteration's line is logged) and before the checkpoint hook, so at
``max_bad_iters=1`` the diverged weights never reach a save; with more,
:class:`~mmseg_dilated.engine.ResumableCheckpointHook` refuses them.

Under AMP (mmengine's ``AmpOptimWrapper`` with dynamic loss scaling, the default) an overflow is
routine: the loss scaler skips the optimizer step, leaving the weights as they were, and halves
its scale. Such iterations are counted and reported, not divergence; only ``max_skipped_steps``
in a row stop the run: the scale has then fallen by ``2 ** max_skipped_steps``, which no
transient overflow explains. A skip is seen as a drop of the scale, so with a static
``loss_scale`` none is counted.
"""

import logging
from typing import Dict, List

import torch
from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from .resumable_checkpoint_hook import ResumableCheckpointHook
from .stopping import EXIT_DIVERGED, last_checkpoint, stop_process, train_command

__all__ = ['DivergenceHook']


@HOOKS.register_module()
class DivergenceHook(Hook):
    """Stop training after ``max_bad_iters`` consecutive iterations with a non-finite loss term or
    gradient norm; under AMP, after ``max_skipped_steps`` consecutive skipped steps.

    Every config of this package registers it through its schedule base
    (``configs/_base_/schedules/schedule_*.py``)::

        default_hooks = dict(divergence=dict(type='DivergenceHook', max_bad_iters=1))

    Args:
        max_bad_iters (int): Consecutive non-finite iterations that stop the run. Default: 1.
        max_skipped_steps (int): Consecutive steps skipped by the AMP loss scaler that stop the
            run. Default: 25 (from mmengine's initial scale 65536, a scale of 2 ** -9).
    """

    # After LoggerHook (BELOW_NORMAL too, registered first) logs the iteration, before
    # ParamSchedulerHook (LOW) moves the learning rate on and CheckpointHook (VERY_LOW) saves.
    priority = 'BELOW_NORMAL'

    def __init__(self, max_bad_iters: int = 1, max_skipped_steps: int = 25):
        for name, value in (
            ('max_bad_iters', max_bad_iters),
            ('max_skipped_steps', max_skipped_steps),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'DivergenceHook: {name}={value!r}: give an int >= 1')
        self.max_bad_iters = max_bad_iters
        self.max_skipped_steps = max_skipped_steps
        self._bad = 0
        self._skipped_in_a_row = 0
        self._skipped = 0
        self._steps = 0
        self._scaler = None
        self._scale = None

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        scaler = getattr(wrapper, 'loss_scaler', None)
        # AmpOptimWrapper keeps a static loss_scale in _scale_update_param; dynamic leaves it None
        if scaler is not None and getattr(wrapper, '_scale_update_param', None) is None:
            self._scaler = scaler
            self._scale = scaler.get_scale()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        step = runner.iter + 1
        self._steps += 1
        terms = {
            name: value.detach()
            for name, value in (outputs or {}).items()
            if 'loss' in name and torch.is_tensor(value)  # what mmengine's parse_losses sums
        }
        grad_norm = self._grad_norm(runner)
        bad = self._non_finite(terms, grad_norm)
        if self._scaler is not None:
            scale, self._scale = self._scale, self._scaler.get_scale()
            if self._scale < scale:  # the scaler found non-finite gradients and skipped the step
                self._on_skipped_step(runner, step, scale, terms, bad)
                return
        self._skipped_in_a_row = 0
        if not bad:
            self._bad = 0
            return
        self._bad += 1
        described = _describe(terms, grad_norm, bad)
        if self._bad < self.max_bad_iters:
            if is_main_process():
                print_log(
                    f'Iteration {step}: non-finite {described} ({self._bad} in a row; the run '
                    f'stops at max_bad_iters={self.max_bad_iters}).',
                    logger='current',
                    level=logging.WARNING,
                )
            return
        stop_process(
            EXIT_DIVERGED,
            f'Training diverged at iteration {step}: non-finite {described} '
            f'({self._bad} iteration(s) in a row, max_bad_iters={self.max_bad_iters}); learning '
            f'rate {_learning_rates(runner)}. '
            + _what_next(
                runner,
                'Lower the learning rate (or add optim_wrapper.clip_grad, or check the data)',
            ),
        )

    def after_train(self, runner) -> None:
        if self._skipped and is_main_process():
            print_log(
                f'The AMP loss scaler skipped {self._skipped} of {self._steps} optimizer steps '
                '(non-finite gradients at its scale; the weights were left as they were).',
                logger='current',
            )

    # ---------------------------------------------------------------------------------------------

    @staticmethod
    def _grad_norm(runner):
        """The gradient norm of this iteration, where the optimizer wrapper computed one."""
        wrapper = runner.optim_wrapper
        if not getattr(wrapper, 'clip_grad_kwargs', None) or wrapper.grad_name != 'grad_norm':
            return None
        if not wrapper.should_update():  # accumulating gradients: no step, no norm this time
            return None
        scalars = runner.message_hub.log_scalars
        return scalars['train/grad_norm'].current() if 'train/grad_norm' in scalars else None

    @staticmethod
    def _non_finite(terms: Dict[str, torch.Tensor], grad_norm) -> List[str]:
        """Names of the terms (and ``grad_norm``) that are not finite on some rank."""
        names = list(terms)
        flags = [torch.isfinite(v).all() for v in terms.values()]
        if grad_norm is not None:
            names.append('grad_norm')
            flags.append(torch.isfinite(torch.tensor(float(grad_norm))))
        if not flags:
            return []
        device = flags[0].device
        bad = (~torch.stack([f.to(device) for f in flags])).int()
        if get_dist_info()[1] > 1:
            all_reduce(bad, op='max')
        return [name for name, flag in zip(names, bad.tolist()) if flag]

    def _on_skipped_step(self, runner, step, scale, terms, bad) -> None:
        self._skipped += 1
        self._skipped_in_a_row += 1
        self._bad = 0
        losses = f'; non-finite {_describe(terms, None, bad)}' if bad else ''
        report = (
            f'the AMP loss scaler skipped the optimizer step of iteration {step} (non-finite '
            f'gradients at scale {scale:g}, now {self._scale:g}{losses}): '
            f'{self._skipped_in_a_row} in a row, {self._skipped} in this run'
        )
        if self._skipped_in_a_row < self.max_skipped_steps:
            if is_main_process():
                print_log(
                    report[0].upper() + report[1:] + '.', logger='current', level=logging.WARNING
                )
            return
        stop_process(
            EXIT_DIVERGED,
            f'Training diverged: {report}, which reaches max_skipped_steps='
            f'{self.max_skipped_steps}: the gradients are non-finite at any scale. Learning rate '
            f'{_learning_rates(runner)}. '
            + _what_next(
                runner,
                'Lower the learning rate (or add optim_wrapper.clip_grad, or train in fp32 '
                'without --amp)',
            ),
        )


def _what_next(runner, remedy: str) -> str:
    """The last finite checkpoint, and the command that continues from it (or starts again)."""
    lr = ' --cfg-options optim_wrapper.optimizer.lr=LOWER'
    last = last_checkpoint(runner.work_dir)
    if last is None:
        return (
            f'No checkpoint of this run has been written yet. {remedy} and start again: '
            + train_command(runner, lr, resume=False)
        )
    if any(isinstance(h, ResumableCheckpointHook) for h in runner.hooks):
        found = f'The last finite checkpoint is {last}.'
    else:
        found = (
            f'The last checkpoint is {last} (not checked for non-finite weights: save with '
            'ResumableCheckpointHook).'
        )
    return f'{found} {remedy} and continue from it: ' + train_command(runner, lr)


def _describe(terms, grad_norm, bad: List[str]) -> str:
    """``decode.loss_ce=nan, loss=nan``: the non-finite values as this rank has them."""
    parts = []
    for name in bad:
        value = grad_norm if name == 'grad_norm' else terms[name].float().mean().item()
        if torch.isfinite(torch.tensor(float(value))):
            parts.append(f'{name} (non-finite on another rank)')
        else:
            parts.append(f'{name}={float(value)}')
    return ', '.join(parts)


def _learning_rates(runner) -> str:
    """The optimizer's learning rates, each distinct value once, largest first."""
    rates = set()
    for values in runner.optim_wrapper.get_lr().values():
        rates.update(float(v) for v in values)
    return ', '.join(f'{r:.4g}' for r in sorted(rates, reverse=True))
