"""Converters of published weights to this package's module keys: the DRN authors' ImageNet and
Cityscapes checkpoints (fyu/drn) and torchvision's VGG-16. The command lines over them are
``mmseg-dilated drn2mmseg`` and ``mmseg-dilated vgg2mmseg``."""

from .drn import DRNCheckpointError, convert_drn, convert_drn_checkpoint, inspect_drn_state_dict
from .vgg import VGGCheckpointError, convert_vgg, convert_vgg_checkpoint

__all__ = [
    'DRNCheckpointError',
    'inspect_drn_state_dict',
    'convert_drn',
    'convert_drn_checkpoint',
    'VGGCheckpointError',
    'convert_vgg',
    'convert_vgg_checkpoint',
]
