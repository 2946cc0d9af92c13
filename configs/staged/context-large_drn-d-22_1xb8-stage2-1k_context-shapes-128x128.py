# Stage 2 of Yu & Koltun's staged protocol (https://arxiv.org/abs/1511.07122, section 5), on the
# bundled data: the large context module trained alone on the class scores of the trained front-end
# of stage 1 (configs/frontend_toy.py, the same DRN-D-22 front-end as configs/context_toy.py with a
# 1x1 classifier), which stays frozen, its BN statistics included.
#   python tools/train.py configs/frontend_toy.py                                 (stage 1)
#   python tools/train.py \
#       configs/staged/context-large_drn-d-22_1xb8-stage2-1k_context-shapes-128x128.py
# The front-end's classifier (decode_head.conv_seg of its FCNHead) becomes ContextHead's
# decode_head.classifier through CheckpointKeyMapHook; the module starts from its identity
# initialisation, so stage 2 starts at the front-end's own scores where they are positive.
_base_ = ['../context_toy.py']
model = dict(
    decode_head=dict(
        module_type='large',
        # the scores enter the module as the frozen front-end computes them at test time
        dropout_ratio=0.0,
        # the front-end is frozen: a loss on its scores would train nothing
        frontend_loss_weight=0.0,
    )
)
load_from = 'work_dirs/frontend_toy/iter_2000.pth'
custom_hooks = [
    dict(
        type='CheckpointKeyMapHook',
        key_map={'decode_head.conv_seg.': 'decode_head.classifier.conv.'},
    ),
    dict(type='FreezeModulesHook', modules=('backbone', 'decode_head.classifier')),
]
# The module alone trains at the front-end's rate (AdamW 2e-3 and poly, as stage 1): context_toy.py
# slows it tenfold only because there its input scores are still random. The release of the paper
# (fyu/dilation) likewise trains the context stage at 1e-3, ten times its front-end's 1e-4.
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
# Half of stage 1's iterations: the module starts at the front-end's own answer and converges fast.
max_iters = 1000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
