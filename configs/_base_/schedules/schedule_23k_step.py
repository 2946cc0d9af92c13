# The DRN authors' schedule for DRN-C-26, DRN-D-22 and DRN-D-38 on Cityscapes (fyu/drn README.md,
# "Training": `--batch-size 32 --epochs 250 --lr 0.01 --momentum 0.9 --step 100`; segment.py:
# SGD, weight decay 1e-4 (the --weight-decay default), lr x0.1 every 100 epochs, drop_last=True),
# counted in iterations: 2975 training images // 32 = 92 iterations per epoch, so 250 epochs are
# 23,000 iterations and the steps fall at 9,200 and 18,400. Checkpoints resume bit-exactly
# (mmseg_dilated/engine/resumable_checkpoint_hook.py).
_base_ = ['mmseg::_base_/schedules/schedule_80k.py']
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='MultiStepLR', milestones=[9200, 18400], gamma=0.1, begin=0, end=23000, by_epoch=False
    )
]
train_cfg = dict(max_iters=23000, val_interval=2300)
default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook', interval=2300))
