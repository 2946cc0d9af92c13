# DRN-D-38 + the basic context module (Cityscapes schedule) on Cityscapes: the DRN authors' recipe
# for DRN-D-38 (71.4 mIoU val with a 1x1 classifier, fyu/drn README.md) is their DRN-D-22 recipe,
# so everything, the differences and the safeguard included, is
# context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py's (see its header).
# Memory: about 5.4 GiB per GPU estimated (configs/README.md), no with_cp needed.
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
