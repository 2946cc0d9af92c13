"""The shipped configs, and the ``mmseg_dilated::`` config scope.

A wheel ships the configs inside the package, under ``mmseg_dilated/.mim/configs`` (``setup.py``
copies the repository's ``configs/`` there), as mmseg ships its own under ``mmseg/.mim/configs``. An
editable install or a checkout reads the repository's ``configs/`` directly.

A user's config inherits ours by package scope, as it inherits mmseg's with ``mmseg::``::

    _base_ = ['mmseg_dilated::aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py']

mmengine 0.10.7 resolves ``pkg::path`` only for the packages of its own ``MODULE2PACKAGE`` table,
and it resolves ``_base_`` before it runs the config's ``custom_imports``, so ``import
mmseg_dilated`` (which every tool of ours does before it reads a config) teaches mmengine's
``Config`` the scope: :func:`register_config_scope`. The configs behind the scope are written for
mmseg's registries (``default_scope = 'mmseg'``; every component of this package is registered into
mmseg's), so their model and dataset dicts take mmseg's scope, as those of an ``mmseg::`` base do.
"""

import os
import os.path as osp
from typing import List

from mmengine.config import Config
from mmengine.config import utils as config_utils

__all__ = [
    'CONFIG_SCOPE',
    'configs_root',
    'list_configs',
    'resolve_config_path',
    'register_config_scope',
]

CONFIG_SCOPE = 'mmseg_dilated'
_PREFIX = CONFIG_SCOPE + '::'
_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def configs_root() -> str:
    """The folder of the shipped configs: the wheel's ``mmseg_dilated/.mim/configs``, or in an
    editable install or a checkout, the repository's ``configs/``."""
    shipped = osp.join(_PACKAGE_DIR, '.mim', 'configs')
    if osp.isdir(shipped):
        return shipped
    checkout = osp.join(osp.dirname(_PACKAGE_DIR), 'configs')
    if osp.isdir(osp.join(checkout, '_base_')):
        return checkout
    raise FileNotFoundError(
        f"mmseg-dilated's configs are neither at {shipped} nor at {checkout}: the package was "
        'installed without them. Reinstall it from its wheel or source (pip install .), which '
        'ships them under mmseg_dilated/.mim/configs.'
    )


def list_configs(include_bases: bool = False) -> List[str]:
    """Relative paths of the shipped configs (``mmseg_dilated::PATH`` names each), sorted.

    Args:
        include_bases (bool): Also list the ``_base_`` model and dataset fragments. Default: False.
    """
    root = configs_root()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__' and (include_bases or d != '_base_'))
        rel_dir = osp.relpath(folder, root)
        found += [osp.normpath(osp.join(rel_dir, f)) for f in files if f.endswith('.py')]
    return sorted(found)


def resolve_config_path(path: str) -> str:
    """``mmseg_dilated::REL`` -> the shipped config's file path; any other path is returned as is.

    Raises:
        FileNotFoundError: The scope names a config that is not shipped.
    """
    if not path.startswith(_PREFIX):
        return path
    rel = path[len(_PREFIX) :]
    full = osp.join(configs_root(), rel)
    if not osp.isfile(full):
        raise FileNotFoundError(
            f'{path}: mmseg-dilated ships no config {rel!r} (under {configs_root()}). '
            '`mmseg-dilated configs` lists the shipped ones.'
        )
    return full


def register_config_scope() -> None:
    """Make mmengine's ``Config`` resolve ``mmseg_dilated::`` in ``_base_`` (idempotent)."""
    original = Config._get_cfg_path
    if getattr(original, '_mmseg_dilated_scope', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        if cfg_path.startswith(_PREFIX):
            return resolve_config_path(cfg_path), 'mmseg'
        return original(cfg_path, filename)

    _get_cfg_path._mmseg_dilated_scope = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)
    # mmengine's other `pkg::` readers (mmengine.get_config, get_model) look the package up here;
    # for a wheel install they then find the configs under mmseg_dilated/.mim/configs.
    config_utils.MODULE2PACKAGE.setdefault(CONFIG_SCOPE, 'mmseg-dilated')
