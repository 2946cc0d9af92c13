"""Dilated Residual Networks (DRN-A, DRN-C, DRN-D) as an mmseg backbone."""

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
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


class DRNBasicBlock(BaseModule):
    """Two 3x3 convs with a dilation pair, optionally without the shortcut.

    Args:
        inplanes (int): Input channels.
        planes (int): Output channels.
        stride (int): Stride of the first conv. Default: 1.
        dilation (tuple[int, int]): Dilations of the two convs. Default: (1, 1).
        downsample (nn.Module, optional): Shortcut projection. Default: None.
        residual (bool): Whether to add the shortcut. DRN-C's degridding levels
            (layer7/layer8) use False. Default: True.
        with_cp (bool): Use gradient checkpointing. Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: dict(type='BN').
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    expansion = 1

    def __init__(
        self,
        inplanes,
        planes,
        stride=1,
        dilation=(1, 1),
        downsample=None,
        residual=True,
        with_cp=False,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        self.conv1 = build_conv_layer(
            conv_cfg,
            inplanes,
            planes,
            3,
            stride=stride,
            padding=dilation[0],
            dilation=dilation[0],
            bias=False,
        )
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = build_conv_layer(
            conv_cfg, planes, planes, 3, padding=dilation[1], dilation=dilation[1], bias=False
        )
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.downsample = downsample
        self.residual = residual
        self.with_cp = with_cp
        if downsample is not None and not residual:
            # The reference builds (and its checkpoints store) a projection
            # that a block without shortcut never uses (DRN-C-58 layer7).
            # It is kept for checkpoint compatibility, frozen so that DDP
            # does not stop on parameters that never receive a gradient.
            downsample.requires_grad_(False)

    @property
    def norm1(self):
        """nn.Module: the norm layer after the first conv."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        """nn.Module: the norm layer after the second conv."""
        return getattr(self, self.norm2_name)

    def forward(self, x):
        """Forward function."""

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(out))
            if self.residual:
                identity = x if self.downsample is None else self.downsample(x)
                out += identity
            return out

        return self.relu(checkpoint_if(self.with_cp, _inner_forward, x))


class DRNBottleneck(BaseModule):
    """1x1 -> 3x3 (strided, dilated) -> 1x1 bottleneck, expansion 4.

    As in the reference, the 3x3 conv takes the second entry of the dilation
    pair (the first entry would belong to the 1x1 conv). Arguments as
    :class:`DRNBasicBlock`; ``planes`` is the inner width.
    """

    expansion = 4

    def __init__(
        self,
        inplanes,
        planes,
        stride=1,
        dilation=(1, 1),
        downsample=None,
        residual=True,
        with_cp=False,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        out_channels = planes * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            conv_cfg,
            planes,
            planes,
            3,
            stride=stride,
            padding=dilation[1],
            dilation=dilation[1],
            bias=False,
        )
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, planes, out_channels, 1, bias=False)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.residual = residual
        self.with_cp = with_cp
        if downsample is not None and not residual:
            downsample.requires_grad_(False)

    @property
    def norm1(self):
        """nn.Module: the norm layer after the first conv."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        """nn.Module: the norm layer after the second conv."""
        return getattr(self, self.norm2_name)

    @property
    def norm3(self):
        """nn.Module: the norm layer after the third conv."""
        return getattr(self, self.norm3_name)

    def forward(self, x):
        """Forward function."""

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.relu(self.norm2(self.conv2(out)))
            out = self.norm3(self.conv3(out))
            if self.residual:
                identity = x if self.downsample is None else self.downsample(x)
                out += identity
            return out

        return self.relu(checkpoint_if(self.with_cp, _inner_forward, x))


class DRNConvLevel(nn.Sequential):
    """``num_convs`` x (conv, norm, ReLU) without shortcut (DRN-D levels).

    The children are indexed 0, 1, 2, 3, ... exactly as the reference's
    ``nn.Sequential`` (every third one is a weightless ReLU), so checkpoint
    keys such as ``layer1.0.weight`` / ``layer1.1.running_mean`` map 1:1.
    ``dilation`` is one rate for every conv or a sequence of one per conv.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        num_convs,
        kernel_size=3,
        stride=1,
        dilation=1,
        with_cp=False,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
    ):
        rates = (dilation,) * num_convs if isinstance(dilation, int) else tuple(dilation)
        layers = []
        for i, rate in enumerate(rates):
            layers += [
                build_conv_layer(
                    conv_cfg,
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    kernel_size,
                    stride=stride if i == 0 else 1,
                    padding=rate * (kernel_size - 1) // 2,
                    dilation=rate,
                    bias=False,
                ),
                build_norm_layer(norm_cfg, out_channels)[1],
                nn.ReLU(inplace=True),
            ]
        super().__init__(*layers)
        self.with_cp = with_cp

    def forward(self, x):
        """Forward function."""
        for i in range(0, len(self), 3):
            conv, norm, act = self[i], self[i + 1], self[i + 2]

            def _inner_forward(x, conv=conv, norm=norm, act=act):
                return act(norm(conv(x)))

            x = checkpoint_if(self.with_cp, _inner_forward, x)
        return x


