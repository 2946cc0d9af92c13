"""A segmentor that runs its encoder-decoder at several input scales and fuses the logits."""

import numbers
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList, add_prefix
from torch import Tensor


class _ScaleAttention(BaseModule):
    """The attention model of Attention to Scale: per-pixel scores, one per scale, from the
    features of every scale concatenated (3x3 conv + ReLU, then 1x1 to ``num_scales``).

    The 1x1 layer starts at zero, so the weights start uniform: the segmentor starts as the mean
    fusion and learns to move away from it.

    Args:
        in_channels (int): Channels of one scale's features.
        num_scales (int): Scales, i.e. output channels.
        channels (int): Width of the hidden layer. Default: 256.
        kernel_size (int): Kernel of the hidden layer. Default: 3.
        norm_cfg (dict, optional): Norm after the hidden conv (the paper has none).
            Default: None.
        init_cfg (dict | list[dict], optional): Initialization config. Default: Kaiming convs,
            zero last layer.
    """

    def __init__(
        self,
        in_channels,
        num_scales,
        channels=256,
        kernel_size=3,
        norm_cfg=None,
        init_cfg=dict(
            type='Kaiming',
            layer='Conv2d',
            override=dict(type='Constant', name='scale_logits', val=0),
        ),
    ):
        super().__init__(init_cfg)
        self.hidden = ConvModule(
            in_channels * num_scales,
            channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=norm_cfg,
        )
        self.scale_logits = nn.Conv2d(channels, num_scales, 1)

    def forward(self, x):
        """Unnormalised scale scores, (N, num_scales, H, W)."""
        return self.scale_logits(self.hidden(x))


