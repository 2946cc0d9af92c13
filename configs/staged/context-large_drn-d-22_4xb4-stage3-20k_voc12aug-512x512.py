# Stage 3 of the staged protocol on Pascal VOC 2012 aug: the front-end and the large context module
# of stage 2 (context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512.py) fine-tuned jointly. The
# paper reports for VOC that such joint training "did not yield a significant improvement"
# (https://arxiv.org/abs/1511.07122, section 5); the joint stage is its protocol for Cityscapes
# (Appendix A.3: joint at 1e-5) and fyu/dilation docs/training.md's optional "Joint Training"
# (l. 94-114: "it can sometimes improve the results further", SGD lr 1e-5, momentum 0.9).
#   bash tools/dist_train.sh \
#       configs/staged/context-large_drn-d-22_4xb4-stage3-20k_voc12aug-512x512.py 4
# Differences from the paper's release, and why:
# - The release fine-tunes jointly at 1e-5, a tenth of its VGG front-end's 1e-4 (train.py
#   l. 163-169). Here the rate is a tenth of this DRN front-end's (stage 1: 0.01), 1e-3, poly over
#   20k iterations: the release's absolute 1e-5 is tied to its BN-free VGG.
# - Weight decay 1e-4 on every weight, the DRN authors' value for this front-end (fyu/drn
#   segment.py l. 701), the module's included (the release decays the context weights as all
#   others, network.py l. 140-191, at its 5e-4); biases at twice the rate without decay, as stage 2
#   and the release.
# - No dropout (as the stage-1 front-end, DRNSeg's head, and stage 2).
_base_ = ['./context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512.py']
load_from = 'work_dirs/context-large_drn-d-22_4xb4-stage2-20k_voc12aug-512x512/iter_20000.pth'
custom_hooks = []  # nothing frozen, nothing renamed: the checkpoint is this model's
find_unused_parameters = False
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
