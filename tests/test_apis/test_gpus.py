"""``--gpus N``: a recipe on fewer GPUs keeps its effective batch by gradient accumulation, with
its learning rate and its number of optimizer steps (mmseg_dilated/apis/gpus.py)."""

import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

import mmseg_dilated  # noqa: F401  (registers the components)
from mmseg_dilated.apis.gpus import (
    GpuPlanError,
    apply_gpu_plan,
    gpu_run_options,
    plan_gpus,
    plan_options,
    recipe_batch_size,
)
from mmseg_dilated.utils import load_config

from _helpers import TINY_CONFIG


def _write(folder, name, text):
    path = osp.join(str(folder), name)
    with open(path, 'w') as f:
        f.write(text)
    return path


# An 8xb4 recipe without auto_scale_lr: the name carries the batch. Step and poly schedules, an
# iteration-based checkpoint interval.
RECIPE = f"""
_base_ = [{TINY_CONFIG!r}]
auto_scale_lr = None
train_dataloader = dict(batch_size=4)
train_cfg = dict(max_iters=1000, val_interval=100, val_begin=10)
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(type='MultiStepLR', milestones=[400, 800], begin=50, end=1000, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=200, by_epoch=False))
"""


@pytest.fixture
def recipe(tmp_path):
    return _write(tmp_path, 'ctx_drn_8xb4-1k_shapes-64x64.py', RECIPE)


def test_recipe_batch_from_auto_scale_lr_then_the_name(tmp_path, recipe):
    assert recipe_batch_size(load_config(recipe)) == (
        32,
        'the config name ctx_drn_8xb4-1k_shapes-64x64.py (8xb4)',
    )
    # A short name inherits the full one.
    alias = _write(tmp_path, 'short.py', f'_base_ = [{recipe!r}]\n')
    assert recipe_batch_size(load_config(alias))[0] == 32
    given = _write(
        tmp_path,
        'given.py',
        f'_base_ = [{recipe!r}]\nauto_scale_lr = dict(_delete_=True, base_batch_size=16)\n',
    )
    assert recipe_batch_size(load_config(given)) == (16, 'auto_scale_lr.base_batch_size')
    assert recipe_batch_size(load_config(TINY_CONFIG))[0] is None


def test_fewer_gpus_multiply_every_count_in_iterations(recipe):
    cfg = load_config(recipe)
    plan = plan_gpus(cfg, 2)  # 2 x 4 = 8 of the recipe's 32: accumulate 4
    assert (plan.accumulation, plan.effective_batch, plan.lr, plan.run_lr) == (4, 32, 0.01, 0.01)
    assert plan.overrides == {
        'optim_wrapper.accumulative_counts': 4,
        'train_cfg.max_iters': 4000,
        'train_cfg.val_interval': 400,
        'train_cfg.val_begin': 40,
        'default_hooks.checkpoint.interval': 800,
        'param_scheduler.0.end': 200,
        'param_scheduler.1.begin': 200,
        'param_scheduler.1.end': 4000,
        'param_scheduler.1.milestones': [1600, 3200],
    }
    apply_gpu_plan(cfg, plan)
    assert cfg.param_scheduler[1].milestones == [1600, 3200]
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    # The same changes as --cfg-options strings, as mmengine's DictAction reads them back.
    again = load_config(recipe, plan_options(plan))
    assert again.train_cfg.max_iters == 4000 and again.param_scheduler[1].milestones == [1600, 3200]
    assert plan.lines()[0] == (
        "effective batch 32 = 2 GPUs x 4 x 4 accumulated iterations (the recipe's 32, from the "
        'config name ctx_drn_8xb4-1k_shapes-64x64.py (8xb4))'
    )
    # The recipe's own GPU count changes nothing.
    assert plan_gpus(load_config(recipe), 8).overrides == {}


