# Short name: DRN-D-22 + the large context module on Pascal VOC 2012 aug, 4 GPUs x 4.
_base_ = ['./context/context-large_drn-d-22_4xb4-40k_voc12aug-512x512.py']
