"""The shipped configs, and the ``mmseg_dilated::`` config scope.

A wheel ships the configs inside the package, under ``mmseg_dilated/.mim/configs`` (``setup.py``
copies the repository's ``configs/`` there), as mmseg ships its own under ``mmseg/.mim/configs``. An
editable install or a checkout reads the repository's ``configs/`` directly.

A user's config inherits ours by package scope, as it inherits mmseg's with ``mmseg::``::

    _base_ = ['mmseg_dilated::aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py']

mmengine 0.10.7 resolves ``pkg::path`` only for the packages of its own ``MODULE2PACKAGE`` table,
and it resolves ``_base_`` before it runs the config's ``custom_imports``, so ``import
mmseg_dilated`` (which every tool of ours does before it reads a config) teaches mmengine's
``Config`` the scope (:mod:`mmseg_dilated.host_patches`, "config_scope"). The configs behind the
scope are written for
mmseg's registries (``default_scope = 'mmseg'``; every component of this package is registered into
mmseg's), so their model and dataset dicts take mmseg's scope, as those of an ``mmseg::`` base do.
"""

import copy
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import Config

__all__ = [
    'CONFIG_SCOPE',
    'configs_root',
    'list_configs',
    'resolve_config_path',
    'resolve_module_scope',
    'load_config',
    'as_config',
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


def resolve_module_scope(cfg_path: str) -> Optional[str]:
    """``pkg::REL`` found among the configs of the importable module ``pkg``; None when ``pkg``
    is not an importable module.

    For a host whose mmengine looks the package of a scope up by OpenMMLab's distribution name:
    onedl-mmengine 0.10.12 maps ``mmseg`` to the distribution ``mmsegmentation`` and refuses
    ``mmseg::`` with ``ModuleNotFoundError: mmsegmentation is not installed`` when the module
    ``mmseg`` comes from ``onedl-mmsegmentation``. Both distributions ship their configs in the
    module's folder (``mmseg/.mim/configs``), so the file is looked up there with mmengine's own
    helpers, as mmengine does once it has the folder (the metafile first, then the path itself).
    """
    import importlib.util

    from mmengine.config.utils import _get_external_cfg_base_path, _get_external_cfg_path

    scope, sep, rel = cfg_path.partition('::')
    if not sep or not scope.isidentifier():
        return None
    spec = importlib.util.find_spec(scope)
    if spec is None or spec.origin is None:
        return None
    package_path = osp.dirname(spec.origin)
    try:
        return _get_external_cfg_path(package_path, rel)
    except ValueError:  # not in the metafile: a _base_ file
        return _get_external_cfg_base_path(package_path, rel)


def load_config(path: str, options: Sequence[str] = ()) -> Config:
    """``Config.fromfile`` plus ``--cfg-options`` given as raw ``key=value`` strings.

    ``path`` may name a shipped config by scope, ``mmseg_dilated::context_toy.py``
    (:func:`resolve_config_path`).
    """
    import argparse

    from mmengine.config import DictAction

    path = resolve_config_path(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config {path} does not exist. A shipped config is named mmseg_dilated::REL_PATH '
            '(`mmseg-dilated configs` lists them).'
        )
    cfg = Config.fromfile(path)
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
    return cfg


def as_config(config, cfg_options: Optional[dict] = None) -> Config:
    """A copy of ``config`` (a path, a ``mmseg_dilated::`` name or a Config) with ``cfg_options``
    merged in; the caller's Config is never modified."""
    if isinstance(config, (str, os.PathLike)):
        cfg = load_config(os.fspath(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(
            f'config must be a config file path or an mmengine Config, got {type(config).__name__}'
        )
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
