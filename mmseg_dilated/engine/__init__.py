from .checkpoint_key_map_hook import CheckpointKeyMapHook
from .cpu_ddp import CPUDistributedDataParallel
from .freeze_modules_hook import FreezeModulesHook
from .resumable_checkpoint_hook import ResumableCheckpointHook

__all__ = [
    'CPUDistributedDataParallel',
    'ResumableCheckpointHook',
    'CheckpointKeyMapHook',
    'FreezeModulesHook',
]
