import copy
import math

import pytest
import torch
import torch.nn as nn
from mmengine.model import revert_sync_batchnorm
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmseg.registry import MODELS

from mmseg_dilated.models import common
from mmseg_dilated.models.backbones import DRN
from mmseg_dilated.models.backbones import drn as drn_module

# Parameters of the authors' drn.py (fyu/drn) backbones, everything but ``fc``.
REFERENCE_PARAMS = {
    ('A', 18): 11_176_512,
    ('A', 34): 21_284_672,
    ('A', 50): 23_508_032,
    ('C', 26): 20_613_584,
    ('C', 42): 30_721_744,
    ('C', 58): 41_078_608,
    ('D', 22): 15_880_752,
    ('D', 24): 20_601_392,
    ('D', 38): 25_988_912,
    ('D', 40): 30_709_552,
    ('D', 54): 35_296_176,
    ('D', 56): 40_016_816,
    ('D', 105): 54_288_304,
    ('D', 107): 59_008_944,
}
VARIANTS = sorted(REFERENCE_PARAMS)


def meta_drn(**kwargs):
    """Build without allocating or initialising weights (structure checks only)."""
    with torch.device('meta'):
        return DRN(**kwargs)


@pytest.mark.parametrize('arch,depth', VARIANTS)
def test_param_count_matches_reference(arch, depth):
    model = meta_drn(arch=arch, depth=depth)
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[(arch, depth)]


def test_all_variants_covered():
    assert sorted(DRN.valid_variants()) == sorted(f'{a}-{d}' for a, d in VARIANTS)


@pytest.mark.parametrize('arch,depth', [('D', 26), ('C', 22), ('A', 101), ('B', 22), ('E', 0)])
def test_invalid_variant(arch, depth):
    with pytest.raises(ValueError) as e:
        DRN(arch=arch, depth=depth)
    msg = str(e.value)
    assert f'depth={depth!r}' in msg
    for valid in ('A-18', 'A-50', 'C-26', 'C-58', 'D-22', 'D-105', 'D-107'):
        assert valid in msg


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(strides=(1, 2, 2, 2)), 'strides'),
        (dict(dilations=(1, 1, 1, 1, 2, 4, 2, 0)), 'dilations'),
        (dict(dilations='12'), 'dilations'),
        (dict(out_indices=(8,)), 'out_indices'),
        (dict(out_indices=(3, 1)), 'out_indices'),
        (dict(frozen_stages=9), 'frozen_stages'),
        (dict(dilation_mode='paper'), 'dilation_mode'),
        (dict(num_levels=9), 'num_levels'),
        (dict(num_levels=0), 'num_levels'),
        (dict(num_levels=3, out_indices=(3,)), 'out_indices'),
        (dict(num_levels=3, frozen_stages=4), 'frozen_stages'),
        (dict(base_channels=0), 'base_channels'),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        meta_drn(arch='D', depth=22, **kwargs)


def test_per_level_arguments_follow_arch():
    with pytest.raises(ValueError, match=r'strides must be 4 positive ints'):
        meta_drn(arch='A', depth=18, strides=(1, 2, 2, 2, 1, 1, 1, 1))
    # a valid override: output stride 16 for DRN-D (layer5 strided, no dilation)
    m = DRN(
        arch='D',
        depth=22,
        base_channels=2,
        strides=(1, 2, 2, 2, 2, 1, 1, 1),
        dilations=(1, 1, 1, 1, 1, 2, 2, 1),
    ).eval()
    with torch.no_grad():
        (out,) = m(torch.rand(1, 3, 64, 64))
    assert out.shape[-2:] == (4, 4)


def conv_attrs(conv):
    return conv.stride[0], conv.dilation[0], conv.padding[0], conv.kernel_size[0]


