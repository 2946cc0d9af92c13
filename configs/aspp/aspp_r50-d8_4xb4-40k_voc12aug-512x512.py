# mmseg's ResNet-50-D8 + DeepLabV3's ASPP as the paper has it (DilatedASPPHead) on VOC 2012 aug,
# 512x512 crops, with mmseg's R-50-D8 VOC recipe unchanged (4 GPUs x 4, SGD lr 0.01 momentum 0.9
# weight decay 5e-4, poly, 40k iterations, SyncBN, auxiliary FCNHead at 0.4, ImageNet weights
# open-mmlab://resnet50_v1c): the head is the only difference from mmseg's
# deeplabv3_r50-d8_4xb4-40k_voc12aug-512x512.py (77.68 mIoU, mmseg's figure for its own head, quoted
# for comparison, not a target of this config). mmseg's loss averaging is kept with its recipe:
# over all pixels, ignored ones included (avg_non_ignore=False).
_base_ = [
    '../_base_/models/aspp_r50-d8.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
# The recipe's effective batch (4 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
