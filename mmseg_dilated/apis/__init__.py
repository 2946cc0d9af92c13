"""What the commands do before and around mmengine's Runner: the pre-flight checks of a run
(:mod:`.launch`, :mod:`.num_classes`, :mod:`.config_check`), a recipe on another number of GPUs
(:mod:`.gpus`) and the one way to build a config's model for analysis and
export (:mod:`.model_builder`)."""

from .config_check import ConfigCheckError, check_config
from .gpus import GpuPlanError, plan_gpus
from .launch import (
    DatasetNotPreparedError,
    check_amp_available,
    check_dataset_paths,
    check_pretrained_paths,
    cpu_distributed_options,
    mmseg_tool,
    run_mmseg_tool,
    shutdown_distributed,
)
from .model_builder import WITH_CP_PARTS, build_segmentor

__all__ = [
    'ConfigCheckError',
    'check_config',
    'GpuPlanError',
    'plan_gpus',
    'DatasetNotPreparedError',
    'check_amp_available',
    'check_dataset_paths',
    'check_pretrained_paths',
    'cpu_distributed_options',
    'mmseg_tool',
    'run_mmseg_tool',
    'shutdown_distributed',
    'WITH_CP_PARTS',
    'build_segmentor',
]
