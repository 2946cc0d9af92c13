from .checkpoint_key_map_hook import CheckpointKeyMapHook
from .cpu_ddp import CPUDistributedDataParallel
from .divergence_hook import DivergenceHook
from .fast_resume_loop import FastResumeIterBasedTrainLoop
from .freeze_modules_hook import FreezeModulesHook
from .preemption_hook import PreemptionHook
from .resumable_checkpoint_hook import ResumableCheckpointHook
from .resumable_sampler import ResumableInfiniteSampler, SampleKey
from .sample_seeded_dataset import SampleSeededDataset
from .stopping import TrainingStopped
from .work_dir_lock import WorkDirBusyError, WorkDirLock

__all__ = [
    'CPUDistributedDataParallel',
    'ResumableCheckpointHook',
    'CheckpointKeyMapHook',
    'DivergenceHook',
    'PreemptionHook',
    'TrainingStopped',
    'FreezeModulesHook',
    'FastResumeIterBasedTrainLoop',
    'ResumableInfiniteSampler',
    'SampleKey',
    'SampleSeededDataset',
    'WorkDirBusyError',
    'WorkDirLock',
]
