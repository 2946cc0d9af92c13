"""mmseg-dilated: dilated convolution models for MMSegmentation.

``import mmseg_dilated`` registers every component into mmseg's registries
(``mmseg.registry.MODELS``, ``DATASETS``, ``METRICS``, ``HOOKS``, ``MODEL_WRAPPERS``), makes
checkpoints saved by mmengine's Runner load on torch's weights-only unpickler, makes mmseg's
datasets name the files of broken samples, and teaches mmengine's Config the ``mmseg_dilated::``
scope.
"""

from . import (  # noqa: F401
    datasets,
    engine,
    evaluation,
    models,
    utils,  # noqa: F401  (safe checkpoint loading first)
)
from .version import __version__

__all__ = ['__version__']
