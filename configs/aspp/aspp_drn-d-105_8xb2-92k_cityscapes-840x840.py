# DRN-D-105 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes. No published figure for this pair:
# the recipe is the DRN authors' README command for drn_d_105 (fyu/drn README.md l. 173-177,
# segment.py): SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 16 (8 GPUs x 2), 840x840 crops
# with random rotation (+-10 degrees), scale (0.5-2), flips and reflection padding of short images
# (_base_/datasets/cityscapes_840x840.py), poly lr over 500 epochs
# (_base_/schedules/schedule_92k_poly.py), SyncBN, the loss averaged over the valid pixels,
# whole-image test; ImageNet normalisation as
# configs/context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py explains. The head's
# dropout 0.1 and N(0, 0.01) classifier are mmseg's (_base_/models/aspp_drn-d-22.py).
# Memory: the authors report more than 12 GB per GPU for DRN-D-105 in this setting (README.md
# l. 181); the estimate
# from our benchmark is 10.8 GiB without checkpointing, 4.4 GiB with it (configs/README.md).
# with_cp is on in the backbone and the head so that a 12 GB card trains it as shipped; it costs a
# second forward pass of the checkpointed blocks in every step.
#   python tools/model_converters/drn2mmseg.py drn_d_105-12b40979.pth pretrain/drn_d_105_mmseg.pth
_base_ = [
    '../_base_/models/aspp_drn-d-22.py',
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
    decode_head=dict(with_cp=True),
)
# The recipe's effective batch (8 GPUs x 2), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
