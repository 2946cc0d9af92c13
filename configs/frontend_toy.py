# Ablation of configs/context_toy.py: the same DRN-D-22 front-end with a plain 1x1 classifier in
# place of the context module (mmseg's FCNHead with no convs: dropout 0.1, then conv_seg). It keeps
# context_toy.py's dropout 0.1, classifier init and loss averaging, so that the two configs differ
# only in the context module; the DRN authors' DRNSeg head (no dropout, their init and averaging)
# is _base_/models/fcn_drn-d-22.py. Data, schedule, seed and everything else come from
# context_toy.py (tests/test_configs/test_configs.py checks this).
_base_ = ['./context_toy.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=32,
        in_index=0,
        channels=32,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=4,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False
        ),
    )
)
# context_toy.py slows the context module's layers, conv_seg (its last 1x1 layer) included; here
# conv_seg is the 1x1 classifier, which trains at the front-end's rate as context_toy's classifier
# does.
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
