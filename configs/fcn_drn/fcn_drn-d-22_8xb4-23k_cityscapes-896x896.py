# The DRN authors' DRNSeg (fyu/drn segment.py l. 81-119) with DRN-D-22 on Cityscapes: the backbone
# and a 1x1 classifier (_base_/models/fcn_drn-d-22.py: no dropout, the classifier N(0, 2 / 19),
# the loss averaged over the valid pixels), trained by the README's command for drn_d_22 (fyu/drn
# README.md l. 166-168): SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 32 (8 GPUs x 4),
# 896x896 crops + flips, lr x0.1 every 100 of 250 epochs (_base_/schedules/schedule_23k_step.py).
# The authors' README gives 68.0 mIoU "on Cityscapes" for DRN-D-22 (l. 91-98; split and test
# scales not stated). That figure stands since 2017-09-10, when the command read `--batch-size 8
# --lr 0.001 --momentum 0.99`; this command dates from 2018-06-02, and the README says lr and
# momentum "can be 0.01/0.9 or 0.001/0.99" depending on the batch (l. 171). Which command produced
# the figure, the source does not say.
# What differs from the authors', and why:
#   - SyncBN over the 32 crops; the authors' command has no --bn-sync (BN per GPU under
#     DataParallel, segment.py l. 350);
#   - normalisation: ImageNet mean/std (what the converted ImageNet weights were trained with,
#     fyu/drn classify.py) instead of the Cityscapes statistics of fyu/drn
#     datasets/cityscapes/info.json; the two differ by a near-uniform scale (x1.20-1.25 per
#     channel) and a shift, which the BN after the first convolution absorbs;
#   - the logits are resized bilinearly, where DRNSeg upsamples them by a fixed bilinear
#     ConvTranspose2d (segment.py l. 99-107); mmseg's whole-image test, one scale.
# Memory: not measured; the basic context module of
# configs/context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py (4.0 GiB per GPU estimated,
# configs/README.md) adds only 19-channel maps at 1/8 of the crop to this model.
# ImageNet weights (the config fails at init_weights without them):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/fcn_drn-d-22.py',
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
