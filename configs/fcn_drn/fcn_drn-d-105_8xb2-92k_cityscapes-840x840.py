# The DRN authors' DRNSeg (fyu/drn segment.py l. 81-119) with DRN-D-105 on Cityscapes: the backbone
# and a 1x1 classifier (_base_/models/fcn_drn-d-22.py: no dropout, the classifier N(0, 2 / 19),
# the loss averaged over the valid pixels), trained by the README's command for drn_d_105's best
# result (fyu/drn README.md l. 173-177): SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 16
# (8 GPUs x 2), 840x840 crops with random rotation (+-10 degrees), scale (0.5-2) and flips
# (_base_/datasets/cityscapes_840x840.py, which also pads short images by reflection as the
# authors' crop does), poly lr over 500 epochs (_base_/schedules/schedule_92k_poly.py), SyncBN
# (--bn-sync).
# Published (fyu/drn README.md): 75.6 mIoU "on Cityscapes", "trained with poly learning rate,
# random scaling and rotations" (l. 100-102; split and test scales not stated), and 76.3 on the
# Cityscapes test set with multi-scale testing (l. 104; segment.py l. 630: scales 0.5, 0.75, 1.25,
# 1.5, 1.75 besides 1). The figures and this command appeared together (2018-01-01).
# What differs, and why: normalisation and the bilinear resize of the logits, as
# fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py explains; the rotation pads with zeros and draws a
# real angle (the dataset base's header); the test is mmseg's whole image at one scale (--tta runs
# mmseg's multi-scale test at the authors' scales, 0.5-1.75, and adds flips, which theirs has not).
# Memory: the authors report more than 12 GB per GPU for this setting (README.md l. 181). with_cp
# is on in the backbone so that a 12 GB card trains it as shipped (a second forward pass of the
# checkpointed blocks in every step); the 1x1 classifier has nothing to checkpoint. Not measured;
# configs/context/context-basic_drn-d-105_8xb2-92k_cityscapes-840x840.py (4.0 GiB per GPU with
# with_cp, estimated in configs/README.md) differs only by the basic module's 19-channel maps.
#   python tools/model_converters/drn2mmseg.py drn_d_105-12b40979.pth pretrain/drn_d_105_mmseg.pth
_base_ = [
    '../_base_/models/fcn_drn-d-22.py',
    '../_base_/datasets/cityscapes_840x840.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_92k_poly.py',
]
crop_size = (840, 840)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=105,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_105_mmseg.pth'),
    ),
)
# The recipe's effective batch (8 GPUs x 2), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
