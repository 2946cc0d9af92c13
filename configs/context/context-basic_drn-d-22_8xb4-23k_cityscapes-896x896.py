# DRN-D-22 + the basic context module (Cityscapes schedule) on Cityscapes, 19 classes.
# Recipe: the DRN authors' README command for drn_d_22 (fyu/drn README.md l. 166-168, segment.py):
# SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 32 (8 GPUs x 4), 896x896 crops + flips only,
# lr x0.1 every 100 of 250 epochs (_base_/schedules/schedule_23k_step.py), whole-image test at one
# scale. Its baseline, DRNSeg on the same recipe, is
# ../fcn_drn/fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py: the authors' README gives 68.0 mIoU "on
# Cityscapes" for that model (split and test scales not stated), a figure older than this command
# (../fcn_drn/README.md says which).
# The front-end's classifier (ContextHead.classifier) is trained as DRNSeg's
# (_base_/models/context-large_drn-d-22.py): no dropout, N(0, 2 / 19) init, loss averaged over the
# valid pixels (segment.py l. 96-98, l. 351).
# What differs from the authors', and why:
#   - the head: the context module after DRNSeg's 1x1 classifier (the point of the config);
#   - SyncBN (the authors' command has no --bn-sync, so their BN statistics are per GPU); the
#     authors' ConvTranspose upsampling (fixed bilinear) is mmseg's bilinear resize of the logits;
#   - normalisation: ImageNet mean/std (what the converted ImageNet weights were trained with,
#     fyu/drn classify.py) instead of Cityscapes' own (fyu/drn datasets/cityscapes/info.json); the
#     two differ by a near-uniform scale (x1.20-1.25 per channel) and a shift, which the BN after
#     the first convolution absorbs.
# Safeguard (the paper trains the front-end first, then the module): the module is identity-
# initialised and trained jointly with the front-end here, and a class whose scores start negative
# is cut by the module's first ReLU and can stay dead (measured at initialisation on this model: 4
# of 19 classes had a positive score on 0% of pixels, their classifier gradients 10-80x smaller).
# So (as configs/context_toy.py, where joint training without them left two of three classes at 0
# IoU): a loss on the front-end's scores (frontend_loss_weight=0.4), and the module (context_convs
# and its last 1x1, conv_seg) at a tenth of the rate, without weight decay.
# Memory: about 4.0 GiB per GPU estimated (configs/README.md), no with_cp needed.
# ImageNet weights (the config fails at init_weights without them):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/context-basic_drn-d-22.py',
    '../_base_/datasets/cityscapes_896x896.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_23k_step.py',
]
crop_size = (896, 896)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
    decode_head=dict(frontend_loss_weight=0.4),
)
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(lr_mult=0.1, decay_mult=0.0),
            'decode_head.conv_seg': dict(lr_mult=0.1, decay_mult=0.0),
        }
    )
)
# The recipe's effective batch (8 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=32)
