"""CheckpointKeyMapHook and FreezeModulesHook: stage 2 of the staged protocol (a context module on
a trained, frozen front-end) through mmengine's Runner, on the tests' tiny data."""

import copy
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_dilated  # noqa: F401
from mmseg_dilated.engine import CheckpointKeyMapHook, FreezeModulesHook
from mmseg_dilated.engine.checkpoint_key_map_hook import map_state_dict_keys

from _helpers import TINY_CONFIG

FRONTEND_HEAD = dict(
    _delete_=True,
    type='FCNHead',
    in_channels=8,
    in_index=0,
    channels=8,
    num_convs=0,
    concat_input=False,
    dropout_ratio=0.1,
    num_classes=4,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
)
STAGE2_HOOKS = [
    dict(type='CheckpointKeyMapHook'),
    dict(type='FreezeModulesHook', modules=('backbone', 'decode_head.classifier')),
]


def test_map_state_dict_keys_by_hand():
    weight, bias, other = torch.ones(4, 8, 1, 1), torch.zeros(4), torch.full((2,), 3.0)
    state = OrderedDict(
        [
            ('backbone.x', other),
            ('decode_head.conv_seg.weight', weight),
            ('decode_head.conv_seg.bias', bias),
        ]
    )
    state._metadata = OrderedDict([('', {}), ('decode_head.conv_seg', {'version': 1})])
    mapped, renamed = map_state_dict_keys(
        state, {'decode_head.conv_seg.': 'decode_head.classifier.conv.'}
    )
    assert list(mapped) == [
        'backbone.x',
        'decode_head.classifier.conv.weight',
        'decode_head.classifier.conv.bias',
    ]
    assert mapped['decode_head.classifier.conv.weight'] is weight
    assert renamed == ['decode_head.conv_seg.weight', 'decode_head.conv_seg.bias']
    assert list(mapped._metadata) == ['', 'decode_head.classifier.conv']
    # A checkpoint of the stage-2 model itself (resume): its own conv_seg must stay where it is.
    own = OrderedDict(
        [('decode_head.classifier.conv.weight', weight), ('decode_head.conv_seg.weight', other)]
    )
    assert map_state_dict_keys(own, {'decode_head.conv_seg.': 'decode_head.classifier.conv.'}) == (
        own,
        [],
    )


@pytest.mark.parametrize('key_map', [{}, {'a.': ''}, ['a.', 'b.'], {'a.': 3}])
def test_key_map_errors(key_map):
    with pytest.raises(ValueError, match='key_map must be a non-empty dict'):
        CheckpointKeyMapHook(key_map)


@pytest.mark.parametrize('modules', [(), '', ('backbone', 3), None])
def test_freeze_modules_errors(modules):
    with pytest.raises(ValueError, match='modules must be a non-empty list'):
        FreezeModulesHook(modules)


def _runner(cfg, work_dir):
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook', draw=False)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def stages(tmp_path_factory):
    """A front-end trained 2 iterations (stage 1), then its context-module model trained 2
    iterations from it with the stage-2 hooks; both checkpoints and the stage-2 model."""
    import os

    cwd = tmp_path_factory.mktemp('staged')
    old = os.getcwd()
    os.chdir(cwd)
    try:
        tiny = Config.fromfile(TINY_CONFIG)
        tiny.merge_from_dict(dict(train_cfg=dict(max_iters=2, val_interval=100)))
        stage1 = copy.deepcopy(tiny)
        stage1.merge_from_dict(
            dict(
                model=dict(decode_head=FRONTEND_HEAD),
                optim_wrapper=dict(paramwise_cfg=dict(_delete_=True)),
            )
        )
        _runner(stage1, cwd / 'stage1').train()
        stage2 = copy.deepcopy(tiny)
        stage2.merge_from_dict(
            dict(
                model=dict(decode_head=dict(dropout_ratio=0.0, frontend_loss_weight=0.0)),
                custom_hooks=STAGE2_HOOKS,
                load_from=str(cwd / 'stage1' / 'iter_2.pth'),
            )
        )
        runner = _runner(stage2, cwd / 'stage2')
        initial = copy.deepcopy(runner.model.state_dict())
        runner.train()
        load = lambda p: torch.load(p, map_location='cpu', weights_only=False)['state_dict']  # noqa
        return dict(
            stage1=load(cwd / 'stage1' / 'iter_2.pth'),
            stage2=load(cwd / 'stage2' / 'iter_2.pth'),
            initial=initial,
            model=runner.model,
        )
    finally:
        os.chdir(old)


def test_stage2_starts_from_the_front_ends_classifier_and_keeps_it_frozen(stages):
    stage1, stage2 = stages['stage1'], stages['stage2']
    frontend = {k: v for k, v in stage1.items() if k.startswith(('backbone.', 'decode_head.'))}
    assert {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'} <= set(frontend)
    assert any(k.endswith('running_mean') for k in frontend)
    for key, value in frontend.items():
        mapped = key.replace('decode_head.conv_seg.', 'decode_head.classifier.conv.')
        # weights and BN statistics (running mean, var, batch count) exactly as stage 1 left them
        assert torch.equal(stage2[mapped], value), key


def test_stage2_trains_the_module(stages):
    initial, stage2 = stages['initial'], stages['stage2']
    module = [
        k for k in stage2 if k.startswith(('decode_head.context_convs.', 'decode_head.conv_seg.'))
    ]
    assert module and any(not torch.equal(stage2[k], initial[k]) for k in module)
    head = stages['model'].decode_head
    assert not any(p.requires_grad for p in stages['model'].backbone.parameters())
    assert not any(p.requires_grad for p in head.classifier.parameters())
    assert all(p.requires_grad for p in head.context_convs.parameters())


def test_freeze_names_a_missing_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.custom_hooks = [dict(type='FreezeModulesHook', modules=('decode_head.frontend',))]
    runner = _runner(cfg, tmp_path / 'work')
    with pytest.raises(ValueError, match="no sub-module 'decode_head.frontend'.*backbone"):
        runner.call_hook('before_run')
