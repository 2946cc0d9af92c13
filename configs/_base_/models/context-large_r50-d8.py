# mmseg's ResNet-50-D8 (ResNetV1c, dilations 1, 1, 2, 4: output stride 8) + the Yu-Koltun large
# context module (VOC schedule, 'same' padding, identity init) on a 1x1 classifier of the
# 2048-channel last stage. Backbone, auxiliary FCNHead and ImageNet weights come from mmseg's own
# deeplabv3_r50-d8 base; only the decode head (and the class count, 21 for VOC) is replaced. The
# head takes the settings of mmseg's heads, as its leaf follows mmseg's recipe: dropout 0.1, the
# classifier at N(0, 0.01) (mmseg's conv_seg init), and mmseg's CrossEntropyLoss averaged over all
# pixels, ignored ones included (avg_non_ignore=False, as in mmseg's deeplabv3_r50-d8.py).
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ContextHead',
        in_channels=2048,
        in_index=3,
        num_classes=21,
        module_type='large',
        dilations=(1, 1, 2, 4, 8, 16, 1),
        padding='same',
        noise_std=0.01,
        classifier_init_std=0.01,
        dropout_ratio=0.1,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False
        ),
    ),
    auxiliary_head=dict(num_classes=21),
)
