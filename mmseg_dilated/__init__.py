"""mmseg-dilated: dilated convolution models for MMSegmentation.

``import mmseg_dilated`` registers every component into mmseg's registries
(``mmseg.registry.MODELS``, ``DATASETS``, ``METRICS``) and makes checkpoints
saved by mmengine's Runner load on torch's weights-only unpickler.
"""
from .version import __version__
from . import utils  # noqa: F401  (safe checkpoint loading first)
from . import datasets, evaluation, models  # noqa: F401

__all__ = ['__version__']
