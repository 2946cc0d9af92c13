# DRN-D-38 + the basic context module on Cityscapes, with hybrid dilated convolution (HDC, Wang et
# al., "Understanding Convolution for Semantic Segmentation", WACV 2018) in the backbone: layer5's
# six blocks cycle the rates (1, 2, 5) and layer6's three blocks take (1, 4, 7), in place of the
# authors' 2 and 4 in every block. Each level then samples every pixel of its field
# (`tools/analysis/receptive_field.py CONFIG` prints "gridding-free" for both, "holes every 2/4 px"
# for the default), with a field as large as the default's (layer5 65 px instead of 49, layer6
# 49 px as before, in feature cells). Rates are not weights: the ImageNet weights of DRN-D-38 load
# unchanged, and everything else (the authors' recipe) is
# configs/context/context-basic_drn-d-38_8xb4-23k_cityscapes-896x896.py's. No figure measured.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = '../context/context-basic_drn-d-38_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(block_dilations={5: (1, 2, 5), 6: (1, 4, 7)}))
