"""Dilated VGG-16 front-end of Yu & Koltun (ICLR 2016) as an mmseg backbone."""

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..common import (
    FrozenNormEvalMixin,
    check_block_dilations,
    check_frozen_stages,
    check_out_indices,
    check_positive_ints,
    checkpoint_if,
    freeze,
    resolve_init_cfg,
)


@MODELS.register_module()
class DilatedVGG(FrozenNormEvalMixin, BaseModule):
    """Dilated VGG-16 front-end.

    This backbone implements the front-end of `Multi-Scale Context
    Aggregation by Dilated Convolutions <https://arxiv.org/abs/1511.07122>`_:
    VGG-16 with pool4 and pool5 removed, conv5_x dilated by 2 and fc6/fc7
    turned into convolutions (fc6: 7x7, dilation 4; fc7: 1x1), each followed
    by ReLU and dropout. Output stride 8.

    Padding: every conv uses "same" padding, ``dilation * (k - 1) / 2``, and
    the pools round up (``ceil_mode``, as Caffe does), so an ``n`` pixel side
    becomes ``ceil(ceil(ceil(n / 2) / 2) / 2)``. The original release uses
    unpadded ("valid") convs on an input reflection-padded by 186 px; that
    layout does not fit mmseg's crop/pad pipeline, so it is not reproduced.

    Levels (``out_indices``, module names in brackets): 0 conv1 (conv1_1,
    conv1_2, pool1), 1 conv2 (conv2_x, pool2), 2 conv3 (conv3_x, pool3),
    3 conv4 (conv4_x), 4 conv5 (conv5_x, dilated), 5 fc (fc6, drop6, fc7,
    drop7). Strides 2, 4, 8, 8, 8, 8; channels 64, 128, 256, 512, 512,
    ``fc_channels``.

    Args:
        in_channels (int): Input image channels. Default: 3.
        fc_channels (int): Width of fc6/fc7 (4096 in VGG-16; smaller values
            for cheap experiments, which cannot load the ImageNet fc6/fc7).
            Default: 4096.
        dilations (Sequence[int]): Dilation of each level (conv1..conv5, fc6).
            Default: (1, 1, 1, 1, 2, 4).
        block_dilations (dict[int, Sequence[int]], optional): Per-conv rates
            for some levels, for hybrid dilated convolution (`Wang et al.,
            WACV 2018 <https://arxiv.org/abs/1702.08502>`_): level number
            (1..5 = conv1..conv5, 6 = fc6) -> one rate per 3x3 conv of the
            level (fc6 has one), or a cycle whose length divides that count,
            e.g. ``{5: (1, 2, 5)}`` for conv5_1..conv5_3. A level named here
            ignores ``dilations``. None keeps the per-level rates.
            Default: None.
        dropout_ratio (float): Dropout after fc6 and fc7. Default: 0.5.
        out_indices (Sequence[int]): Levels to return. Default: (5, ).
        frozen_stages (int): Freeze (stop grad, eval mode) the first
            ``frozen_stages`` levels; -1 (or 0) freezes nothing. Default: -1.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict, optional): Norm layer after conv1_1..conv5_3 (VGG-16
            has none; dict(type='BN') gives the vgg16_bn layout). fc6/fc7
            never have one. Default: None.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Default: False.
        with_cp (bool): Gradient checkpointing per level (the convs between two pools, and
            fc6-fc7). Default: False.
        pretrained (str, optional): Deprecated, use ``init_cfg``.
            Default: None.
        init_cfg (dict or list[dict], optional): Initialization config. None
            gives Kaiming normal (fan_out) convs and norm weight 1, bias 0.
            Default: None.

    Attributes:
        level_channels (tuple[int]): Output channels of every level.
        out_channels (tuple[int]): Output channels of the returned levels.

    Example:
        >>> from mmseg_dilated.models.backbones import DilatedVGG
        >>> import torch
        >>> self = DilatedVGG(fc_channels=256, out_indices=(0, 2, 4, 5)).eval()
        >>> inputs = torch.rand(1, 3, 33, 33)
        >>> level_outputs = self.forward(inputs)
        >>> for level_out in level_outputs:
        ...     print(tuple(level_out.shape))
        (1, 64, 17, 17)
        (1, 256, 5, 5)
        (1, 512, 5, 5)
        (1, 256, 5, 5)
    """

    # (channels, number of 3x3 convs, max pool after the level) per level
    conv_levels = ((64, 2, True), (128, 2, True), (256, 3, True), (512, 3, False), (512, 3, False))
    num_levels = 6

    def __init__(
        self,
        in_channels=3,
        fc_channels=4096,
        dilations=(1, 1, 1, 1, 2, 4),
        block_dilations=None,
        dropout_ratio=0.5,
        out_indices=(5,),
        frozen_stages=-1,
        conv_cfg=None,
        norm_cfg=None,
        norm_eval=False,
        with_cp=False,
        pretrained=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        self.init_cfg = resolve_init_cfg(pretrained, init_cfg)

        n = self.num_levels
        dilations = check_positive_ints(
            'dilations', dilations, n, ' (conv1..conv5, fc6), e.g. (1, 1, 1, 1, 2, 4)'
        )
        convs_per_level = tuple(c for _, c, _ in self.conv_levels) + (1,)
        block_dilations = check_block_dilations(
            block_dilations,
            convs_per_level,
            f'conv1..conv5 and fc6 of DilatedVGG, with {convs_per_level} dilatable convs',
        )
        rates = [
            block_dilations.get(i + 1, (d,) * c)
            for i, (d, c) in enumerate(zip(dilations, convs_per_level))
        ]
        out_indices = check_out_indices(out_indices, n, 'conv1..conv5, fc')
        check_frozen_stages(frozen_stages, n)
        if not (isinstance(fc_channels, int) and fc_channels > 0):
            raise ValueError(f'fc_channels must be a positive int, got {fc_channels!r}')

        self.fc_channels = fc_channels
        self.dilations = dilations
        self.block_dilations = block_dilations
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        # level index -> names of its modules in forward order
        self.level_modules = []
        channels = in_channels
        for i, (width, num_convs, pool) in enumerate(self.conv_levels):
            names = []
            for j in range(num_convs):
                name = f'conv{i + 1}_{j + 1}'
                self.add_module(
                    name,
                    ConvModule(
                        channels,
                        width,
                        3,
                        padding=rates[i][j],
                        dilation=rates[i][j],
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                    ),
                )
                names.append(name)
                channels = width
            if pool:
                name = f'pool{i + 1}'
                self.add_module(name, nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
                names.append(name)
            self.level_modules.append(names)
        self.fc6 = ConvModule(
            channels,
            fc_channels,
            7,
            padding=3 * rates[5][0],
            dilation=rates[5][0],
            conv_cfg=conv_cfg,
        )
        self.drop6 = nn.Dropout(dropout_ratio)
        self.fc7 = ConvModule(fc_channels, fc_channels, 1, conv_cfg=conv_cfg)
        self.drop7 = nn.Dropout(dropout_ratio)
        self.level_modules.append(['fc6', 'drop6', 'fc7', 'drop7'])

        self.level_channels = tuple(w for w, _, _ in self.conv_levels) + (fc_channels,)
        self.out_channels = tuple(self.level_channels[i] for i in out_indices)
        self._freeze_stages()

    def _freeze_stages(self):
        """Freeze the first ``frozen_stages`` levels."""
        freeze(
            getattr(self, name)
            for names in self.level_modules[: max(self.frozen_stages, 0)]
            for name in names
        )

    def forward(self, x):
        """Forward function.

        Returns:
            tuple[Tensor]: Feature maps of the levels in ``out_indices``.
        """
        outs = []
        for i, names in enumerate(self.level_modules):
            # Whole levels, not single convs: with in-place ReLUs and no norm, a checkpointed
            # conv alone keeps the same tensors alive as an ordinary one.
            x = checkpoint_if(self.with_cp, self._run_level, names, x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _run_level(self, names, x):
        for name in names:
            x = getattr(self, name)(x)
        return x
