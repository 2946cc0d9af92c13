# The paper's model (Yu & Koltun, ICLR 2016): the dilated VGG-16 front-end (pool4/pool5 removed,
# conv5 dilation 2, fc6 7x7 dilation 4, fc7 1x1, ReLU + dropout 0.5 after both; output stride 8)
# + the large context module with the VOC schedule, identity-initialised.
# Padding: the front-end uses 'same' padding (the release's 186 px reflection pad + valid convs does
# not fit mmseg's crop/pad pipeline); the context module follows the VOC release: unpadded layers
# on score maps zero-padded once by the module's margin (33), i.e. padding='valid', pad_input=True.
# Neither part has norm layers, so there is no SyncBN to set. The loss is averaged over the valid
# pixels, as the release's SoftmaxWithLoss (fyu/dilation network.py l. 50-53: ignore_label 255,
# normalization VALID): avg_non_ignore=True.
# ImageNet weights, from torchvision's vgg16-397923af.pth:
#   python tools/model_converters/vgg2mmseg.py vgg16-397923af.pth pretrain/vgg16_dilated.pth
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DilatedVGG',
        fc_channels=4096,
        dropout_ratio=0.5,
        out_indices=(5,),
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vgg16_dilated.pth'),
    ),
    decode_head=dict(
        type='ContextHead',
        in_channels=4096,
        in_index=0,
        num_classes=21,
        module_type='large',
        dilations=(1, 1, 2, 4, 8, 16, 1),
        padding='valid',
        pad_input=True,
        noise_std=0.01,
        # the release's 'final' layer (fyu/dilation network.py): Gaussian, std 0.001
        classifier_init_std=0.001,
        # fc7 already ends in dropout 0.5: no second dropout before the classifier.
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True
        ),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
