# DRN-D-22 + the basic context module with the paper's Cityscapes schedule (dilations 1, 1, 2, 4, 8,
# 16, 32, 64, 1, then the final 1x1; 'same' padding as the urban releases), 19 classes.
# The DRN authors' recipe: batch 16 (8 GPUs x 2), SGD lr 0.01 momentum 0.9, poly, SyncBN; mmseg's
# schedule_80k gives that optimiser (80k x 16 images is ~430 epochs; the authors train 500).
# Crop 512x1024, mmseg's Cityscapes default, so these compare with mmseg's R-50-D8 Cityscapes
# configs; the authors' 840 crop is kept for DRN-D-105 (the *_cityscapes-840x840.py configs).
# ImageNet weights (the config fails at init_weights without them):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/context-large_drn-d-22.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
    decode_head=dict(
        module_type='basic', dilations=(1, 1, 2, 4, 8, 16, 32, 64, 1), num_classes=19))
