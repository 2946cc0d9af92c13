# configs/context_voc.py (DRN-D-22 + the large context module on Pascal VOC 2012 aug, 4 GPUs x 4,
# 40k iterations) as a MultiScaleEncoderDecoder: the input at 0.5, 0.75 and 1.0 with shared
# weights, logits fused by a learned per-pixel softmax over the scales (Chen et al., "Attention to
# Scale", CVPR 2016: their best VOC setting, three scales with attention and extra supervision),
# trained end to end. Cost at 512x512 (tools/analysis/benchmark.py): 203.2 GFLOPs against
# context_voc.py's 96.1, i.e. 2.11x: 1.81x from the scales (sum of their squares), the rest from the
# attention head (7.1M of the 29.8M parameters). mmseg's multi-scale flip TTA (--tta) still runs
# on top of it. No figure measured.
#   python tools/model_converters/drn2mmseg.py drn_d_22-4bd2f8ea.pth pretrain/drn_d_22_mmseg.pth
_base_ = ['../context_voc.py']
model = dict(
    type='MultiScaleEncoderDecoder',
    scales=(0.5, 0.75, 1.0),
    fusion='attention',
    attention_cfg=dict(channels=512),
    scale_loss_weight=1.0,
)
