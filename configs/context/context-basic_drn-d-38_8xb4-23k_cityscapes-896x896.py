# DRN-D-38 + the basic context module (Cityscapes schedule) on Cityscapes. The DRN authors' README
# shows a training command for drn_d_22 only (fyu/drn README.md l. 166-168), so DRN-D-38 is trained
# by it here: everything, the differences and the safeguard included, is
# context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py's (see its header). Its baseline, DRNSeg
# on the same recipe, is ../fcn_drn/fcn_drn-d-38_8xb4-23k_cityscapes-896x896.py
# (the authors' README: 71.4 mIoU "on Cityscapes" for DRN-D-38).
# Memory: about 5.4 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
