# Stage 2 of the staged protocol on the bundled data with the basic context module (every layer
# C = 4 maps wide, the paper's Table 1 dilations 1, 1, 2, 4, 8, 16, 1), on the frozen front-end of
# configs/frontend_toy.py; everything else as the large module's stage 2.
#   python tools/train.py \
#       configs/staged/context-basic_drn-d-22_1xb8-stage2-1k_context-shapes-128x128.py
_base_ = ['./context-large_drn-d-22_1xb8-stage2-1k_context-shapes-128x128.py']
model = dict(decode_head=dict(module_type='basic'))
