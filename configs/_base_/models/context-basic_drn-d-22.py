# DRN-D-22 front-end + the basic context module with the paper's Cityscapes schedule (Yu & Koltun,
# ICLR 2016, Table 1 extended as the Cityscapes release has it: dilations 1, 1, 2, 4, 8, 16, 32,
# 64, 1, then the final 1x1; 'same' padding as the urban releases), 19 classes; the classifier
# initialised as DRNSeg's for 19 classes, N(0, 2 / 19) (fyu/drn segment.py l. 96-98). Everything
# else is context-large_drn-d-22.py's. Leaves pick the DRN variant and its pretrained weights.
_base_ = './context-large_drn-d-22.py'
model = dict(
    decode_head=dict(
        module_type='basic',
        dilations=(1, 1, 2, 4, 8, 16, 32, 64, 1),
        num_classes=19,
        classifier_init_std=(2 / 19) ** 0.5,
    )
)
