"""Leaf helpers that import nothing else of this package: the safe checkpoint unpickler, the
``mmseg_dilated::`` config scope, the user-facing error base class and the label-range rule."""

from .checkpoint import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    mmengine_safe_globals,
    safe_load,
)
from .config_scope import (
    CONFIG_SCOPE,
    as_config,
    configs_root,
    list_configs,
    load_config,
    resolve_config_path,
)
from .errors import UserError

__all__ = [
    'UserError',
    'CorruptCheckpointError',
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
