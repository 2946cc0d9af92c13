# Short name: DRN-D-22 + the basic context module (Cityscapes schedule) on Cityscapes, 8 GPUs x 2.
_base_ = ['./drn/context-basic_drn-d-22_8xb2-80k_cityscapes-512x1024.py']
