"""Leaf helpers that import nothing else of this package: the safe checkpoint unpickler and the
``mmseg_dilated::`` config scope."""

from .checkpoint import UnsafeCheckpointError, mmengine_safe_globals, safe_load
from .config_scope import (
    CONFIG_SCOPE,
    as_config,
    configs_root,
    list_configs,
    load_config,
    resolve_config_path,
)

__all__ = [
    'UnsafeCheckpointError',
    'mmengine_safe_globals',
    'safe_load',
    'CONFIG_SCOPE',
    'as_config',
    'configs_root',
    'list_configs',
    'load_config',
    'resolve_config_path',
]
