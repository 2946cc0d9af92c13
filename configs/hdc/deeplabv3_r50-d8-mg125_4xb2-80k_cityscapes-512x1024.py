# mmseg's DeepLabV3 R-50-D8 on Cityscapes (deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py: same
# bases, recipe and ImageNet weights) with hybrid dilated convolution in layer4 through mmseg's own
# ResNetV1c argument `multi_grid`: its three blocks take the rates (1, 2, 5) instead of 2, 4, 4
# (mmseg uses the multi_grid values as the rates themselves, not as multiples of dilations[3]).
# layer3 needs nothing: mmseg's base sets contract_dilation=True, so its six blocks run 1, 2, 2, 2,
# 2, 2, which already covers every pixel. `tools/analysis/receptive_field.py CONFIG` prints both
# levels as "gridding-free" here, and layer4 as "holes every 2 px" without multi_grid (its field
# alone: 17 px here, 21 px there, in feature cells).
# No figure measured; mmseg's deeplabv3_r50-d8 80k figure is the baseline to compare against.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, backbone=dict(multi_grid=(1, 2, 5)))
# The recipe's effective batch (4 GPUs x 2, mmseg's), for training on fewer GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=8)
