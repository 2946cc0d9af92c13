# mmseg's ResNet-50-D8 + the large context module (VOC schedule) on VOC 2012 aug, 512x512 crops,
# with mmseg's R-50-D8 VOC recipe unchanged (4 GPUs x 4, SGD lr 0.01 momentum 0.9 weight decay
# 5e-4, poly, 40k iterations, SyncBN, auxiliary FCNHead at 0.4, ImageNet weights
# open-mmlab://resnet50_v1c), so it compares with mmseg's
# deeplabv3_r50-d8_4xb4-40k_voc12aug-512x512.py (77.68 mIoU) and fcn_r50-d8 VOC configs; the head
# takes the settings of mmseg's heads (dropout 0.1, N(0, 0.01), the loss averaged over all pixels:
# _base_/models/context-large_r50-d8.py). No published figure for this pair.
# Safeguard: the module is identity-initialised and trained jointly with the backbone (the paper
# trains the front-end first), and a class whose scores start negative is cut by the module's
# first ReLU and can stay dead (configs/context_toy.py: two of three classes at 0 IoU without the
# safeguard). So a loss on the classifier's scores (frontend_loss_weight=0.4) and the module
# (context_convs and its last 1x1, conv_seg) at a tenth of the rate, without weight decay.
_base_ = [
    '../_base_/models/context-large_r50-d8.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(frontend_loss_weight=0.4))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(lr_mult=0.1, decay_mult=0.0),
            'decode_head.conv_seg': dict(lr_mult=0.1, decay_mult=0.0),
        }
    )
)
# The recipe's effective batch (4 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
