"""mmseg-dilated: dilated convolution models for MMSegmentation.

``import mmseg_dilated`` registers every component into mmseg's registries
(``mmseg.registry.MODELS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``, ``HOOKS``,
``MODEL_WRAPPERS``) and installs the few changes to mmengine and mmseg that this package needs,
all of them listed in :mod:`mmseg_dilated.host_patches`: checkpoints load on torch's weights-only
unpickler, mmengine's Config knows the ``mmseg_dilated::`` scope, and mmseg's datasets name the
files of broken samples.
"""

from . import host_patches

host_patches.install()  # before any checkpoint or config is read

from . import datasets, deploy, engine, evaluation, models  # noqa: E402,F401  (registration)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
