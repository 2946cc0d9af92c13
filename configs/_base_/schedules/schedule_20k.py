# mmseg's 20k schedule, with checkpoints that resume bit-exactly (random generator states saved and
# restored) and are written atomically: mmseg_dilated/engine/resumable_checkpoint_hook.py.
_base_ = ['mmseg::_base_/schedules/schedule_20k.py']
default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook'))
