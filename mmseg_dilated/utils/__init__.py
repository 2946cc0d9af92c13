from .checkpoint import UnsafeCheckpointError, mmengine_safe_globals, safe_load
from .launch import (DatasetNotPreparedError, check_amp_available, check_dataset_paths,
                     check_pretrained_paths, cpu_distributed_options, load_config, mmseg_tool,
                     shutdown_distributed)

__all__ = [
    'UnsafeCheckpointError', 'mmengine_safe_globals', 'safe_load', 'DatasetNotPreparedError',
    'check_amp_available', 'check_dataset_paths', 'check_pretrained_paths',
    'cpu_distributed_options', 'load_config', 'mmseg_tool', 'shutdown_distributed'
]
