# DRN-D-38 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes. The DRN authors' README shows a
# training command for drn_d_22 only (fyu/drn README.md l. 166-168), so DRN-D-38 is trained by it
# here: everything is aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py's.
# Memory: about 6.1 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
