# The DRN authors' DRNSeg with DRN-C-26 on Cityscapes. Their README gives 68.0 mIoU "on Cityscapes"
# for it (fyu/drn README.md l. 91-96; split and test scales not stated) and shows a training command
# for drn_d_22 only (l. 166-168), so this config trains C-26 by that command: everything, the
# differences included, is fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py's (see its header).
#   python tools/model_converters/drn2mmseg.py drn_c_26-ddedf421.pth pretrain/drn_c_26_mmseg.pth
_base_ = './fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(
    backbone=dict(arch='C', depth=26, init_cfg=dict(checkpoint='pretrain/drn_c_26_mmseg.pth'))
)
