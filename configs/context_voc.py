# The paper's setting with a DRN front-end: DRN-D-22 + large context module on Pascal VOC 2012 aug
# (21 classes, 512x512 crops, SGD + poly). GPU recipe: 4 GPUs x 4 images, 40k iterations, SyncBN.
#   python tools/train.py configs/context_voc.py              (one GPU)
#   bash tools/dist_train.sh configs/context_voc.py 4         (four GPUs)
_base_ = [
    './_base_/models/context-large_drn-d-22.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=21))
