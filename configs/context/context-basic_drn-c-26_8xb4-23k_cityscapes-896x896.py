# DRN-C-26 + the basic context module (Cityscapes schedule) on Cityscapes. The DRN authors' README
# shows a training command for drn_d_22 only (fyu/drn README.md l. 166-168), so DRN-C-26 is trained
# by it here: everything, the differences and the safeguard included, is
# context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py's (see its header). Its baseline, DRNSeg
# on the same recipe, is ../fcn_drn/fcn_drn-c-26_8xb4-23k_cityscapes-896x896.py
# (the authors' README: 68.0 mIoU "on Cityscapes" for DRN-C-26).
# Memory: about 5.0 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_c_26-ddedf421.pth pretrain/drn_c_26_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(
    backbone=dict(arch='C', depth=26, init_cfg=dict(checkpoint='pretrain/drn_c_26_mmseg.pth'))
)