def test_structure_drn_d22():
    m = meta_drn(arch='D', depth=22)
    # (stride, dilation, padding, kernel) of every conv, level by level
    assert conv_attrs(m.layer0[0]) == (1, 1, 3, 7)
    assert conv_attrs(m.layer1[0]) == (1, 1, 1, 3)
    assert conv_attrs(m.layer2[0]) == (2, 1, 1, 3)
    assert len(m.layer1) == len(m.layer2) == 3  # conv, norm, ReLU
    for name in ('layer3', 'layer4'):
        blk = getattr(m, name)[0]
        assert conv_attrs(blk.conv1) == (2, 1, 1, 3)
        assert conv_attrs(blk.conv2) == (1, 1, 1, 3)
        assert conv_attrs(blk.downsample[0]) == (2, 1, 0, 1)
    # authors' code: layer5/6 are built with new_level=False -> (d, d)
    for name, d in (('layer5', 2), ('layer6', 4)):
        for blk in getattr(m, name):
            assert conv_attrs(blk.conv1) == (1, d, d, 3)
            assert conv_attrs(blk.conv2) == (1, d, d, 3)
    assert conv_attrs(m.layer7[0]) == (1, 2, 2, 3)
    assert conv_attrs(m.layer8[0]) == (1, 1, 1, 3)
    assert m.layer5[0].downsample is not None  # 128 -> 256 channels
    assert m.layer5[1].downsample is None
    # every conv has bias=False and "same" padding
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            assert mod.bias is None
            assert mod.padding[0] == mod.dilation[0] * (mod.kernel_size[0] - 1) // 2
    assert m.level_channels == (16, 32, 64, 128, 256, 512, 512, 512)


def test_half_dilation_mode():
    """As the DRN paper (Yu, Koltun & Funkhouser, CVPR 2017) describes it: the first block of
    layer5/6 uses (d/2, d)."""
    m = meta_drn(arch='D', depth=22, dilation_mode='half')
    assert (m.layer5[0].conv1.dilation, m.layer5[0].conv2.dilation) == ((1, 1), (2, 2))
    assert (m.layer6[0].conv1.dilation, m.layer6[0].conv2.dilation) == ((2, 2), (4, 4))
    assert (m.layer5[1].conv1.dilation, m.layer6[1].conv1.dilation) == ((2, 2), (4, 4))
    assert m.layer5[0].conv1.padding == (1, 1)
    assert m.layer7[0].dilation == (2, 2)  # degridding levels are not halved
    a = meta_drn(arch='A', depth=18, dilation_mode='half')
    assert (a.layer3[0].conv1.dilation, a.layer3[0].conv2.dilation) == ((1, 1), (2, 2))
    assert (a.layer4[0].conv1.dilation, a.layer4[0].conv2.dilation) == ((2, 2), (4, 4))


def test_structure_drn_c():
    m = meta_drn(arch='C', depth=26)
    assert conv_attrs(m.conv1) == (1, 1, 3, 7)
    assert m.norm1_name == 'bn1'
    assert m.layer1[0].downsample is None and m.layer1[0].residual
    assert conv_attrs(m.layer2[0].conv1) == (2, 1, 1, 3)
    assert all(b.residual for i in range(1, 7) for b in getattr(m, f'layer{i}'))
    assert not m.layer7[0].residual and not m.layer8[0].residual
    assert conv_attrs(m.layer7[0].conv1) == (1, 2, 2, 3)
    assert conv_attrs(m.layer8[0].conv2) == (1, 1, 1, 3)
    assert conv_attrs(m.layer5[0].conv1) == (1, 2, 2, 3)
    # C-58: the projection of layer7 (2048 -> 512, no shortcut) exists in the
    # reference (and its checkpoints) but is unused: kept and frozen.
    m58 = meta_drn(arch='C', depth=58)
    assert isinstance(m58.layer3[0], drn_module.DRNBottleneck)
    assert isinstance(m58.layer7[0], drn_module.DRNBasicBlock)
    assert m58.layer7[0].conv1.in_channels == 2048
    assert not any(p.requires_grad for p in m58.layer7[0].downsample.parameters())
    assert m58.level_channels == (16, 32, 256, 512, 1024, 2048, 512, 512)


