# Stage 3 of the staged protocol on the bundled data with the basic context module: the front-end
# and the basic module of stage 2 fine-tuned jointly, as the large module's stage 3 does.
#   python tools/train.py \
#       configs/staged/context-basic_drn-d-22_1xb8-stage3-1k_context-shapes-128x128.py
_base_ = ['./context-large_drn-d-22_1xb8-stage3-1k_context-shapes-128x128.py']
model = dict(decode_head=dict(module_type='basic'))
load_from = 'work_dirs/context-basic_drn-d-22_1xb8-stage2-1k_context-shapes-128x128/iter_1000.pth'
