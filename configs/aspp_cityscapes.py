# Short name: DRN-D-38 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes, 8 GPUs x 4.
_base_ = ['./aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py']
