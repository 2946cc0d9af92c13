# The DRN authors' DRNSeg with DRN-D-38 on Cityscapes. Their README gives 71.4 mIoU "on Cityscapes"
# for it (fyu/drn README.md l. 91-99; split and test scales not stated) and shows a training command
# for drn_d_22 only (l. 166-168), so this config trains D-38 by that command: everything, the
# differences included, is fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py's (see its header).
#   python tools/model_converters/drn2mmseg.py drn_d_38-eebb45f0.pth pretrain/drn_d_38_mmseg.pth
_base_ = './fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(backbone=dict(depth=38, init_cfg=dict(checkpoint='pretrain/drn_d_38_mmseg.pth')))
