# DRN-D-38 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes; the DRN authors' DRN-D-38 recipe is
# their DRN-D-22 one, so everything is aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py's.
# Memory: about 6.1 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
