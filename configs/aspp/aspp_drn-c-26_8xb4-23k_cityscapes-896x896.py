# DRN-C-26 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes. The DRN authors' README shows a
# training command for drn_d_22 only (fyu/drn README.md l. 166-168), so DRN-C-26 is trained by it
# here: everything is aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py's.
# Memory: about 5.7 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_c_26-ddedf421.pth pretrain/drn_c_26_mmseg.pth
_base_ = './aspp_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(
    backbone=dict(arch='C', depth=26, init_cfg=dict(checkpoint='pretrain/drn_c_26_mmseg.pth'))
)
