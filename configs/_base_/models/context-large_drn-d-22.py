# DRN-D-22 front-end (output stride 8, from fcn_drn-d-22.py) + the Yu-Koltun large context module
# with the paper's VOC schedule (Table 1: dilations 1, 1, 2, 4, 8, 16, 1 and the final 1x1),
# identity-initialised, 'same' padding. No pretrained weights here: the toy config trains it from
# scratch; GPU leaves that choose the DRN variant also set backbone.init_cfg (see configs/context/).
_base_ = './fcn_drn-d-22.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ContextHead',
        in_channels=512,
        in_index=0,
        num_classes=21,
        module_type='large',
        dilations=(1, 1, 2, 4, 8, 16, 1),
        padding='same',
        noise_std=0.01,
        dropout_ratio=0.1,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    )
)
