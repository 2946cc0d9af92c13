# The paper's setting with a DRN front-end: DRN-D-22 + large context module on Pascal VOC 2012 aug
# (21 classes, 512x512 crops, SGD + poly). GPU recipe: 4 GPUs x 4 images, 40k iterations, SyncBN.
#   python tools/train.py configs/context_voc.py              (one GPU)
#   bash tools/dist_train.sh configs/context_voc.py 4         (four GPUs)
_base_ = [
    './_base_/models/context-large_drn-d-22.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_40k.py'
]
# ImageNet weights, as the paper's front-end (tools/train.py says how to make them if missing):
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/drn_d_22_mmseg.pth')),
    decode_head=dict(num_classes=21))