@MODELS.register_module()
class MultiScaleEncoderDecoder(EncoderDecoder):
    """Encoder-decoder run at several input scales with shared weights, its logits fused.

    The input is resized by each of ``scales``; backbone (+ neck) and decode head run on each
    copy; each scale's logits are resized to the output size and fused per pixel by ``fusion``:

    - ``'mean'``: their average;
    - ``'max'``: their element-wise maximum (DeepLab's multi-scale max fusion);
    - ``'attention'``: a weighted sum whose weights a small head predicts per pixel from the
      features of all scales, softmax over the scales, as in `Attention to Scale: Scale-aware
      Semantic Image Segmentation <https://arxiv.org/abs/1511.03339>`_ (Chen et al., CVPR 2016).

    Training runs the same path end to end: the decode head's ``loss_decode`` is applied to the
    fused logits (``decode.*`` losses), and with ``scale_loss_weight > 0`` the decode head's own
    loss at every scale is added, weighted (``decode_x{scale}.*``; the paper's extra supervision).
    Inference reuses mmseg's ``inference`` (whole or slide: each window is run at every scale) and
    ``postprocess_result``; mmseg's ``SegTTAModel`` runs on top of it as on any segmentor. Cost:
    about ``sum(scale ** 2)`` times one scale (5.6 for the default scales, 1.81 for 0.5, 0.75,
    1.0), plus the attention head, which reads ``num_scales`` times the backbone's channels.

    Args:
        backbone, decode_head, neck, auxiliary_head, train_cfg, test_cfg, data_preprocessor,
            pretrained, init_cfg: As :class:`mmseg.models.segmentors.EncoderDecoder`.
        scales (Sequence[float]): Factors the input is resized by (bilinear). 1.0 runs the input
            as it is. Default: (0.5, 0.75, 1.0, 1.25, 1.5).
        fusion (str): 'mean', 'max' or 'attention'. Default: 'mean'.
        attention_cfg (dict, optional): Only with ``fusion='attention'``: ``in_index`` (which
            feature map of the backbone / neck the attention reads; default the decode head's
            ``in_index``), ``in_channels`` (its channels; default the decode head's
            ``in_channels``), ``channels`` (hidden width, default 256), ``kernel_size`` (default
            3), ``norm_cfg`` (default None). The features of every scale are resized to those of
            the scale nearest 1 before they are concatenated. Default: None.
        scale_loss_weight (float): Weight of the per-scale losses; 0 trains on the fused logits
            only. Default: 0.0.

    Example:
        >>> import torch
        >>> import mmseg_dilated  # noqa: F401 (registers DRN, ContextHead)
        >>> from mmseg.registry import MODELS
        >>> from mmengine.registry import init_default_scope
        >>> init_default_scope('mmseg')
        >>> model = MODELS.build(dict(
        ...     type='MultiScaleEncoderDecoder', scales=(0.5, 1.0), fusion='attention',
        ...     backbone=dict(type='DRN', arch='D', depth=22, base_channels=2, num_levels=3),
        ...     decode_head=dict(type='FCNHead', in_channels=8, channels=8, num_convs=1,
        ...                      num_classes=3), test_cfg=dict(mode='whole')))
        >>> tuple(model(torch.rand(1, 3, 32, 32), mode='tensor').shape)
        (1, 3, 32, 32)
        >>> tuple(model.scale_weights(torch.rand(1, 3, 32, 32)).shape)
        (1, 2, 32, 32)
    """

    fusions = ('mean', 'max', 'attention')

    def __init__(
        self,
        backbone: ConfigType,
        decode_head: ConfigType,
        scales: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5),
        fusion: str = 'mean',
        attention_cfg: OptConfigType = None,
        scale_loss_weight: float = 0.0,
        neck: OptConfigType = None,
        auxiliary_head: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        data_preprocessor: OptConfigType = None,
        pretrained: Optional[str] = None,
        init_cfg: OptMultiConfig = None,
    ):
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg,
        )
        self.scales = self._check_scales(scales)
        if fusion not in self.fusions:
            raise ValueError(f'fusion must be one of {self.fusions}, got {fusion!r}')
        if not (isinstance(scale_loss_weight, numbers.Real) and scale_loss_weight >= 0):
            raise ValueError(f'scale_loss_weight must be a number >= 0, got {scale_loss_weight!r}')
        self.fusion = fusion
        self.scale_loss_weight = float(scale_loss_weight)
        # The auxiliary head and the attention's resolution use the scale nearest the input's.
        self.ref_index = min(range(len(self.scales)), key=lambda i: abs(self.scales[i] - 1))
        if fusion == 'attention':
            self._init_attention(dict(attention_cfg or {}))
        elif attention_cfg is not None:
            raise ValueError(
                f"attention_cfg is only used with fusion='attention', got fusion={fusion!r}"
            )

    @staticmethod
    def _check_scales(scales):
        ok = (
            isinstance(scales, Sequence)
            and not isinstance(scales, str)
            and len(scales) > 0
            and all(
                isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in scales
            )
        )
        if not ok or len(set(scales)) != len(scales):
            raise ValueError(
                'scales must be a non-empty list/tuple of distinct positive numbers, '
                f'e.g. (0.5, 0.75, 1.0, 1.25, 1.5); got {scales!r}'
            )
        return tuple(float(s) for s in scales)

    def _init_attention(self, cfg):
        head = self.decode_head
        in_index = cfg.pop('in_index', head.in_index)
        in_channels = cfg.pop('in_channels', head.in_channels)
        if not isinstance(in_index, int) or not isinstance(in_channels, int):
            raise ValueError(
                'attention_cfg needs an int in_index and in_channels when the decode '
                f'head reads several feature maps (its in_index={head.in_index!r}, '
                f'in_channels={head.in_channels!r})'
            )
        self.attention_in_index = in_index
        self.attention = _ScaleAttention(in_channels, len(self.scales), **cfg)

    def _scaled(self, inputs: Tensor, scale: float) -> Tensor:
        if scale == 1:
            return inputs
        h, w = inputs.shape[-2:]
        size = (max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5)))
        return resize(inputs, size=size, mode='bilinear', align_corners=self.align_corners)

    def multi_scale_forward(self, inputs: Tensor):
        """Features and decode-head logits of every scale, each at its own resolution.

        Returns:
            tuple[list[list[Tensor]], list[Tensor]]: ``extract_feat`` output and the decode
            head's ``forward`` output, one entry per scale.
        """
        feats, logits = [], []
        for scale in self.scales:
            x = self.extract_feat(self._scaled(inputs, scale))
            feats.append(x)
            logits.append(self.decode_head.forward(x))
        return feats, logits

    def _resize(self, x: Tensor, size) -> Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return resize(x, size=tuple(size), mode='bilinear', align_corners=self.align_corners)

    def _scale_weights(self, feats: List[List[Tensor]], size) -> Tensor:
        ref_size = feats[self.ref_index][self.attention_in_index].shape[-2:]
        x = torch.cat([self._resize(f[self.attention_in_index], ref_size) for f in feats], dim=1)
        return self._resize(self.attention(x), size).softmax(dim=1)

    def scale_weights(self, inputs: Tensor) -> Tensor:
        """The attention's per-pixel scale weights at the input's size, (N, num_scales, H, W);
        they sum to 1 over the scales. Only with ``fusion='attention'``."""
        if self.fusion != 'attention':
            raise ValueError(f"scale_weights needs fusion='attention', got {self.fusion!r}")
        feats, _ = self.multi_scale_forward(inputs)
        return self._scale_weights(feats, inputs.shape[-2:])

    def fuse(self, feats: List[List[Tensor]], logits: List[Tensor]) -> Tensor:
        """Fuse per-scale logits that are already at one size."""
        stacked = torch.stack(logits)  # (S, N, C, H, W)
        if self.fusion == 'mean':
            return stacked.mean(dim=0)
        if self.fusion == 'max':
            return stacked.max(dim=0).values
        weights = self._scale_weights(feats, stacked.shape[-2:])  # (N, S, H, W)
        return (stacked * weights.transpose(0, 1).unsqueeze(2)).sum(dim=0)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Fused logits at the size the decode head's ``predict`` gives (the image's or window's),
        each scale resized there by the head's own ``predict_by_feat``."""
        feats, logits = self.multi_scale_forward(inputs)
        return self.fuse(
            feats, [self.decode_head.predict_by_feat(x, batch_img_metas) for x in logits]
        )

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        """Fused logits at the input's size (``mode='tensor'``)."""
        feats, logits = self.multi_scale_forward(inputs)
        return self.fuse(feats, [self._resize(x, inputs.shape[-2:]) for x in logits])

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The decode head's losses on the fused logits (at the label's size), plus the weighted
        per-scale losses and the auxiliary head's (on the scale nearest 1)."""
        feats, logits = self.multi_scale_forward(inputs)
        size = data_samples[0].gt_sem_seg.shape
        fused = self.fuse(feats, [self._resize(x, size) for x in logits])
        losses = add_prefix(self.decode_head.loss_by_feat(fused, data_samples), 'decode')
        if self.scale_loss_weight:
            for scale, x in zip(self.scales, feats):
                scale_losses = self.decode_head.loss(x, data_samples, self.train_cfg)
                losses.update(
                    add_prefix(
                        {
                            k: v * self.scale_loss_weight if k.startswith('loss') else v
                            for k, v in scale_losses.items()
                        },
                        f'decode_x{scale:g}',
                    )
                )
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(feats[self.ref_index], data_samples))
        return losses
