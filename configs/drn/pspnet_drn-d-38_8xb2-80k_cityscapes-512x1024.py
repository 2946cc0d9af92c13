# DRN-D-38 + mmseg's PSPHead on Cityscapes. Recipe as the DRN context configs: batch 16
# (8 GPUs x 2), SGD lr 0.01 momentum 0.9, poly, 80k iterations, SyncBN, 512x1024 crops.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = [
    '../_base_/models/pspnet_drn-d-22.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=38, init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_38_mmseg.pth')))
