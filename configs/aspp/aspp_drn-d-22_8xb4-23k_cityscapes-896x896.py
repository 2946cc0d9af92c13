# DRN-D-22 + DeepLabV3's ASPP (DilatedASPPHead, rates 12, 24, 36 at output stride 8) on Cityscapes.
# No published figure for this pair: the recipe is the DRN authors' README command for drn_d_22
# (fyu/drn README.md l. 166-168, segment.py), so that ASPP compares with DRNSeg
# (../fcn_drn/), the context module and PSPNet on the same backbone and recipe: SGD lr 0.01,
# momentum 0.9, weight decay 1e-4, batch 32 (8 GPUs x 4), 896x896 crops + flips only, lr x0.1 every
# 100 of 250 epochs (_base_/schedules/schedule_23k_step.py), the loss averaged over the valid
# pixels (segment.py l. 351), whole-image test. Differs from it as
# configs/context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py does (SyncBN, ImageNet
# normalisation; see its header), and in the head, whose dropout 0.1 and N(0, 0.01) classifier are
# mmseg's (_base_/models/aspp_drn-d-22.py). No context module, so no safeguard is needed.
# Memory: about 4.7 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/aspp_drn-d-22.py',
    '../_base_/datasets/cityscapes_896x896.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_23k_step.py',
]
crop_size = (896, 896)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
)
# The recipe's effective batch (8 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=32)
