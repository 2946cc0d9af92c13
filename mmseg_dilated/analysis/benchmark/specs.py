"""The benchmarked models: shipped configs by name, and mmseg's DeepLabV3 R-50-D8 as the
reference."""

import os.path as osp
from typing import Optional

import torch

__all__ = [
    'REFERENCE',
    'MODEL_SPECS',
    'DEFAULT_MODELS',
    'TARGET_MODELS',
    'reference_config_file',
    'config_of',
    'model_label',
    'build_model',
]

REFERENCE = 'deeplabv3-r50-d8'
# name -> (label, the shipped config whose model it is, as mmseg_dilated::NAME names it). The
# reference is mmseg's own config (reference_config_file).
MODEL_SPECS = {
    'drn-c-26-context': (
        'DRN-C-26 + basic context (19 cl.)',
        'context/context-basic_drn-c-26_8xb4-23k_cityscapes-896x896.py',
    ),
    'drn-d-22-context': ('DRN-D-22 + large context (21 cl.)', 'context_voc.py'),
    'drn-d-38-context': (
        'DRN-D-38 + basic context (19 cl.)',
        'context/context-basic_drn-d-38_8xb4-23k_cityscapes-896x896.py',
    ),
    'drn-d-105-context': (
        'DRN-D-105 + basic context (19 cl.)',
        'context/context-basic_drn-d-105_8xb2-92k_cityscapes-840x840.py',
    ),
    'drn-d-38-aspp': ('DRN-D-38 + ASPP (19 cl.)', 'aspp_cityscapes.py'),
    # The paper's model: the VOC release's unpadded context layers on score maps padded once.
    'vgg-context': (
        'Dilated VGG-16 + large context (21 cl.)',
        'context/context-large_dilated-vgg16_2xb7-60k_voc12aug-512x512.py',
    ),
    # MultiScaleEncoderDecoder on drn-d-22-context: scales 0.5, 0.75, 1.0, attention fusion. Its
    # cost against one scale: --models drn-d-22-context drn-d-22-context-ms --paths eager.
    'drn-d-22-context-ms': (
        'DRN-D-22 + large context, 3 scales + attention (21 cl.)',
        'multiscale/context-large_drn-d-22_4xb4-ms-attn-40k_voc12aug-512x512.py',
    ),
    REFERENCE: ('DeepLabV3 R-50-D8 (mmseg, 19 cl.)', None),
}
# What a run without --models benchmarks: every named model but the multi-scale variant, which is
# compared with its single-scale model on request.
DEFAULT_MODELS = tuple(name for name in MODEL_SPECS if name != 'drn-d-22-context-ms')
# The models the speed targets judge and the scaling study measures by default: one context
# model and one ASPP model, both on DRN.
TARGET_MODELS = ('drn-d-22-context', 'drn-d-38-aspp')


def reference_config_file() -> str:
    """mmseg's DeepLabV3 R-50-D8 model config, in the installed package."""
    import mmseg

    return osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models', 'deeplabv3_r50-d8.py'
    )


def config_of(spec: str) -> str:
    """The config file of a named model (:data:`MODEL_SPECS`) or a config path."""
    if spec == REFERENCE:
        return reference_config_file()
    if spec in MODEL_SPECS:
        from mmseg_dilated.utils.config_scope import configs_root

        return osp.join(configs_root(), MODEL_SPECS[spec][1])
    if osp.isfile(spec):
        return spec
    raise ValueError(
        f'unknown model {spec!r}: give one of {", ".join(MODEL_SPECS)} or a config file path'
    )


def model_label(spec: str) -> str:
    return MODEL_SPECS[spec][0] if spec in MODEL_SPECS else osp.splitext(osp.basename(spec))[0]


def build_model(spec: str, with_cp: Optional[bool] = None) -> torch.nn.Module:
    """A named model or a config's model: random weights (seed 0), plain BN, eval mode."""
    import logging

    from mmengine.logging import MMLogger

    from mmseg_dilated.apis.model_builder import build_segmentor

    if not MMLogger.check_instance_created('benchmark'):
        MMLogger.get_instance('benchmark', log_level=logging.WARNING)
    torch.manual_seed(0)
    return build_segmentor(config_of(spec), with_cp=with_cp)
