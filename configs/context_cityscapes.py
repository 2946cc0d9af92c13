# Short name: DRN-D-22 + the basic context module (Cityscapes schedule) on Cityscapes, 8 GPUs x 4.
_base_ = ['./context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py']
