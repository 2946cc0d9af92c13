# DRN-D-22 + the large context module (the paper's VOC schedule) on Pascal VOC 2012 aug (21 classes,
# 512x512 crops). No published figure for this pair, so the recipe is mmseg's R-50-D8 VOC recipe
# (4 GPUs x 4, SGD lr 0.01 momentum 0.9, poly, 40k iterations, SyncBN, random scale 0.5-2, flips,
# photometric distortion), so that it compares with mmseg's VOC configs, except what the DRN
# authors do with these weights (fyu/drn segment.py): weight decay 1e-4 (l. 701) in place of
# mmseg's 5e-4, and the front-end's classifier trained as DRNSeg's (no dropout, N(0, 2 / 21) init,
# the loss averaged over the valid pixels, l. 96-98 and l. 351;
# _base_/models/context-large_drn-d-22.py) where mmseg's heads use dropout 0.1, N(0, 0.01) and an
# average over all pixels.
# Safeguard: the module is identity-initialised and trained jointly with the front-end (the paper
# trains the front-end first), and a class whose scores start negative is cut by the module's
# first ReLU and can stay dead (configs/context_toy.py: two of three classes at 0 IoU without the
# safeguard). So a loss on the front-end's scores (frontend_loss_weight=0.4) and the module
# (context_convs and its last 1x1, conv_seg) at a tenth of the rate, without weight decay.
#   python tools/train.py configs/context_voc.py              (one GPU)
#   bash tools/dist_train.sh configs/context_voc.py 4         (four GPUs)
# ImageNet weights, as the paper's front-end (tools/train.py says how to make them if missing):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/context-large_drn-d-22.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
    decode_head=dict(num_classes=21, frontend_loss_weight=0.4),
)
optim_wrapper = dict(
    optimizer=dict(weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(lr_mult=0.1, decay_mult=0.0),
            'decode_head.conv_seg': dict(lr_mult=0.1, decay_mult=0.0),
        }
    ),
)
# The recipe's effective batch (4 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