def test_structure_bottleneck_d54():
    m = meta_drn(arch='D', depth=54)
    blk = m.layer3[0]
    assert conv_attrs(blk.conv1) == (1, 1, 0, 1)
    assert conv_attrs(blk.conv2) == (2, 1, 1, 3)
    assert conv_attrs(blk.conv3) == (1, 1, 0, 1)
    assert conv_attrs(m.layer5[0].conv2) == (1, 2, 2, 3)
    assert conv_attrs(m.layer6[2].conv2) == (1, 4, 4, 3)
    assert m.layer7[0].in_channels == 2048
    assert conv_attrs(m.layer7[0]) == (1, 2, 2, 3)


def test_structure_drn_a():
    m = meta_drn(arch='A', depth=18)
    assert conv_attrs(m.conv1) == (2, 1, 3, 7)
    assert (m.maxpool.kernel_size, m.maxpool.stride, m.maxpool.padding) == (3, 2, 1)
    assert conv_attrs(m.layer2[0].conv1) == (2, 1, 1, 3)
    # authors' DRN_A: first block of layer3/4 undilated, the others 2 / 4
    assert conv_attrs(m.layer3[0].conv1) == (1, 1, 1, 3)
    assert conv_attrs(m.layer3[1].conv2) == (1, 2, 2, 3)
    assert conv_attrs(m.layer4[0].conv2) == (1, 1, 1, 3)
    assert conv_attrs(m.layer4[1].conv1) == (1, 4, 4, 3)
    m50 = meta_drn(arch='A', depth=50)
    assert conv_attrs(m50.layer4[2].conv2) == (1, 4, 4, 3)
    assert m50.level_channels == (256, 512, 1024, 2048)


@pytest.mark.parametrize('arch,depth', VARIANTS)
@pytest.mark.parametrize('size,expected', [(33, 5), (65, 9), (32, 4)])
def test_output_stride_8_any_size(arch, depth, size, expected):
    m = DRN(arch=arch, depth=depth, base_channels=2 if arch != 'A' else 4).eval()
    with torch.no_grad():
        (out,) = m(torch.rand(1, 3, size, size))
    assert out.shape == (1, m.out_channels[0], expected, expected)


def test_out_indices_levels_and_channels():
    m = DRN(arch='D', depth=22, base_channels=4, out_indices=tuple(range(8))).eval()
    with torch.no_grad():
        outs = m(torch.rand(1, 3, 33, 33))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (4, 33, 33),
        (8, 17, 17),
        (16, 9, 9),
        (32, 5, 5),
        (64, 5, 5),
        (128, 5, 5),
        (128, 5, 5),
        (128, 5, 5),
    ]
    assert m.out_channels == tuple(o.shape[1] for o in outs)

    m = DRN(arch='D', depth=22, out_indices=(1, 3, 7)).eval()  # docstring example
    with torch.no_grad():
        outs = m(torch.rand(1, 3, 33, 33))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 17, 17), (1, 128, 5, 5), (1, 512, 5, 5)]
    assert m.out_channels == (32, 128, 512)

    a = DRN(arch='A', depth=50, base_channels=4, out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = a(torch.rand(1, 3, 33, 33))
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 9, 9), (32, 5, 5), (64, 5, 5), (128, 5, 5)]
    assert a.out_channels == (16, 32, 64, 128)
    assert DRN(arch='C', depth=26, base_channels=2).out_indices == (7,)


