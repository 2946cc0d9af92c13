# configs/context_toy.py (the quick start: small DRN-D-22 front-end + large context module on the
# bundled data) as a MultiScaleEncoderDecoder: the input at 0.5, 0.75 and 1.0 (the scales of Chen
# et al., "Attention to Scale", CVPR 2016), shared weights, logits fused by a learned per-pixel
# softmax over the scales, trained end to end. On the half-size copy the front-end's 39 px field
# spans 78 px of the image, against shapes wider than 39 px. scale_loss_weight:
# the paper's extra supervision, the head's own loss at every scale, which also keeps the toy's
# front-end loss (frontend_loss_weight) on each scale. Cost at 128x128 (tools/analysis/benchmark.py,
# one CPU thread): 0.64 GFLOPs against context_toy's 0.32 (2.0x), 261 against 88 ms (3.0x: on
# maps this small, the per-operation overhead of three passes counts more than the FLOPs).
_base_ = ['../context_toy.py']
model = dict(
    type='MultiScaleEncoderDecoder',
    scales=(0.5, 0.75, 1.0),
    fusion='attention',
    attention_cfg=dict(channels=64),
    scale_loss_weight=1.0,
)
