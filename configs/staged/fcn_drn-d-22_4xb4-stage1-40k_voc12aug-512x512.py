# Stage 1 of Yu & Koltun's staged protocol (https://arxiv.org/abs/1511.07122) with a DRN
# front-end on Pascal VOC 2012 aug: DRN-D-22 (ImageNet weights) with a 1x1 classifier (the DRN
# authors' DRNSeg, _base_/models/fcn_drn-d-22.py: mmseg's FCNHead with no convs and no dropout, the
# classifier N(0, 2 / 21), the loss averaged over the valid pixels), 21 classes, 512x512 crops.
# Stages 2 and 3 (context-large_drn-d-22_4xb4-stage{2,3}-*) start from its last checkpoint.
#   bash tools/dist_train.sh configs/staged/fcn_drn-d-22_4xb4-stage1-40k_voc12aug-512x512.py 4
# The paper's stages: section 5 (VOC) trains the front-end, then the context module on its output;
# the joint third stage is its Appendix A.3 protocol for Cityscapes and fyu/dilation
# docs/training.md's optional "Joint Training" (l. 94-96).
# Differences from the paper, and why:
# - Front-end: DRN-D-22 (BN, residual) instead of the paper's dilated VGG-16, as context_voc.py.
# - Optimizer: the recipe of context_voc.py (SGD momentum 0.9, lr 0.01, poly, weight decay 1e-4 as
#   fyu/drn segment.py, 4 GPUs x 4, 40k iterations, mmseg's VOC augmentation), not the release's
#   front-end rate of 1e-4: that rate is for a BN-free VGG in Caffe; DRN's own code fine-tunes its
#   BN network at 0.01.
# - The paper's 72.1 (Table 3, large) used a front-end trained with additional COCO images; this
#   front-end sees VOC aug only.
# ImageNet weights (tools/train.py says how to make them if missing):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = [
    '../_base_/models/fcn_drn-d-22.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
    decode_head=dict(num_classes=21),
)
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
# The recipe's effective batch (4 GPUs x 4), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
