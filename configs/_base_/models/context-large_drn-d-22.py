# DRN-D-22 front-end (output stride 8) + the Yu-Koltun large context module with the paper's VOC
# schedule (Table 1: dilations 1, 1, 2, 4, 8, 16, 1 and the final 1x1), identity-initialised,
# 'same' padding. No pretrained weights here: the toy config trains it from scratch; GPU leaves
# that choose the DRN variant also set backbone.init_cfg (see configs/drn/).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='DRN', arch='D', depth=22, out_indices=(7, ), norm_cfg=norm_cfg),
    decode_head=dict(
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
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
