"""Parallel multi-scale context block: dilated 3x3 branches side by side, fused by a 1x1 conv."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ..common import check_positive_ints, checkpoint_if


@MODELS.register_module()
class ParallelContextHead(BaseDecodeHead):
    """Parallel multi-scale context aggregation with dilated convolutions.

    A *parallel* reading of `Multi-Scale Context Aggregation by Dilated
    Convolutions <https://arxiv.org/abs/1511.07122>`_: 3x3 convolutions with
    dilations 1, 2, 4, 8 look at the same input side by side, their outputs
    are concatenated and fused by a 1x1 convolution. It is the ASPP idea
    (`DeepLabV3 <https://arxiv.org/abs/1706.05587>`_) without image pooling,
    and differs from the paper's context module (:class:`ContextHead`), which
    stacks the dilated layers in a cascade on class scores.

    When ``in_channels != channels`` a 1x1 ``input_conv`` first reduces the
    features, so the four 3x3 branches run at ``channels`` wide rather than
    on e.g. 2048 backbone channels. Every conv is a ``ConvModule`` with the
    head's ``conv_cfg``, ``norm_cfg`` and ``act_cfg``.

    Args:
        dilations (Sequence[int]): Dilation of each parallel 3x3 branch.
            Default: (1, 2, 4, 8).
        with_cp (bool): Use gradient checkpointing on the branches and the
            fusion conv. Saves memory at the cost of a second forward pass.
            Default: False.
    """

    def __init__(self, dilations=(1, 2, 4, 8), with_cp=False, **kwargs):
        super().__init__(**kwargs)
        dilations = check_positive_ints('dilations', dilations)
        self.dilations = tuple(dilations)
        self.with_cp = with_cp
        if self.in_channels != self.channels:
            self.input_conv = ConvModule(
                self.in_channels,
                self.channels,
                1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
        else:
            self.input_conv = None
        self.branches = nn.ModuleList(
            ConvModule(
                self.channels,
                self.channels,
                3,
                padding=dilation,
                dilation=dilation,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
            for dilation in self.dilations
        )
        self.fusion = ConvModule(
            len(self.dilations) * self.channels,
            self.channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def _aggregate(self, x):
        return self.fusion(torch.cat([branch(x) for branch in self.branches], dim=1))

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
        if self.input_conv is not None:
            x = self.input_conv(x)
        return checkpoint_if(self.with_cp, self._aggregate, x)

    def forward(self, inputs):
        """Forward function."""
        return self.cls_seg(self._forward_feature(inputs))
