# Stage 3 of Yu & Koltun's staged protocol (https://arxiv.org/abs/1511.07122) on the bundled data:
# the front-end and the large context module of stage 2 fine-tuned jointly, at a tenth of stage 1's
# rate, as the paper's release (fyu/dilation) fine-tunes the joint model at 1e-5 after a 1e-4
# front-end. Starts from stage 2's last checkpoint (same model, no key mapping).
#   python tools/train.py \
#       configs/staged/context-large_drn-d-22_1xb8-stage3-1k_context-shapes-128x128.py
_base_ = ['./context-large_drn-d-22_1xb8-stage2-1k_context-shapes-128x128.py']
model = dict(decode_head=dict(dropout_ratio=0.1))  # the front-end's dropout, as in stage 1
load_from = 'work_dirs/context-large_drn-d-22_1xb8-stage2-1k_context-shapes-128x128/iter_1000.pth'
custom_hooks = []  # nothing frozen, nothing renamed
optim_wrapper = dict(optimizer=dict(lr=2e-4))
