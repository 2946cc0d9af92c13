from .cpu_ddp import CPUDistributedDataParallel
from .resumable_checkpoint_hook import ResumableCheckpointHook

__all__ = ['CPUDistributedDataParallel', 'ResumableCheckpointHook']
