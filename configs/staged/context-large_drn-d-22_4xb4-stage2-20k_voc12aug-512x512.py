# Stage 2 of Yu & Koltun's staged protocol (https://arxiv.org/abs/1511.07122, section 5) on Pascal
# VOC 2012 aug: the large context module trained alone on the class scores of the stage-1 front-end
# (fcn_drn-d-22_4xb4-stage1-40k_voc12aug-512x512.py), which stays frozen (FreezeModulesHook:
# backbone and classifier, BN statistics included). The front-end's 1x1 classifier
# (decode_head.conv_seg) becomes ContextHead's decode_head.classifier (CheckpointKeyMapHook).
#   bash tools/dist_train.sh \
#       configs/staged/context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512.py 4
# As the paper's release trains its context stage (fyu/dilation): SGD lr 1e-3 momentum 0.9
# (train.py l. 166-167, docs/training.md l. 90-91), weight decay 5e-4 (train.py l. 36) on the
# module's weights, its biases at twice the rate and without decay (network.py l. 140-191: every
# context layer lr_mult 1 / decay_mult 1 on the weights, lr_mult 2 / decay_mult 0 on the bias).
# Differences from the release, and why:
# - Poly decay over 20k iterations of 4 x 4 512x512 crops, where the release trains on
#   precomputed front-end outputs at batch 60 (docs/training.md l. 84); the front-end runs here at
#   every step (frozen), so the data augmentation of stage 1 applies.
_base_ = ['../context/context-large_drn-d-22_4xb4-40k_voc12aug-512x512.py']
model = dict(
    decode_head=dict(
        # the scores enter the module as the frozen front-end computes them at test time
        dropout_ratio=0.0,
        # the front-end is frozen: a loss on its scores would train nothing
        frontend_loss_weight=0.0,
    )
)
load_from = 'work_dirs/fcn_drn-d-22_4xb4-stage1-40k_voc12aug-512x512/iter_40000.pth'
custom_hooks = [
    dict(
        type='CheckpointKeyMapHook',
        key_map={'decode_head.conv_seg.': 'decode_head.classifier.conv.'},
    ),
    dict(type='FreezeModulesHook', modules=('backbone', 'decode_head.classifier')),
]
# The frozen parameters stay registered with DistributedDataParallel (FreezeModulesHook).
find_unused_parameters = True
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
    clip_grad=None,
)
max_iters = 20000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
# The recipe's effective batch (4 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