def test_a_step_schedule_changes_the_rate_at_the_recipes_optimizer_steps(recipe):
    """mmengine's ParamSchedulerHook steps a by_epoch=False scheduler once per iteration; with
    accumulation 4 the optimizer steps at iterations 4s + 3. With the milestones scaled by 4 the
    rate at every optimizer step is the recipe's at the same step."""
    from mmengine.optim import MultiStepLR

    def rates_at_optimizer_steps(milestones, iterations, every):
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=1.0)
        scheduler = MultiStepLR(optimizer, milestones=milestones, by_epoch=False)
        rates = []
        for it in range(iterations):
            if it % every == every - 1:
                rates.append(optimizer.param_groups[0]['lr'])
            scheduler.step()
        return rates

    cfg = load_config(recipe)
    scaled = plan_gpus(cfg, 2).overrides['param_scheduler.1.milestones']
    recipe_rates = rates_at_optimizer_steps(cfg.param_scheduler[1].milestones, 1000, 1)
    assert rates_at_optimizer_steps(scaled, 4000, 4) == recipe_rates
    assert sorted(set(recipe_rates)) == pytest.approx([0.01, 0.1, 1.0])


def test_gpus_that_cannot_keep_the_batch_are_refused(recipe):
    cfg = load_config(recipe)
    with pytest.raises(GpuPlanError) as err:
        plan_gpus(cfg, 3)
    assert str(err.value) == (
        "--gpus 3: 3 GPUs x 4 = 12 does not divide the recipe's batch of 32 (the config name "
        'ctx_drn_8xb4-1k_shapes-64x64.py (8xb4)), so no whole number of accumulated iterations '
        'keeps it. GPU counts that do at 4 per GPU: 1, 2, 4, 8. Or change the per-GPU batch '
        '(--cfg-options train_dataloader.batch_size=B), or scale the learning rate with the batch '
        'instead: --scale-lr'
    )
    with pytest.raises(GpuPlanError, match='is more than the recipe'):
        plan_gpus(cfg, 16)
    with pytest.raises(GpuPlanError, match="cannot tell the recipe's effective batch"):
        plan_gpus(load_config(TINY_CONFIG), 1)
    with pytest.raises(GpuPlanError, match='but this run has 1 process: start one per GPU'):
        gpu_run_options(cfg, 4, False, 1)


def test_scale_lr_is_mmengines_linear_rule(recipe):
    cfg = load_config(recipe)
    plan = plan_gpus(cfg, 2, scale_lr=True)
    assert plan.accumulation == 1 and plan.effective_batch == 8
    assert plan.overrides == {
        'auto_scale_lr._delete_': True,
        'auto_scale_lr.enable': True,
        'auto_scale_lr.base_batch_size': 32,
    }
    assert plan.run_lr == pytest.approx(0.01 * 8 / 32)
    # mmengine's own Runner.scale_lr, on a run of 2 processes x 4, gives the same rate.
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner

    apply_gpu_plan(cfg, plan)
    wrapper = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01))
    run = SimpleNamespace(
        _train_dataloader=dict(batch_size=4),
        world_size=2,
        param_schedulers=None,
        logger=MMLogger.get_instance('test_gpus_scale_lr'),
    )
    Runner.scale_lr(run, wrapper, cfg.auto_scale_lr)
    assert wrapper.param_groups[0]['lr'] == pytest.approx(plan.run_lr)


def test_without_gpus_the_run_says_its_batch_is_not_the_recipes(recipe):
    options, lines = gpu_run_options(load_config(recipe), None, False, 1)
    assert options == []
    assert lines == [
        'note: this run trains at a batch of 4 (1 process x 4), with the learning rate and '
        'schedule of a recipe for 32 (the config name ctx_drn_8xb4-1k_shapes-64x64.py (8xb4)); '
        "--gpus 1 keeps the recipe's batch by gradient accumulation, --gpus N --scale-lr scales "
        'the learning rate instead (docs/en/user_guides/fewer_gpus.md)'
    ]


# A 4x4 recipe on the tiny data, BatchNorm-free (GroupNorm is per image) and without dropout (the
# toy head's), with losses that are means over every pixel of the batch, so that the mean of four
# batch-4 losses is the batch-16 loss.
BN_FREE_4X4 = f"""
_base_ = [{TINY_CONFIG!r}]
gn = dict(type='GN', num_groups=1, requires_grad=True)
train_dataloader = dict(batch_size=4)
model = dict(
    backbone=dict(norm_cfg=gn),
    decode_head=dict(
        dropout_ratio=0.0, loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=False)
    ),
)
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
param_scheduler = []
train_cfg = dict(max_iters=2, val_interval=1000, val_begin=1000)
default_hooks = dict(checkpoint=dict(interval=1000, save_last=False))
"""


