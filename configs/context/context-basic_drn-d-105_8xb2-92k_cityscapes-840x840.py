# DRN-D-105 + the basic context module (Cityscapes schedule) on Cityscapes, 19 classes.
# Recipe: the DRN authors' README command for drn_d_105's best result (fyu/drn README.md l. 173-177,
# segment.py): SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 16 (8 GPUs x 2), 840x840 crops
# with random rotation (+-10 degrees), scale (0.5-2), flips and reflection padding of short images
# (_base_/datasets/cityscapes_840x840.py), poly lr over 500 epochs
# (_base_/schedules/schedule_92k_poly.py), SyncBN (--bn-sync), whole-image test at one scale.
# Its baseline, DRNSeg on the same recipe, is
# ../fcn_drn/fcn_drn-d-105_8xb2-92k_cityscapes-840x840.py: the authors' README gives 75.6 mIoU "on
# Cityscapes" for that model (split and test scales not stated) and 76.3 on the test set with
# multi-scale testing. The front-end's classifier is trained as DRNSeg's (no dropout, N(0, 2 / 19)
# init, loss averaged over the valid pixels: _base_/models/context-large_drn-d-22.py).
# What differs, and why: the head (the context module after DRNSeg's 1x1 classifier), and the
# normalisation (ImageNet's, as context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py explains).
# Safeguard, as in that config and for the same reason: a loss on the front-end's scores
# (frontend_loss_weight=0.4) and the module (context_convs, conv_seg) at a tenth of the rate,
# without weight decay.
# Memory: the authors report more than 12 GB per GPU for this setting (README.md l. 181); the
# estimate from our benchmark is 10.3 GiB without checkpointing, 4.0 GiB with it
# (configs/README.md). with_cp is on in the backbone and the module so that a 12 GB card trains it
# as shipped; it costs a second forward pass of the checkpointed blocks in every step.
#   python tools/model_converters/drn2mmseg.py drn_d_105-12b40979.pth pretrain/drn_d_105_mmseg.pth
_base_ = [
    '../_base_/models/context-basic_drn-d-22.py',
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
    decode_head=dict(frontend_loss_weight=0.4, with_cp=True),
)
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(lr_mult=0.1, decay_mult=0.0),
            'decode_head.conv_seg': dict(lr_mult=0.1, decay_mult=0.0),
        }
    )
)
# The recipe's effective batch (8 GPUs x 2), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
