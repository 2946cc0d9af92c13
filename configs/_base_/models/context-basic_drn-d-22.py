# DRN-D-22 front-end + the basic context module with the paper's Cityscapes schedule (Yu & Koltun,
# ICLR 2016, Table 1 extended as the Cityscapes release has it: dilations 1, 1, 2, 4, 8, 16, 32,
# 64, 1, then the final 1x1; 'same' padding as the urban releases), 19 classes. Leaves pick the
# DRN variant and its pretrained weights.
_base_ = './context-large_drn-d-22.py'
model = dict(
    decode_head=dict(module_type='basic', dilations=(1, 1, 2, 4, 8, 16, 32, 64, 1), num_classes=19)
)