class _Recorder(Hook):
    """The batches the loop trains on, and the gradients and rate at each optimizer step."""

    def __init__(self):
        self.batches, self.steps = [], []

    def before_train(self, runner):
        self.initial = copy.deepcopy(runner.model.state_dict())
        optimizer = runner.optim_wrapper.optimizer
        step = optimizer.step

        def recording_step(*args, **kwargs):
            self.steps.append(
                dict(
                    iteration=runner.iter,
                    lr=optimizer.param_groups[0]['lr'],
                    grads={
                        n: p.grad.clone()
                        for n, p in runner.model.named_parameters()
                        if p.grad is not None
                    },
                )
            )
            return step(*args, **kwargs)

        optimizer.step = recording_step

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batches.append(copy.deepcopy(data_batch))


def _batch_gradients(model, initial, batches):
    model = copy.deepcopy(model)
    model.load_state_dict(initial)
    model.zero_grad(set_to_none=True)
    joined = dict(
        inputs=[x for b in batches for x in b['inputs']],
        data_samples=[s for b in batches for s in b['data_samples']],
    )
    data = model.data_preprocessor(joined, True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def test_gpus_1_on_a_4x4_recipe_is_one_batch_16_step_per_4_iterations(tmp_path, monkeypatch):
    from mmengine.runner import Runner

    monkeypatch.chdir(tmp_path)  # the tiny data is generated under ./data
    path = _write(tmp_path, 'ctx_gn_4xb4-2_tiny-64x64.py', BN_FREE_4X4)
    cfg = load_config(path)
    plan = plan_gpus(cfg, 1)
    assert (plan.accumulation, plan.effective_batch, plan.run_lr) == (4, 16, 0.01)
    apply_gpu_plan(cfg, plan)
    assert cfg.train_cfg.max_iters == 8
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder, priority='LOWEST')
    runner.train()
    # one optimizer step per 4 iterations, at the recipe's rate
    assert [s['iteration'] for s in recorder.steps] == [3, 7]
    assert [s['lr'] for s in recorder.steps] == [0.01, 0.01]
    assert runner.optim_wrapper._accumulative_counts == 4
    # the accumulated gradient is the gradient of the 16 images of the 4 iterations as one batch
    model = runner.model
    reference = _batch_gradients(model, recorder.initial, recorder.batches[:4])
    accumulated = recorder.steps[0]['grads']
    assert accumulated.keys() == reference.keys()
    worst = max((accumulated[n] - reference[n]).abs().max().item() for n in reference)
    assert worst <= 1e-5, worst
    # and not the gradient of one batch of 4 (the comparison can fail)
    one = _batch_gradients(model, recorder.initial, recorder.batches[:1])
    assert max((one[n] - reference[n]).abs().max().item() for n in reference) > 1e-3


def test_train_gpus_1_states_the_batch_first_and_trains_with_accumulation(
    tmp_path, monkeypatch, capsys
):
    from mmseg_dilated.cli import train

    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, 'ctx_gn_4xb4-2_tiny-64x64.py', BN_FREE_4X4)
    train.main([path, '--gpus', '1', '--work-dir', 'work'])
    out = capsys.readouterr().out
    first = [line for line in out.splitlines() if line.startswith('mmseg-dilated train:')]
    assert first == [
        'mmseg-dilated train: effective batch 16 = 1 GPU x 4 x 4 accumulated iterations (the '
        "recipe's 16, from the config name ctx_gn_4xb4-2_tiny-64x64.py (4xb4))",
        'mmseg-dilated train: accumulation: 4 (optim_wrapper.accumulative_counts); learning rate '
        "0.01, the recipe's",
        "mmseg-dilated train: schedule: 8 iterations = the recipe's 2 optimizer steps x 4; "
        'validation, checkpoint and scheduler steps (begin, end, milestones) x 4; BatchNorm '
        'statistics over 4 images per iteration (docs/en/user_guides/fewer_gpus.md)',
    ]
    assert out.index('mmseg-dilated train:') < out.index('Iter(train)')
    ran = Config.fromfile(str(tmp_path / 'work' / 'ctx_gn_4xb4-2_tiny-64x64.py'))
    assert ran.optim_wrapper.accumulative_counts == 4 and ran.train_cfg.max_iters == 8
    assert ran.optim_wrapper.optimizer.lr == 0.01
    assert 'Iter(train) [8/8]' in out
