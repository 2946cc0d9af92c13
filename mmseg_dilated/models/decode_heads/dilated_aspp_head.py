"""DeepLabV3's ASPP as the paper has it, with mmseg's ASPPHead as a setting."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..common import check_positive_ints, checkpoint_if

# Rates of the three 3x3 branches per output stride (DeepLabV3, Sec. 3.3).
RATES_BY_OUTPUT_STRIDE = {16: (6, 12, 18), 8: (12, 24, 36)}


def _is_channels_last(x):
    """Whether a 4-d tensor is laid out NHWC and not also NCHW (a tensor with
    one channel or a 1x1 map is both)."""
    return (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    )


@MODELS.register_module()
class DilatedASPPHead(BaseDecodeHead):
    """Rethinking Atrous Convolution for Semantic Image Segmentation.

    Atrous Spatial Pyramid Pooling as in `DeepLabV3
    <https://arxiv.org/abs/1706.05587>`_: a 1x1 branch, three 3x3 atrous
    branches whose rates follow the backbone's output stride ((6, 12, 18) at
    16, (12, 24, 36) at 8), an image-pooling branch (global average pool,
    1x1 conv, norm, activation, bilinear upsampling), concatenation, a 1x1
    projection with norm and activation, dropout and ``conv_seg``. All
    branches are ``channels`` wide and use the head's ``norm_cfg`` and
    ``act_cfg`` (the paper: BN + ReLU).

    Beyond mmseg's ``ASPPHead`` it can use depthwise-separable 3x3 branches,
    drop image pooling, and take the rates from ``output_stride``.
    ``fusion_kernel_size=3`` with ``dilations=(1, 12, 24, 36)`` and image
    pooling on is mmseg's ``ASPPHead``: the submodules carry the same names
    (``image_pool``, ``aspp_modules``, ``bottleneck``, ``conv_seg``) and
    concatenate in the same order (pooling first), so its state dicts load
    unchanged and give the same output. The separable branches likewise
    match mmseg's ``DepthwiseSeparableASPPHead`` naming.

    Args:
        output_stride (int | None): Output stride of the backbone, 8 or 16;
            sets ``dilations`` to ``(1, ) + rates``. Give this or
            ``dilations``, not both; with neither, 8 (the D8 backbones this
            package targets). Default: None.
        dilations (Sequence[int] | None): Rate of each conv branch, given
            directly. A rate of 1 makes a 1x1 branch (DeepLabV3's 1x1 conv),
            larger rates 3x3 atrous branches, e.g. (1, 12, 24, 36).
            Default: None.
        image_pooling (bool): Whether to add the image-pooling branch.
            Default: True.
        separable (bool): Use depthwise-separable convs (depthwise 3x3 +
            pointwise 1x1, norm and activation after each) in the 3x3
            branches. Default: False.
        fusion_kernel_size (int): Kernel size of the projection that fuses the
            concatenated branches: 1 in the paper, 3 in mmseg's ASPPHead.
            Default: 1.
        with_cp (bool): Use gradient checkpointing on the branches. Saves
            memory at the cost of a second forward pass. Default: False.
    """

    def __init__(
        self,
        output_stride=None,
        dilations=None,
        image_pooling=True,
        separable=False,
        fusion_kernel_size=1,
        with_cp=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_stride is not None and dilations is not None:
            raise ValueError(
                f'give output_stride or dilations, not both (got {output_stride} and {dilations!r})'
            )
        if dilations is None:
            output_stride = 8 if output_stride is None else output_stride
            if output_stride not in RATES_BY_OUTPUT_STRIDE:
                raise ValueError(
                    'output_stride must be one of '
                    f'{tuple(RATES_BY_OUTPUT_STRIDE)}, got {output_stride!r}'
                )
            dilations = (1,) + RATES_BY_OUTPUT_STRIDE[output_stride]
        dilations = check_positive_ints('dilations', dilations)
        if not (
            isinstance(fusion_kernel_size, int)
            and fusion_kernel_size > 0
            and fusion_kernel_size % 2 == 1
        ):
            raise ValueError(
                f'fusion_kernel_size must be a positive odd int, got {fusion_kernel_size!r}'
            )
        self.output_stride = output_stride
        self.dilations = tuple(dilations)
        self.image_pooling = image_pooling
        self.separable = separable
        self.fusion_kernel_size = fusion_kernel_size
        self.with_cp = with_cp

        if image_pooling:
            self.image_pool = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                ConvModule(
                    self.in_channels,
                    self.channels,
                    1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                ),
            )
        else:
            self.image_pool = None
        self.aspp_modules = nn.ModuleList(
            self._make_branch(dilation) for dilation in self.dilations
        )
        num_branches = len(self.dilations) + int(image_pooling)
        self.bottleneck = ConvModule(
            num_branches * self.channels,
            self.channels,
            fusion_kernel_size,
            padding=fusion_kernel_size // 2,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def _make_branch(self, dilation):
        if dilation == 1:
            return ConvModule(
                self.in_channels,
                self.channels,
                1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
        conv_type = DepthwiseSeparableConvModule if self.separable else ConvModule
        return conv_type(
            self.in_channels,
            self.channels,
            3,
            padding=dilation,
            dilation=dilation,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def _branches(self, x):
        outs = []
        if self.image_pool is not None:
            pooled = resize(
                self.image_pool(x),
                size=x.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners,
            )
            # Upsampling a 1x1 map gives an NCHW tensor whatever the layout
            # of x, and torch.cat of mixed layouts falls back to NCHW: on a
            # channels_last model the concatenation and the fusion conv's
            # input would then be transposed on every forward (about 6% of
            # DRN-D-38 + ASPP's CPU latency). Keep the layout of x.
            if _is_channels_last(x):
                pooled = pooled.contiguous(memory_format=torch.channels_last)
            outs.append(pooled)
        outs.extend(branch(x) for branch in self.aspp_modules)
        return torch.cat(outs, dim=1)

    def _forward_feature(self, inputs):
        """Forward function for feature maps before classifying each pixel with
        ``self.cls_seg`` fc.

        Args:
            inputs (list[Tensor]): List of multi-level img features.

        Returns:
            feats (Tensor): A tensor of shape (batch_size, self.channels,
                H, W) which is feature map for last layer of decoder head.
        """
        x = self._transform_inputs(inputs)
        return self.bottleneck(checkpoint_if(self.with_cp, self._branches, x))

    def forward(self, inputs):
        """Forward function."""
        return self.cls_seg(self._forward_feature(inputs))
