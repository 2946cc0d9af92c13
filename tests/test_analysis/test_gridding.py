"""The gridding check (mmseg_dilated/utils/gridding.py) on hand-worked stacks, and on a model's
stacks read from its built modules."""

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_dilated.analysis.gridding import gridding_report, hdc_m2, model_dilated_stacks

from _helpers import TINY_CONFIG


def _stack(*dilations):
    return gridding_report([(3, d) for d in dilations])


def test_equal_rates_grid_every_other_pixel():
    # taps {-2, 0, 2} three times: the even offsets -6..6 only
    report = _stack(2, 2, 2)
    assert report.receptive_field == 13
    assert report.sampled == tuple(range(-6, 7, 2))
    assert report.holes == tuple(range(-5, 6, 2))
    assert report.period == 2 and report.largest_gap == 2
    assert report.common_factor == 2 and not report.satisfies_hdc
    assert 'grids: holes every 2 px' in report.describe()


@pytest.mark.parametrize('dilations, rf, m2', [((1, 2, 5), 17, 2), ((1, 2, 3), 13, 2)])
def test_hdc_rates_cover_every_pixel(dilations, rf, m2):
    # (1, 2, 5): {-1,0,1} + {-2,0,2} covers -3..3, and +{-5,0,5} covers -8..8 without a gap
    report = _stack(*dilations)
    assert report.receptive_field == rf and not report.holes and report.largest_gap == 1
    assert report.m2 == m2 and report.satisfies_hdc
    assert "gridding-free; meets HDC's conditions" in report.describe()


def test_a_rate_too_large_for_the_stack_below_it():
    # -3..3 from (1, 2), then +-9: offsets 4, 5 (and -4, -5) are never reached
    report = _stack(1, 2, 9)
    assert report.holes == (-5, -4, 4, 5) and report.largest_gap == 3 and report.period == 1
    # M_3 = 9, M_2 = max(9 - 4, 9 - 2 * 7, 2) = 5 > 3
    assert report.m2 == 5 and report.common_factor == 1 and not report.satisfies_hdc
    assert 'M_2 = 5 > kernel 3' in report.describe()


def test_m2_worked_by_hand():
    assert hdc_m2((1, 2, 5)) == 2  # max(5 - 4, 5 - 6, 2)
    assert hdc_m2((1, 2, 9)) == 5
    assert hdc_m2((3, 3)) == 3  # M_2 = r_2


def test_bad_layers_are_refused():
    with pytest.raises(ValueError, match='kernel sizes must be odd'):
        gridding_report([(2, 1)])
    with pytest.raises(ValueError, match=r'must be 2 positive ints'):
        gridding_report([(3, 0)])
    with pytest.raises(ValueError, match='at least one'):
        gridding_report([])


def test_stacks_are_read_from_the_built_modules():
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_CONFIG)  # DRN-D-22's undilated first three levels + large context
    model = MODELS.build(cfg.model)
    # the paper's Table 1: 3x3 layers with dilations 1, 1, 2, 4, 8, 16, 1 (the final 1x1 aside)
    assert model_dilated_stacks(model) == [
        ('decode_head.context_convs', [(3, 1), (3, 1), (3, 2), (3, 4), (3, 8), (3, 16), (3, 1)])
    ]
    # a dilation changed on the built module shows, whatever the config says
    conv = model.backbone.layer3[0].conv1
    conv.dilation, conv.padding = (2, 2), (2, 2)
    stacks = dict(model_dilated_stacks(model))
    assert stacks['backbone.layer3'] == [(3, 2), (3, 1), (3, 1), (3, 1)]


def test_hdc_backbone_schedule_is_read_from_the_modules():
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_CONFIG)
    # every level of DRN-D-22 this time: layer5/6/7 are dilated
    cfg.model.backbone.update(num_levels=None, out_indices=(7,))
    cfg.model.decode_head.in_channels = 64
    default = dict(model_dilated_stacks(MODELS.build(cfg.model)))
    assert default['backbone.layer5'] == [(3, 2)] * 4
    assert gridding_report(default['backbone.layer5']).period == 2
    assert gridding_report(default['backbone.layer6']).period == 4
    cfg.model.backbone.block_dilations = {5: (1, 2), 6: (1, 3)}
    hdc = MODELS.build(cfg.model)
    stacks = dict(model_dilated_stacks(hdc))
    # each basic block's two 3x3 convs take the block's rate
    assert stacks['backbone.layer5'] == [(3, 1), (3, 1), (3, 2), (3, 2)]
    assert stacks['backbone.layer6'] == [(3, 1), (3, 1), (3, 3), (3, 3)]
    for name in ('backbone.layer5', 'backbone.layer6'):
        assert not gridding_report(stacks[name]).grids
    # from the modules, not the config: a rate changed on the built model shows
    conv = hdc.backbone.layer6[1].conv2
    conv.dilation, conv.padding = (4, 4), (4, 4)
    assert dict(model_dilated_stacks(hdc))['backbone.layer6'][-1] == (3, 4)
