"""The shared model rules (mmseg_dilated/models/common.py): one gradient-checkpointing rule and one
check of per-layer int arguments, used by every backbone and head."""

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_dilated.models.common import check_positive_ints, checkpoint_if

from _helpers import TINY_CONFIG


def test_checkpoint_if_recomputes_in_backward_only_when_recording():
    calls = []

    def fn(x, w):
        calls.append(1)
        return (x * w).relu()

    w = torch.randn(4, requires_grad=True)
    x = torch.randn(4)  # no grad, as the features of a frozen backbone
    checkpoint_if(True, fn, x, w).sum().backward()
    assert len(calls) == 2  # the forward, then its recomputation in backward
    expected = torch.where(x * w > 0, x, torch.zeros_like(x))
    assert torch.equal(w.grad, expected)
    calls.clear()
    with torch.no_grad():
        checkpoint_if(True, fn, x, w)
    checkpoint_if(False, fn, x, w).sum().backward()
    assert len(calls) == 2  # once each: nothing recomputed


@pytest.mark.parametrize(
    'head',
    [
        dict(type='ContextHead', in_channels=8, module_type='large'),
        dict(type='ParallelContextHead', in_channels=8, channels=8),
        dict(type='DilatedASPPHead', in_channels=8, channels=8),
    ],
)
def test_a_head_on_a_frozen_backbone_still_checkpoints(head):
    """Features without grad (a frozen backbone's) used to skip checkpointing silently."""
    init_default_scope('mmseg')
    cfg = dict(
        head,
        num_classes=4,
        in_index=0,
        align_corners=False,
        dropout_ratio=0.0,
        loss_decode=dict(type='CrossEntropyLoss'),
    )
    torch.manual_seed(0)
    plain = MODELS.build(dict(cfg, with_cp=False))
    checkpointed = MODELS.build(dict(cfg, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    feats = torch.randn(2, 8, 16, 16)  # requires_grad=False
    calls = {}
    for name, model in (('plain', plain), ('checkpointed', checkpointed)):
        calls[name] = []
        for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.register_forward_hook(lambda *args, log=calls[name]: log.append(1))
        model.train()
        model([feats]).square().sum().backward()
    assert len(calls['checkpointed']) > len(calls['plain'])  # convs recomputed in backward
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        if p.grad is not None:
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize('values, length', [((1, 2, 4), None), ([3], 1), ((1, 1), 2)])
def test_check_positive_ints_accepts(values, length):
    assert check_positive_ints('dilations', values, length) == tuple(values)


@pytest.mark.parametrize(
    'values, length, expected',
    [
        ((), None, 'dilations must be a non-empty list/tuple of positive ints; got ()'),
        ((1, 0), None, 'dilations must be a non-empty list/tuple of positive ints; got (1, 0)'),
        ((1, 2.0), None, 'positive ints; got (1, 2.0)'),
        ((1, True), None, 'positive ints; got (1, True)'),
        (2, None, 'positive ints; got 2'),
        ('12', None, "positive ints; got '12'"),
        ((1, 2), 3, 'dilations must be 3 positive ints (where); got (1, 2)'),
    ],
)
def test_check_positive_ints_names_the_problem(values, length, expected):
    with pytest.raises(ValueError) as err:
        check_positive_ints('dilations', values, length, ' (where)' if length else '')
    assert expected in str(err.value)


@pytest.mark.parametrize(
    'model, message',
    [
        (
            dict(backbone=dict(dilations=(1, 1, 0))),
            'dilations must be 8 positive ints, one per level (layer1..layer8) of DRN-D',
        ),
        (dict(decode_head=dict(dilations=(1, -2))), 'dilations must be a non-empty list/tuple'),
    ],
)
def test_every_model_uses_the_one_check(model, message):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(model=model))
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        MODELS.build(cfg.model)