_BLOCKS = {'basic': DRNBasicBlock, 'bottleneck': DRNBottleneck}


@MODELS.register_module()
class DRN(FrozenNormEvalMixin, BaseModule):
    """Dilated Residual Networks.

    This backbone implements `Dilated Residual Networks
    <https://arxiv.org/abs/1705.09914>`_ (Yu, Koltun and Funkhouser, CVPR
    2017) with the module layout of the authors' release, so that their
    checkpoints load after ``mmseg-dilated drn2mmseg`` (which
    only renames DRNSeg keys and drops the classifier).

    Architectures (one table, :attr:`arch_settings`):

    - ``'A'``: torchvision ResNet whose layer3/layer4 trade striding for
      dilation 2/4 (levels ``layer1..layer4``, stem ``conv1/bn1`` + max pool).
    - ``'C'``: 7x7 stride-1 stem (``conv1/bn1``), eight levels
      ``layer1..layer8``; layer1/2 are basic residual blocks, layer7/8 are
      basic blocks without shortcut (degridding).
    - ``'D'``: stem ``layer0`` and levels layer1/2/7/8 are plain
      conv-norm-ReLU stacks; layer3..6 residual blocks.

    All variants have output stride 8. Each stride-2 3x3 conv is padded by
    1, so an ``n`` pixel side becomes ``ceil(n / 2)``: 33 -> 5, 65 -> 9.

    Args:
        arch (str): 'A', 'C' or 'D'. Default: 'D'.
        depth (int): Depth; valid pairs are A-18/34/50, C-26/42/58,
            D-22/24/38/40/54/56/105/107. Default: 22.
        in_channels (int): Input image channels. Default: 3.
        base_channels (int, optional): Width of the first level. The level
            widths are base_channels * (1, 2, 4, 8, 16, 32, 32, 32) for C/D
            (16 gives the reference's 16..512) and base_channels *
            (1, 2, 4, 8) (times the block expansion) for A, whose stem is
            base_channels wide. None means 16 for C/D and 64 for A.
            Default: None.
        strides (Sequence[int], optional): Stride of each level (8 entries
            for C/D, 4 for A). None means (1, 2, 2, 2, 1, 1, 1, 1) for C/D and
            (1, 2, 1, 1) for A. Default: None.
        dilations (Sequence[int], optional): Dilation of each level. None
            means (1, 1, 1, 1, 2, 4, 2, 1) for C/D and (1, 1, 2, 4) for A.
            Default: None.
        dilation_mode (str): Dilation pair of the first block of a dilated
            residual level (layer5/6 of C/D, layer3/4 of A). ``'reference'``
            follows the authors' released code, which the published weights
            were trained with: C/D use (d, d) (their ``new_level=False``) and A
            leaves the first block undilated, (1, 1). ``'half'`` uses (d/2, d)
            as stated in the paper's notation. Bottleneck blocks take their
            3x3 dilation from the second entry. Default: 'reference'.
        block_dilations (dict[int, Sequence[int]], optional): Per-block
            rates for some levels, for hybrid dilated convolution (`Wang et
            al., WACV 2018 <https://arxiv.org/abs/1702.08502>`_): level number
            (5 = ``layer5``) -> one rate per block (per conv of a
            conv-norm-ReLU level), or a cycle whose length divides the
            level's block count, e.g. ``{5: (1, 2, 5), 6: (5, 9, 17)}`` for
            DRN-D-38 (layer5's six blocks get 1, 2, 5, 1, 2, 5). A residual
            block takes its rate for both 3x3 convs (a bottleneck for its one
            3x3). A level named here ignores ``dilations`` and
            ``dilation_mode``. None keeps the per-level rates. Default: None.
        num_levels (int, optional): Build only the stem and the first
            ``num_levels`` levels, as mmseg's ResNet ``num_stages`` does: a
            shallower, smaller-field front-end (e.g. 3 for DRN-C/D gives
            layer1..layer3, output stride 4). None builds every level.
            Default: None.
        out_indices (Sequence[int]): Levels to return (0 = layer1). None
            means the last built level only. Default: None.
        frozen_stages (int): Freeze (stop grad, eval mode) the stem and the
            first ``frozen_stages`` levels; -1 freezes nothing, 0 the stem
            only. Default: -1.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config (BN, SyncBN, GN, ...).
            Default: dict(type='BN', requires_grad=True).
        norm_eval (bool): Keep BN layers in eval mode (frozen statistics)
            while training. Default: False.
        with_cp (bool): Gradient checkpointing per block / per conv unit.
            Default: False.
        pretrained (str, optional): Deprecated, use
            ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
            Default: None.
        init_cfg (dict or list[dict], optional): Initialization config. None
            gives the reference init: Kaiming normal (fan_out, ReLU) convs,
            norm weight 1 and bias 0. Default: None.

    Attributes:
        level_channels (tuple[int]): Output channels of every level.
        out_channels (tuple[int]): Output channels of the returned levels.

    Example:
        >>> from mmseg_dilated.models.backbones import DRN
        >>> import torch
        >>> self = DRN(arch='D', depth=22, out_indices=(1, 3, 7)).eval()
        >>> inputs = torch.rand(1, 3, 33, 33)
        >>> level_outputs = self.forward(inputs)
        >>> for level_out in level_outputs:
        ...     print(tuple(level_out.shape))
        (1, 32, 17, 17)
        (1, 128, 5, 5)
        (1, 512, 5, 5)
    """

    # arch -> depth -> (block of the main residual levels, blocks per level)
    arch_settings = {
        'A': {
            18: ('basic', (2, 2, 2, 2)),
            34: ('basic', (3, 4, 6, 3)),
            50: ('bottleneck', (3, 4, 6, 3)),
        },
        'C': {
            26: ('basic', (1, 1, 2, 2, 2, 2, 1, 1)),
            42: ('basic', (1, 1, 3, 4, 6, 3, 1, 1)),
            58: ('bottleneck', (1, 1, 3, 4, 6, 3, 1, 1)),
        },
        'D': {
            22: ('basic', (1, 1, 2, 2, 2, 2, 1, 1)),
            24: ('basic', (1, 1, 2, 2, 2, 2, 2, 2)),
            38: ('basic', (1, 1, 3, 4, 6, 3, 1, 1)),
            40: ('basic', (1, 1, 3, 4, 6, 3, 2, 2)),
            54: ('bottleneck', (1, 1, 3, 4, 6, 3, 1, 1)),
            56: ('bottleneck', (1, 1, 3, 4, 6, 3, 2, 2)),
            105: ('bottleneck', (1, 1, 3, 4, 23, 3, 1, 1)),
            107: ('bottleneck', (1, 1, 3, 4, 23, 3, 2, 2)),
        },
    }

    # How each level is built. Kinds: 'block' = the variant's residual block,
    # 'basic' = residual basic block, 'basic_nores' = basic block without
    # shortcut, 'conv' = conv-norm-ReLU stack.
    level_layouts = {
        'A': dict(
            kinds=('block',) * 4,
            width_mults=(1, 2, 4, 8),
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            default_base=64,
        ),
        'C': dict(
            kinds=(
                'basic',
                'basic',
                'block',
                'block',
                'block',
                'block',
                'basic_nores',
                'basic_nores',
            ),
            width_mults=(1, 2, 4, 8, 16, 32, 32, 32),
            strides=(1, 2, 2, 2, 1, 1, 1, 1),
            dilations=(1, 1, 1, 1, 2, 4, 2, 1),
            default_base=16,
        ),
        'D': dict(
            kinds=('conv', 'conv', 'block', 'block', 'block', 'block', 'conv', 'conv'),
            width_mults=(1, 2, 4, 8, 16, 32, 32, 32),
            strides=(1, 2, 2, 2, 1, 1, 1, 1),
            dilations=(1, 1, 1, 1, 2, 4, 2, 1),
            default_base=16,
        ),
    }

    dilation_modes = ('reference', 'half')

    @classmethod
    def valid_variants(cls):
        """list[str]: Every valid 'arch-depth' pair, e.g. 'D-22'."""
        return [f'{arch}-{depth}' for arch, depths in cls.arch_settings.items() for depth in depths]

    def __init__(
        self,
        arch='D',
        depth=22,
        in_channels=3,
        base_channels=None,
        strides=None,
        dilations=None,
        dilation_mode='reference',
        block_dilations=None,
        num_levels=None,
        out_indices=None,
        frozen_stages=-1,
        conv_cfg=None,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        with_cp=False,
        pretrained=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        arch = str(arch).upper()
        if depth not in self.arch_settings.get(arch, {}):
            raise ValueError(
                f'invalid DRN variant arch={arch!r}, depth={depth!r}; valid '
                f'arch-depth pairs: {", ".join(self.valid_variants())}'
            )
        self.init_cfg = resolve_init_cfg(pretrained, init_cfg)

        layout = self.level_layouts[arch]
        all_levels = len(layout['kinds'])
        if num_levels is None:
            num_levels = all_levels
        if not (isinstance(num_levels, int) and 1 <= num_levels <= all_levels):
            raise ValueError(
                f'num_levels must be an int in 1..{all_levels} '
                f'for DRN-{arch} (None builds all), got '
                f'{num_levels!r}'
            )
        block_name, stage_blocks = self.arch_settings[arch][depth]
        if base_channels is None:
            base_channels = layout['default_base']
        if not (isinstance(base_channels, int) and base_channels > 0):
            raise ValueError(f'base_channels must be a positive int, got {base_channels!r}')
        strides = self._check_per_level('strides', strides, layout['strides'], arch)
        dilations = self._check_per_level('dilations', dilations, layout['dilations'], arch)
        self.num_levels = num_levels
        if dilation_mode not in self.dilation_modes:
            raise ValueError(
                f'dilation_mode must be one of {self.dilation_modes}, got {dilation_mode!r}'
            )
        if out_indices is None:
            out_indices = (num_levels - 1,)
        out_indices = check_out_indices(
            out_indices,
            num_levels,
            f'layer1..layer{num_levels} of DRN-{arch} with {num_levels} levels built',
        )
        check_frozen_stages(frozen_stages, num_levels)
        block_dilations = check_block_dilations(
            block_dilations,
            stage_blocks[:num_levels],
            f'layer1..layer{num_levels} of DRN-{arch}-{depth}, with '
            f'{stage_blocks[:num_levels]} blocks',
        )

        self.arch = arch
        self.depth = depth
        self.block = _BLOCKS[block_name]
        self.stage_blocks = stage_blocks
        self.base_channels = base_channels
        self.strides = strides
        self.dilations = dilations
        self.dilation_mode = dilation_mode
        self.block_dilations = block_dilations
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self._make_stem(in_channels, base_channels)
        self.inplanes = base_channels
        self.level_names = []
        level_channels = []
        for i, kind in enumerate(layout['kinds'][:num_levels]):
            width = base_channels * layout['width_mults'][i]
            if kind == 'conv':
                level = DRNConvLevel(
                    self.inplanes,
                    width,
                    stage_blocks[i],
                    stride=strides[i],
                    dilation=block_dilations.get(i + 1, dilations[i]),
                    with_cp=with_cp,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                )
                self.inplanes = width
            else:
                block = self.block if kind == 'block' else DRNBasicBlock
                level = self._make_res_level(
                    block,
                    width,
                    stage_blocks[i],
                    stride=strides[i],
                    dilation=dilations[i],
                    residual=kind != 'basic_nores',
                    contractible=kind == 'block',
                    block_rates=block_dilations.get(i + 1),
                )
            name = f'layer{i + 1}'
            self.add_module(name, level)
            self.level_names.append(name)
            level_channels.append(self.inplanes)
        del self.inplanes
        self.level_channels = tuple(level_channels)
        self.out_channels = tuple(level_channels[i] for i in out_indices)

        self._freeze_stages()

    def _check_per_level(self, name, value, default, arch):
        if value is None:
            return tuple(default)
        n = len(default)
        return check_positive_ints(
            name,
            value,
            n,
            f', one per level (layer1..layer{n}) of DRN-{arch}, e.g. {tuple(default)}',
        )

    def _make_stem(self, in_channels, channels):
        if self.arch == 'D':
            self.layer0 = DRNConvLevel(
                in_channels,
                channels,
                1,
                kernel_size=7,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
            )
            return
        stride = 2 if self.arch == 'A' else 1
        self.conv1 = build_conv_layer(
            self.conv_cfg, in_channels, channels, 7, stride=stride, padding=3, bias=False
        )
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)
        if self.arch == 'A':
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _first_dilation(self, dilation, contractible):
        if dilation == 1 or not contractible:
            return (dilation, dilation)
        if self.dilation_mode == 'half':
            return (max(dilation // 2, 1), dilation)
        # 'reference': DRN-A's first block gets no dilation at all, DRN-C/D
        # build layer5/6 with new_level=False, i.e. no halving.
        return (1, 1) if self.arch == 'A' else (dilation, dilation)

    def _make_res_level(
        self, block, planes, num_blocks, stride, dilation, residual, contractible, block_rates=None
    ):
        if block_rates is None:
            pairs = [self._first_dilation(dilation, contractible)]
            pairs += [(dilation, dilation)] * (num_blocks - 1)
        else:
            pairs = [(rate, rate) for rate in block_rates]
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(
                    self.conv_cfg, self.inplanes, out_channels, 1, stride=stride, bias=False
                ),
                build_norm_layer(self.norm_cfg, out_channels)[1],
            )
        common = dict(
            residual=residual, with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg
        )
        blocks = [
            block(
                self.inplanes,
                planes,
                stride=stride,
                dilation=pairs[0],
                downsample=downsample,
                **common,
            )
        ]
        self.inplanes = out_channels
        for pair in pairs[1:]:
            blocks.append(block(out_channels, planes, dilation=pair, **common))
        return nn.Sequential(*blocks)

    @property
    def norm1(self):
        """nn.Module: the stem norm layer of DRN-A/C."""
        return getattr(self, self.norm1_name)

    def _stem_modules(self):
        if self.arch == 'D':
            return [self.layer0]
        return [self.conv1, self.norm1]

    def _freeze_stages(self):
        """Freeze the stem and the first ``frozen_stages`` levels."""
        if self.frozen_stages < 0:
            return
        freeze(
            self._stem_modules()
            + [getattr(self, name) for name in self.level_names[: self.frozen_stages]]
        )

    def forward(self, x):
        """Forward function.

        Returns:
            tuple[Tensor]: Feature maps of the levels in ``out_indices``.
        """
        if self.arch == 'D':
            x = self.layer0(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
            if self.arch == 'A':
                x = self.maxpool(x)
        outs = []
        # Levels after the last requested one would feed no output: skip them.
        for i, name in enumerate(self.level_names[: self.out_indices[-1] + 1]):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
