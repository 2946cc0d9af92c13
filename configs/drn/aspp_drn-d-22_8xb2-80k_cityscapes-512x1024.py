# DRN-D-22 + DeepLabV3's ASPP (DilatedASPPHead, rates 12, 24, 36 at output stride 8) on Cityscapes.
# Recipe as context-basic_drn-d-22_8xb2-80k_cityscapes-512x1024.py: batch 16 (8 GPUs x 2), SGD lr
# 0.01 momentum 0.9, poly, 80k iterations, SyncBN, 512x1024 crops.
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/aspp_drn-d-22.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')))
