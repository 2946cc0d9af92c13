# The DRN authors' README command for DRN-D-22 on Cityscapes (fyu/drn README.md l. 166-168:
# `--batch-size 32 --epochs 250 --lr 0.01 --momentum 0.9 --step 100`; segment.py l. 386-389: SGD;
# l. 701: weight decay 1e-4, the --weight-decay default; l. 440-441: lr x0.1 every --step epochs;
# l. 373: drop_last=True), counted in iterations: 2975 training images // 32 = 92 iterations per
# epoch, so 250 epochs are 23,000 iterations and the steps fall at 9,200 and 18,400. This command
# dates from 2018-06-02; the README's DRN figures are older (see configs/fcn_drn/README.md).
# Checkpoints resume bit-exactly (mmseg_dilated/engine/resumable_checkpoint_hook.py), without
# loading the trained batches again (mmseg_dilated/engine/fast_resume_loop.py).
_base_ = ['mmseg::_base_/schedules/schedule_80k.py']
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='MultiStepLR', milestones=[9200, 18400], gamma=0.1, begin=0, end=23000, by_epoch=False
    )
]
train_cfg = dict(type='FastResumeIterBasedTrainLoop', max_iters=23000, val_interval=2300)
# A preempted run (SIGTERM, SIGUSR1) saves its iteration and exits with status 75; a run whose
# losses go non-finite stops (status 65) before a save: mmseg_dilated/engine/preemption_hook.py,
# divergence_hook.py.
default_hooks = dict(
    checkpoint=dict(type='ResumableCheckpointHook', interval=2300),
    preemption=dict(type='PreemptionHook'),
    divergence=dict(type='DivergenceHook'),
)
