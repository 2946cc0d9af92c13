# mmseg's 20k schedule, with checkpoints that resume bit-exactly (random generator states saved and
# restored) and are written atomically: mmseg_dilated/engine/resumable_checkpoint_hook.py; a resume
# starts the sampler at the first untrained sample instead of loading the trained batches again
# (mmseg_dilated/engine/fast_resume_loop.py; type='IterBasedTrainLoop' for mmengine's replay).
_base_ = ['mmseg::_base_/schedules/schedule_20k.py']
train_cfg = dict(type='FastResumeIterBasedTrainLoop')
# A preempted run (SIGTERM, SIGUSR1) saves its iteration and exits with status 75; a run whose
# losses go non-finite stops (status 65) before a save: mmseg_dilated/engine/preemption_hook.py,
# divergence_hook.py.
default_hooks = dict(
    checkpoint=dict(type='ResumableCheckpointHook'),
    preemption=dict(type='PreemptionHook'),
    divergence=dict(type='DivergenceHook'),
)
