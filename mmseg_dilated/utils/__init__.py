from .checkpoint import UnsafeCheckpointError, mmengine_safe_globals, safe_load
from .configs import (
    CONFIG_SCOPE,
    configs_root,
    list_configs,
    register_config_scope,
    resolve_config_path,
)
from .launch import (
    DatasetNotPreparedError,
    check_amp_available,
    check_dataset_paths,
    check_pretrained_paths,
    cpu_distributed_options,
    load_config,
    mmseg_tool,
    run_mmseg_tool,
    shutdown_distributed,
)

register_config_scope()

__all__ = [
    'UnsafeCheckpointError',
    'mmengine_safe_globals',
    'safe_load',
    'CONFIG_SCOPE',
    'configs_root',
    'list_configs',
    'register_config_scope',
    'resolve_config_path',
    'DatasetNotPreparedError',
    'check_amp_available',
    'check_dataset_paths',
    'check_pretrained_paths',
    'cpu_distributed_options',
    'load_config',
    'mmseg_tool',
    'run_mmseg_tool',
    'shutdown_distributed',
]
