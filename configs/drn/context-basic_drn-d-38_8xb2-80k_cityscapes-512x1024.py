# DRN-D-38 + basic context module (Cityscapes schedule); recipe as the DRN-D-22 config.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb2-80k_cityscapes-512x1024.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
