"""Config keys no part of the run reads, and values of the wrong type, are refused before the
Runner starts, with the key, the value and what was expected (mmseg_dilated/apis/config_check.py).
"""

import glob
import os.path as osp

import pytest

import mmseg_dilated  # noqa: F401  (registers the components)
from mmseg_dilated.apis.config_check import ConfigCheckError, check_config, config_problems
from mmseg_dilated.utils import list_configs, load_config

from _helpers import REPO, TINY_CONFIG

CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p
)
TOY = osp.join(REPO, 'configs', 'context_toy.py')
LOOP = "FastResumeIterBasedTrainLoop's"  # the toy's training loop (configs/_base_/schedules)


def problems(text_or_path, tmp_path=None, options=()):
    if tmp_path is not None:
        path = tmp_path / 'user_config.py'
        path.write_text(f'_base_ = [{TOY!r}]\n' + text_or_path)
        text_or_path = str(path)
    return config_problems(load_config(text_or_path, options), options)


def test_every_shipped_config_is_checked():
    # glob and the package's own listing agree, and the check below runs on all of them
    assert CONFIGS == list_configs() and len(CONFIGS) >= 30


@pytest.mark.parametrize('name', CONFIGS)
def test_shipped_config_passes(name):
    assert problems(osp.join(REPO, 'configs', name)) == []


def test_top_level_typo_in_a_config_file(tmp_path):
    path = tmp_path / 'user_config.py'
    assert problems('trian_cfg = dict(max_iters=100)\n', tmp_path) == [
        f"{path}: top-level key 'trian_cfg' is read by no part of the run (mmengine's Runner, "
        "mmseg's tools, mmseg-dilated, the config files); did you mean 'train_cfg'?"
    ]


def test_top_level_typo_in_cfg_options():
    assert problems(TOY, options=['trian_cfg.max_iters=100']) == [
        "--cfg-options trian_cfg.max_iters=100: top-level key 'trian_cfg' is read by no part of "
        "the run (mmengine's Runner, mmseg's tools, mmseg-dilated, the config files); did you "
        "mean 'train_cfg'?"
    ]


def test_variables_the_config_uses_or_marks_private_pass(tmp_path):
    text = "my_lr = 0.004\noptim_wrapper = dict(optimizer=dict(lr=my_lr))\n_scratch = 'x'\n"
    assert problems(text, tmp_path) == []
    # a variable that nothing uses, without the underscore, and close to no known key
    assert problems('learning_note = 1\n', tmp_path)[0].endswith(
        "the config files); a variable of your own can start with '_'"
    )


def test_setting_a_config_variable_from_the_command_line_is_refused():
    assert problems(TOY, options=['crop_size=(64,64)']) == [
        '--cfg-options crop_size=(64, 64): crop_size is a variable of the config files, '
        'substituted into the keys that use it when the config was read, so setting it now '
        'changes nothing; set the keys that use it instead: '
        'train_dataloader.dataset.pipeline.3.crop_size'
    ]


def test_wrong_type_names_key_value_and_types(tmp_path):
    assert problems("train_cfg = dict(max_iters='100')\n", tmp_path) == [
        f"train_cfg.max_iters must be int ({LOOP} max_iters), got '100' of type str"
    ]
    assert problems(TOY, options=['train_cfg.val_interval=often']) == [
        f"train_cfg.val_interval must be int ({LOOP} val_interval), got 'often' of type str "
        '(set by --cfg-options)'
    ]
    assert problems('train_dataloader = dict(batch_size=2.0)\n', tmp_path) == [
        "train_dataloader.batch_size must be int or None (DataLoader's batch_size), got 2.0 of "
        'type float'
    ]
    assert problems("resume = 'yes'\n", tmp_path) == [
        "resume must be bool (mmengine's Runner), got 'yes' of type str"
    ]


def test_unknown_arguments_of_fixed_signature_sections(tmp_path):
    found = problems(
        'train_cfg = dict(val_intervl=5)\n'
        'optim_wrapper = dict(accumulative_count=2, optimizer=dict(weight_decy=0.1))\n'
        "param_scheduler = [dict(type='PolyLR', powr=1.0, by_epoch=False)]\n"
        'env_cfg = dict(cudnn_benchmrk=True)\n',
        tmp_path,
    )
    assert found == [
        f"train_cfg.val_intervl: {LOOP[:-2]} takes no argument 'val_intervl'; did you mean "
        "'val_interval'? Its arguments: dynamic_intervals, max_iters, val_begin, val_interval",
        "optim_wrapper.accumulative_count: OptimWrapper takes no argument 'accumulative_count'; "
        "did you mean 'accumulative_counts'? Its arguments: accumulative_counts, clip_grad, "
        'constructor, optimizer, paramwise_cfg',
        "optim_wrapper.optimizer.weight_decy: AdamW takes no argument 'weight_decy'; did you mean"
        " 'weight_decay'? Its arguments: amsgrad, betas, capturable, differentiable, eps, "
        'foreach, fused, lr, maximize, weight_decay',
        "param_scheduler[0].powr: PolyLR takes no argument 'powr'; did you mean 'power'? Its "
        'arguments: begin, by_epoch, convert_to_iter_based, end, eta_min, last_step, param_name, '
        'power, verbose',
        "env_cfg.cudnn_benchmrk: mmengine's Runner reads no 'cudnn_benchmrk' in env_cfg; did you "
        "mean 'cudnn_benchmark'? It reads: cudnn_benchmark, mp_cfg, dist_cfg, resource_limit",
    ]


def test_unregistered_type_suggests_the_registered_one(tmp_path):
    assert problems(
        "default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHok'))\n", tmp_path
    ) == [
        "default_hooks.checkpoint.type: 'ResumableCheckpointHok' is not registered in mmseg's "
        "hook registry; did you mean 'ResumableCheckpointHook'?"
    ]


def test_check_config_raises_every_problem_at_once(tmp_path):
    path = tmp_path / 'user_config.py'
    path.write_text(f"_base_ = [{TOY!r}]\ntrian_cfg = dict()\ntrain_cfg = dict(max_iters='9')\n")
    with pytest.raises(ConfigCheckError) as err:
        check_config(load_config(str(path)))
    assert str(err.value).splitlines()[0] == (
        'the config has 2 problems, found before the run started:'
    )


@pytest.mark.parametrize('command', ['train', 'test'])
def test_train_and_test_stop_before_the_runner(tmp_path, monkeypatch, command, capsys):
    from mmseg_dilated.cli import test, train

    monkeypatch.chdir(tmp_path)
    args = [TINY_CONFIG, '--work-dir', 'work', '--cfg-options', 'trian_cfg.max_iters=100']
    if command == 'test':
        (tmp_path / 'weights.pth').write_bytes(b'')
        args.insert(1, 'weights.pth')
    with pytest.raises(SystemExit) as exit_:
        (train if command == 'train' else test).main(args)
    assert str(exit_.value) == (
        'error: the config has 1 problem, found before the run started:\n'
        "  --cfg-options trian_cfg.max_iters=100: top-level key 'trian_cfg' is read by no part "
        "of the run (mmengine's Runner, mmseg's tools, mmseg-dilated, the config files); did you"
        " mean 'train_cfg'?"
    )
    assert not (tmp_path / 'work').exists()  # the Runner never started
