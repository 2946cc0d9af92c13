# DRN-C-26 + basic context module (Cityscapes schedule); recipe as the DRN-D-22 config.
#   python tools/model_converters/drn2mmseg.py drn_c_26-ddedf421.pth pretrain/drn_c_26_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(arch='C', depth=26, init_cfg=dict(checkpoint='pretrain/drn_c_26_mmseg.pth')))
