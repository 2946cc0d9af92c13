# Stage 3 of Yu & Koltun's staged protocol (https://arxiv.org/abs/1511.07122, section 5) on Pascal
# VOC 2012 aug: the front-end and the large context module of stage 2
# (context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512.py) fine-tuned jointly.
#   bash tools/dist_train.sh \
#       configs/staged/context-large_drn-d-22_4xb4-stage3-20k_voc12aug-512x512.py 4
# Differences from the paper's release (fyu/dilation, docs/training.md), and why:
# - The release fine-tunes jointly at SGD lr 1e-5 (momentum 0.9), a tenth of its VGG front-end's
#   1e-4. Here the rate is a tenth of this DRN front-end's (stage 1: 0.01), 1e-3, poly over 20k
#   iterations: the release's absolute 1e-5 is tied to its BN-free VGG and Caffe's summed loss.
# - Weight decay 1e-4 on the front-end (fyu/drn segment.py), none on the module (as stage 2).
_base_ = ['./context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512.py']
model = dict(decode_head=dict(dropout_ratio=0.1))  # the front-end's dropout of context_voc.py
load_from = 'work_dirs/context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512/iter_20000.pth'
custom_hooks = []  # nothing frozen, nothing renamed: the checkpoint is this model's
find_unused_parameters = False
optim_wrapper = dict(
    optimizer=dict(lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.context_convs': dict(decay_mult=0.0),
            'decode_head.conv_seg': dict(decay_mult=0.0),
        }
    ),
)