@pytest.mark.parametrize('arch,depth,num_levels', [('D', 22, 3), ('C', 26, 5), ('A', 18, 2)])
def test_num_levels_builds_a_prefix_of_the_full_network(arch, depth, num_levels):
    full = DRN(arch=arch, depth=depth, base_channels=4, out_indices=(num_levels - 1,)).eval()
    short = DRN(arch=arch, depth=depth, base_channels=4, num_levels=num_levels).eval()
    # Exactly the stem and layer1..layer{num_levels} of the full network, same shapes.
    kept = {f'layer{i}.' for i in range(num_levels + 1)} | {'conv1.', 'bn1.'}
    expected = {
        k: v.shape for k, v in full.state_dict().items() if any(k.startswith(p) for p in kept)
    }
    assert {k: v.shape for k, v in short.state_dict().items()} == expected
    assert len(expected) < len(full.state_dict())
    assert short.out_indices == (num_levels - 1,)
    assert short.out_channels == (full.level_channels[num_levels - 1],)
    # With the full network's weights it returns that level's output.
    short.load_state_dict(full.state_dict(), strict=False)
    x = torch.rand(1, 3, 37, 37)
    with torch.no_grad():
        torch.testing.assert_close(short(x)[0], full(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    'arch,depth,stem',
    [('D', 22, ['layer0']), ('C', 26, ['conv1', 'bn1']), ('A', 18, ['conv1', 'bn1'])],
)
def test_frozen_stages(arch, depth, stem):
    m = DRN(arch=arch, depth=depth, base_channels=4, frozen_stages=2)
    m.train()
    frozen = stem + ['layer1', 'layer2']
    for name, mod in m.named_children():
        params = list(mod.parameters())
        if name in frozen:
            assert all(not p.requires_grad for p in params), name
            assert all(not x.training for x in mod.modules()), name
        elif params:
            assert all(p.requires_grad for p in params), name
            assert mod.training, name
    # -1 freezes nothing, 0 the stem only
    assert all(p.requires_grad for p in DRN(arch=arch, depth=depth, base_channels=4).parameters())
    m0 = DRN(arch=arch, depth=depth, base_channels=4, frozen_stages=0)
    assert all(not p.requires_grad for n in stem for p in getattr(m0, n).parameters())
    assert all(p.requires_grad for p in m0.layer1.parameters())


def test_norm_eval_keeps_bn_statistics():
    m = DRN(arch='C', depth=26, base_channels=4, norm_eval=True)
    m.init_weights()
    m.train()
    bns = [x for x in m.modules() if isinstance(x, _BatchNorm)]
    assert bns and all(not bn.training for bn in bns)
    before = copy.deepcopy(m.state_dict())
    m(torch.rand(2, 3, 33, 33))
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # without norm_eval the statistics move
    m = DRN(arch='C', depth=26, base_channels=4).train()
    before = m.layer3[0].bn1.running_mean.clone()
    m(torch.rand(2, 3, 33, 33))
    assert not torch.equal(before, m.layer3[0].bn1.running_mean)


@pytest.mark.parametrize('arch,depth', [('D', 54), ('C', 26), ('A', 18)])
def test_group_norm(arch, depth):
    m = DRN(
        arch=arch,
        depth=depth,
        base_channels=8,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
    )
    assert not any(isinstance(x, _BatchNorm) for x in m.modules())
    assert any(isinstance(x, nn.GroupNorm) for x in m.modules())
    m.init_weights()
    (out,) = m(torch.rand(1, 3, 33, 33))
    assert out.shape == (1, m.out_channels[0], 5, 5)


def test_sync_bn_builds_and_reverts():
    m = DRN(arch='D', depth=22, base_channels=4, norm_cfg=dict(type='SyncBN', requires_grad=True))
    syncs = [x for x in m.modules() if isinstance(x, nn.SyncBatchNorm)]
    # layer0, layer1, layer2, 2 norms x 2 blocks x 4 levels, 4 projections, layer7, layer8
    assert len(syncs) == 1 + 1 + 1 + 2 * 2 * 4 + 4 + 1 + 1
    m = revert_sync_batchnorm(m).eval()
    assert not any(isinstance(x, nn.SyncBatchNorm) for x in m.modules())
    with torch.no_grad():
        (out,) = m(torch.rand(1, 3, 33, 33))
    assert out.shape == (1, 128, 5, 5)


@pytest.mark.parametrize('arch,depth', [('D', 22), ('C', 58), ('A', 18)])
def test_with_cp_same_outputs_and_gradients(arch, depth, monkeypatch):
    torch.manual_seed(0)
    ref = DRN(arch=arch, depth=depth, base_channels=4, out_indices=None)
    ref.init_weights()
    cp_model = DRN(arch=arch, depth=depth, base_channels=4, with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    ref.eval()
    cp_model.eval()  # deterministic BN; the recomputation would otherwise update stats twice

    calls = []
    real_checkpoint = common.cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real_checkpoint(*args, **kwargs)

    monkeypatch.setattr(common.cp, 'checkpoint', counting_checkpoint)
    x = torch.rand(2, 3, 33, 33)
    results = []
    for model in (ref, cp_model):
        inp = x.clone().requires_grad_(True)
        (out,) = model(inp)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append(
            (
                out.detach(),
                inp.grad,
                {n: p.grad for n, p in model.named_parameters() if p.requires_grad},
            )
        )
        if model is ref:
            assert not calls
    # one checkpoint per residual block / conv unit (the stem is not checkpointed)
    assert len(calls) == sum(ref.stage_blocks) and set(calls) == {False}
    (o1, g1, p1), (o2, g2, p2) = results
    torch.testing.assert_close(o2, o1, rtol=0, atol=1e-6)
    torch.testing.assert_close(g2, g1, rtol=1e-5, atol=1e-7)
    assert p1.keys() == p2.keys()
    for n in p1:
        assert p1[n] is not None, n
        torch.testing.assert_close(p2[n], p1[n], rtol=1e-5, atol=1e-7, msg=n)


def test_default_init_matches_reference():
    m = DRN(arch='D', depth=22)
    m.init_weights()
    w = m.layer6[1].conv1.weight  # 512 x 512 x 3 x 3
    std = math.sqrt(2.0 / (3 * 3 * 512))
    assert abs(w.std().item() - std) < 0.02 * std
    assert abs(w.mean().item()) < 1e-3
    for mod in m.modules():
        if isinstance(mod, _BatchNorm):
            assert torch.all(mod.weight == 1) and torch.all(mod.bias == 0)


def test_registry_and_pretrained_alias(tmp_path):
    m = MODELS.build(dict(type='DRN', arch='C', depth=26, base_channels=2))
    assert isinstance(m, DRN)
    with pytest.warns(UserWarning, match='deprecated'):
        m = DRN(arch='D', depth=22, base_channels=2, pretrained='x.pth')
    assert m.init_cfg == dict(type='Pretrained', checkpoint='x.pth')
    with pytest.raises(ValueError, match='init_cfg and pretrained'):
        DRN(pretrained='x.pth', init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(TypeError):
        DRN(pretrained=1)


@pytest.mark.parametrize(
    'arch,depth,gmacs', [('D', 22, 68.2), ('D', 38, 110.5), ('C', 26, 88.8), ('D', 105, 226.9)]
)
def test_cost_matches_reference_measurement(arch, depth, gmacs):
    """GMACs of the authors' drn.py backbones (fyu/drn) at 512x512. Counted here on the meta
    device: conv and norm MACs; the reference counter also counts the ReLUs / additions, hence up
    to 0.5% more."""
    counted = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            counted.append(out.numel() * mod.in_channels // mod.groups * math.prod(mod.kernel_size))
        else:
            counted.append(out.numel())

    with torch.device('meta'):
        m = DRN(arch=arch, depth=depth).eval()
        for mod in m.modules():
            if isinstance(mod, (nn.Conv2d, _BatchNorm)):
                mod.register_forward_hook(hook)
        (out,) = m(torch.empty(1, 3, 512, 512))
    assert out.shape == (1, m.out_channels[0], 64, 64)
    assert 0.995 * gmacs <= sum(counted) / 1e9 <= gmacs


def _block_rates(level):
    """Dilations of every 3x3 conv of a built level, in forward order."""
    return [
        m.dilation[0] for m in level.modules() if isinstance(m, nn.Conv2d) and m.kernel_size[0] == 3
    ]


def test_block_dilations_hdc_schedule():
    # Wang et al.'s example: layer5's six blocks cycle (1, 2, 5), layer6's three get 5, 9, 17;
    # each basic block takes its rate for both of its 3x3 convs.
    m = DRN(arch='D', depth=38, block_dilations={5: (1, 2, 5), 6: (5, 9, 17)})
    assert _block_rates(m.layer5) == [1, 1, 2, 2, 5, 5, 1, 1, 2, 2, 5, 5]
    assert _block_rates(m.layer6) == [5, 5, 9, 9, 17, 17]
    assert _block_rates(m.layer7) == [2] and _block_rates(m.layer4) == [1] * 8
    for conv in m.layer6.modules():
        if isinstance(conv, nn.Conv2d) and conv.kernel_size[0] == 3:
            assert conv.padding == conv.dilation  # 'same' padding: the output side is unchanged
    assert m.block_dilations == {5: (1, 2, 5, 1, 2, 5), 6: (5, 9, 17)}
    # rates are not weights: the authors' parameter count and state-dict keys stay
    assert sum(p.numel() for p in m.parameters()) == REFERENCE_PARAMS[('D', 38)]
    default = DRN(arch='D', depth=38)
    assert m.state_dict().keys() == default.state_dict().keys()
    x = torch.rand(1, 3, 33, 33)
    assert m.eval()(x)[0].shape == default.eval()(x)[0].shape == (1, 512, 5, 5)


def test_block_dilations_of_the_default_schedule_are_bit_exact():
    # DRN-D's reference layer5/6 are (2, 2) and (4, 4) in every block: the same rates as
    # per-block cycles give the same network, weight for weight, output for output.
    torch.manual_seed(0)
    default = DRN(arch='D', depth=22, base_channels=4).eval()
    explicit = DRN(
        arch='D', depth=22, base_channels=4, block_dilations={5: (2,), 6: (4, 4), 7: (2,)}
    ).eval()
    explicit.load_state_dict(default.state_dict())
    x = torch.rand(2, 3, 40, 40)
    assert torch.equal(default(x)[0], explicit(x)[0])
    # and another schedule changes the output
    hdc = DRN(arch='D', depth=22, base_channels=4, block_dilations={5: (1, 2)}).eval()
    hdc.load_state_dict(default.state_dict())
    assert not torch.allclose(default(x)[0], hdc(x)[0])


@pytest.mark.parametrize(
    'arch, depth, level, rates, convs',
    [
        ('D', 40, 7, (1, 2), [1, 2]),  # a conv-norm-ReLU level: one rate per conv
        ('D', 54, 6, (1, 2, 5), [1, 2, 5]),  # bottlenecks: the one 3x3 of each block
        ('A', 18, 4, (1, 3), [1, 1, 3, 3]),  # DRN-A: the reference leaves layer4's first block at 1
        ('C', 26, 8, (3,), [3, 3]),  # DRN-C's degridding basic block without shortcut
    ],
)
def test_block_dilations_every_level_kind(arch, depth, level, rates, convs):
    m = DRN(arch=arch, depth=depth, block_dilations={level: rates})
    assert _block_rates(getattr(m, f'layer{level}')) == convs


def test_block_dilations_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r'block_dilations\[5\] must give 6 rates .*'
        r'valid lengths: \(1, 2, 3, 6\)\); got 4: \(1, 2, 5, 9\)',
    ):
        DRN(arch='D', depth=38, block_dilations={5: (1, 2, 5, 9)})
    with pytest.raises(ValueError, match=r'unknown level 9; valid levels are 1..8'):
        DRN(arch='D', depth=38, block_dilations={9: (1,)})
    # a level that num_levels does not build is unknown too
    with pytest.raises(ValueError, match=r'unknown level 5; valid levels are 1..3'):
        DRN(arch='D', depth=22, num_levels=3, block_dilations={5: (1, 2)})
    with pytest.raises(
        ValueError,
        match=r'block_dilations\[5\] must be .*positive ints.*'
        r'\(1, 0, 2\)',
    ):
        DRN(arch='D', depth=38, block_dilations={5: (1, 0, 2)})
    with pytest.raises(ValueError, match=r'block_dilations must be a dict'):
        DRN(arch='D', depth=38, block_dilations=[1, 2, 5])
    # keys given as strings (e.g. by --cfg-options) are level numbers as well
    assert DRN(arch='D', depth=38, block_dilations={'5': [1, 2]}).block_dilations == {
        5: (1, 2, 1, 2, 1, 2)
    }
