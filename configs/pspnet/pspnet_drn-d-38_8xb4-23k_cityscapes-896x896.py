# DRN-D-38 + mmseg's PSPHead on Cityscapes, with mmseg's PSPNet auxiliary head (an FCNHead at loss
# weight 0.4) on DRN level 5 (_base_/models/pspnet_drn-d-22.py says why that level). No published
# figure for this pair: the recipe is the DRN authors' README command for drn_d_22 (fyu/drn
# README.md l. 166-168, segment.py; the README shows no command for D-38), so that PSPNet compares
# with DRNSeg (../fcn_drn/), the context module and ASPP on the same backbone and recipe: SGD lr
# 0.01, momentum 0.9, weight decay 1e-4, batch 32 (8 GPUs x 4), 896x896 crops + flips only, lr x0.1
# every 100 of 250 epochs (_base_/schedules/schedule_23k_step.py), both losses averaged over the
# valid pixels (segment.py l. 351), whole-image test. Differs from it as
# configs/context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py does (SyncBN, ImageNet
# normalisation; see its header), and in the heads, whose dropout 0.1 and N(0, 0.01) classifiers
# are mmseg's PSPNet's.
# Memory: about 6.4 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = [
    '../_base_/models/pspnet_drn-d-22.py',
    '../_base_/datasets/cityscapes_896x896.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_23k_step.py',
]
crop_size = (896, 896)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=38, init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_38_mmseg.pth')
    ),
)
# The recipe's effective batch (8 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=32)
