"""The model families every deployment test covers: DRN-A, C and D, DilatedVGG, the three heads
(ContextHead basic and large, ParallelContextHead, DilatedASPPHead) and our heads on mmseg's
ResNetV1c, each a small variant of the tiny test config, with weights whose BN layers carry random
statistics (so folding BN is exercised)."""

import copy

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from _helpers import TINY_CONFIG

BN = dict(type='BN', requires_grad=True)
R18_D8 = dict(
    type='ResNetV1c',
    depth=18,
    num_stages=4,
    out_indices=(3,),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=BN,
    contract_dilation=True,
)
# the shipped r50-d8 configs' backbone (Bottleneck blocks) at an eighth of the width
R50_D8 = dict(R18_D8, depth=50, stem_channels=8, base_channels=8)
HEAD = dict(
    in_index=0,
    num_classes=4,
    norm_cfg=BN,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss'),
)
MODELS_TO_EXPORT = {
    'drn-d-22 (3 levels) + context large': {},
    'drn-c-26 + context basic': dict(
        backbone=dict(arch='C', depth=26, base_channels=2, num_levels=None, out_indices=(7,)),
        decode_head=dict(in_channels=64, module_type='basic'),
    ),
    'drn-a-50 (bottleneck) + context large': dict(
        backbone=dict(arch='A', depth=50, base_channels=4, num_levels=None, out_indices=(3,)),
        decode_head=dict(in_channels=128),
    ),
    'drn-a-18 + aspp': dict(
        backbone=dict(arch='A', depth=18, base_channels=8, num_levels=None, out_indices=(3,)),
        decode_head=dict(
            _delete_=True, type='DilatedASPPHead', in_channels=64, channels=16, **HEAD
        ),
    ),
    'drn-d-38 + parallel context': dict(
        backbone=dict(depth=38, base_channels=2, num_levels=None, out_indices=(7,)),
        decode_head=dict(
            _delete_=True, type='ParallelContextHead', in_channels=64, channels=16, **HEAD
        ),
    ),
    'dilated vgg-16 + context large': dict(
        backbone=dict(_delete_=True, type='DilatedVGG', fc_channels=32, dropout_ratio=0.0),
        decode_head=dict(in_channels=32),
    ),
    'resnetv1c-18-d8 + context large': dict(
        backbone=dict(_delete_=True, **R18_D8), decode_head=dict(in_channels=512)
    ),
    'resnetv1c-18-d8 + aspp (separable)': dict(
        backbone=dict(_delete_=True, **R18_D8),
        decode_head=dict(
            _delete_=True,
            type='DilatedASPPHead',
            in_channels=512,
            channels=16,
            separable=True,
            **HEAD,
        ),
    ),
    'resnetv1c-50-d8 (bottleneck) + aspp': dict(
        backbone=dict(_delete_=True, **R50_D8),
        decode_head=dict(
            _delete_=True, type='DilatedASPPHead', in_channels=256, channels=16, **HEAD
        ),
    ),
}


def model_config(overrides):
    """The tiny config with ``overrides`` merged into its model.

    ``overrides`` is copied first: mmengine's merge pops ``_delete_`` from the dict it is given, so
    merging a table entry itself would change it for every later test that uses it.
    """
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(model=copy.deepcopy(overrides)))
    return cfg


def random_bn_checkpoint(cfg, path):
    """Weights whose BN layers have random statistics and affine parameters (seeded: the same
    weights every run)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    from mmseg_dilated.datasets import ContextShapesDataset

    meta = dict(dataset_meta=ContextShapesDataset.METAINFO)  # what mmseg's init_model reads
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


# pspnet_drn-d-38 (mmseg's PSPHead): exports only where the features divide by its pool scales
PSP = dict(
    backbone=dict(depth=38, base_channels=2, num_levels=None, out_indices=(7,)),
    decode_head=dict(
        _delete_=True, type='PSPHead', in_channels=64, channels=16, pool_scales=(1, 2, 3, 6), **HEAD
    ),
)
