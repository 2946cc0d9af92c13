# DRN-D-22 front-end (output stride 8, from fcn_drn-d-22.py) + the Yu-Koltun large context module
# with the paper's VOC schedule (Table 1: dilations 1, 1, 2, 4, 8, 16, 1 and the final 1x1),
# identity-initialised, 'same' padding. The module's input classifier (`classifier`) plays DRNSeg's
# 1x1 classifier and is trained as DRNSeg trains it (fyu/drn segment.py), like fcn_drn-d-22.py:
#   - no dropout before it (DRNSeg has none; ContextHead's dropout_ratio);
#   - initialised N(0, 2 / n), n = 1 x 1 x classes (segment.py l. 96-98): classifier_init_std is
#     sqrt(2 / 21) for the 21 classes here (a leaf that changes num_classes sets it again);
#   - the loss averaged over the valid pixels (segment.py l. 351): avg_non_ignore=True.
# No pretrained weights here: GPU leaves that choose the DRN variant set backbone.init_cfg (see
# configs/context/). configs/context_toy.py, which trains it from scratch on CPU, keeps mmseg's
# settings with which its figures were measured (its decode_head says which).
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
        classifier_init_std=(2 / 21) ** 0.5,
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True
        ),
    )
)
