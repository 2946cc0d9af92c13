# Short name: DRN-D-38 + DeepLabV3's ASPP (DilatedASPPHead) on Cityscapes, 8 GPUs x 2.
_base_ = ['./drn/aspp_drn-d-38_8xb2-80k_cityscapes-512x1024.py']
