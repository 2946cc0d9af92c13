"""The Yu-Koltun context module as an mmseg decode head."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import normal_init
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ..common import check_positive_ints, checkpoint_if

MODULE_TYPES = ('basic', 'large')
PADDINGS = ('same', 'valid')


def _large_widths(num_maps, dilations):
    """Widths of the 3x3 layers of the large context module.

    Table 1 of the paper gives 2C, 2C, 4C, 8C, 16C, 32C, 32C for the
    dilations 1, 1, 2, 4, 8, 16, 1: each layer is ``2 * C * (the largest
    dilation so far)``, which is the rule used here for any schedule.
    """
    widths, largest = [], 0
    for dilation in dilations:
        largest = max(largest, dilation)
        widths.append(2 * num_maps * largest)
    return widths


def _identity_init_(conv, num_maps, noise_std=0.0):
    """Identity initialisation of the paper (eq. 5) for one conv layer.

    With ``c_in`` inputs and ``c_out`` outputs, the centre tap linking input
    ``a`` to output ``b`` is ``C / c_out`` when ``floor(a C / c_in) ==
    floor(b C / c_out)``; every other weight is N(0, noise_std^2) noise (zero
    when ``noise_std == 0``) and the bias is zero. For ``c_in == c_out == C``
    this is the basic module's exact identity ``1[t = 0] 1[a = b]``.
    """
    c_out, c_in, kh, kw = conv.weight.shape
    with torch.no_grad():
        if noise_std > 0:
            conv.weight.normal_(0, noise_std)
        else:
            conv.weight.zero_()
        group_in = torch.arange(c_in) * num_maps // c_in
        group_out = torch.arange(c_out) * num_maps // c_out
        block_diagonal = group_out[:, None] == group_in[None, :]
        centre = conv.weight[:, :, kh // 2, kw // 2]
        centre[block_diagonal] = num_maps / c_out
        if conv.bias is not None:
            conv.bias.zero_()


@MODELS.register_module()
class ContextHead(BaseDecodeHead):
    """Multi-Scale Context Aggregation by Dilated Convolutions.

    This head is the context module of `Yu & Koltun (ICLR 2016)
    <https://arxiv.org/abs/1511.07122>`_ on top of a 1x1 classifier: the
    backbone features (``in_channels``) are classified into ``C`` score maps
    (``C = out_channels``, i.e. ``num_classes`` unless binary), then a cascade
    of 3x3 convolutions with growing dilation, each followed by the
    activation (ReLU), refines them, and a final 1x1 layer maps back to ``C``
    maps. Layers 1..n of the cascade make ``_forward_feature``; the final 1x1
    layer is ``conv_seg``, so ``channels`` is the width of the last 3x3 layer
    and is derived, not chosen: ``C`` for the basic module, ``2 * C *
    max(dilations)`` for the large one.

    Widths of the large module: layer ``i`` has ``2 * C * max(d_1, ..., d_i)``
    channels, which gives Table 1 for the VOC schedule (42, 42, 84, 168, 336,
    672, 672, 21 for C = 21) and extends it to any schedule.

    Both modules are identity-initialised (paper eq. 5, biases zero): at
    initialisation the module passes non-negative score maps through
    unchanged (large: up to the ``noise_std`` noise). The cascade has no norm
    layers, as in the paper; a norm would break the identity. ``norm_cfg``
    applies to the 1x1 classifier only (Default: None, the paper's plain
    linear classifier), which keeps configs that pass one ``norm_cfg`` to all
    heads working. Dropout (``dropout_ratio``) acts on the backbone features
    before the classifier, as the front-end's dropout does, not in front of
    the final 1x1 layer where it would perturb the identity. The classifier
    is initialised N(0, 0.01^2) with zero bias, as mmseg initialises
    ``conv_seg`` (``classifier_init_std`` changes the std).

    Args:
        module_type (str): 'basic' (all layers C wide) or 'large' (widths as
            above). Default: 'basic'.
        dilations (Sequence[int]): Dilation of each 3x3 layer. The 1x1 output
            layer follows them. VOC (Table 1): (1, 1, 2, 4, 8, 16, 1); KITTI:
            (1, 1, 2, 4, 8, 1); Cityscapes: (1, 1, 2, 4, 8, 16, 32, 64, 1).
            Default: (1, 1, 2, 4, 8, 16, 1).
        padding (str): 'same' pads each layer by its dilation so the output
            has the input's size (the urban releases). 'valid' pads nothing
            (the VOC release): the output then shrinks by ``2 * margin`` (33
            per side for VOC, see ``receptive_fields``) unless
            ``pad_input=True``. Default: 'same'.
        pad_input (bool): With ``padding='valid'``, zero-pad the score maps
            by the module's margin before the first layer, as the VOC release
            does (pad 33 on its first context conv), so the output has the
            input's size. Without it, the input must already carry that
            margin. Default: False.
        noise_std (float): Std of the Gaussian noise of the large module's
            identity initialisation (eq. 5); 0.01 as in the Caffe release, 0
            for an exact identity. The basic module's initialisation is the
            exact identity and ignores it. Default: 0.01.
        classifier_init_std (float): Std of the Gaussian initialisation of
            the 1x1 classifier (features -> class scores, the front-end's
            last layer); its bias starts at 0. The VOC release
            (fyu/dilation, ``network.py``) uses 0.001 for the VGG front-end's
            ``final`` layer. Default: 0.01.
        frontend_loss_weight (float): Weight of a second loss (the head's
            ``loss_decode``) on the classifier's score maps, the context
            module's input. The paper trains the front-end first, so the
            scores entering the module already rank the right class first;
            trained jointly from scratch, a class whose scores start negative
            is cut by the first layer's ReLU, gets no gradient through the
            module and can stay dead (seen on the bundled data: two of three
            shape classes at 0 IoU). Supervising the scores directly, as the
            front-end's own training would, avoids that. 0 turns it off.
            Default: 0.
        with_cp (bool): Use gradient checkpointing on the context cascade
            (layers 1..n). Saves memory at the cost of a second forward pass.
            Default: False.

    Example:
        >>> import torch
        >>> head = ContextHead(in_channels=512, num_classes=21,
        ...                    module_type='large')
        >>> head.channels, head.receptive_fields
        (672, (3, 5, 9, 17, 33, 65, 67, 67))
        >>> head([torch.rand(1, 512, 33, 33)]).shape
        torch.Size([1, 21, 33, 33])
    """

    def __init__(
        self,
        module_type='basic',
        dilations=(1, 1, 2, 4, 8, 16, 1),
        padding='same',
        pad_input=False,
        noise_std=0.01,
        classifier_init_std=0.01,
        frontend_loss_weight=0.0,
        with_cp=False,
        **kwargs,
    ):
        if module_type not in MODULE_TYPES:
            raise ValueError(f'module_type must be one of {MODULE_TYPES}, got {module_type!r}')
        if padding not in PADDINGS:
            raise ValueError(f'padding must be one of {PADDINGS}, got {padding!r}')
        dilations = check_positive_ints('dilations', dilations)
        if pad_input and padding != 'valid':
            raise ValueError(
                "pad_input=True needs padding='valid' ('same' padding already keeps the size)"
            )
        if noise_std < 0:
            raise ValueError(f'noise_std must be >= 0, got {noise_std}')
        if not classifier_init_std > 0:
            raise ValueError(f'classifier_init_std must be > 0, got {classifier_init_std}')
        if frontend_loss_weight < 0:
            raise ValueError(f'frontend_loss_weight must be >= 0, got {frontend_loss_weight}')
        if 'num_classes' not in kwargs:
            raise TypeError('ContextHead needs num_classes')

        # The module refines the score maps the head emits, so its width C is
        # out_channels (num_classes unless binary with out_channels=1).
        num_maps = kwargs.get('out_channels') or kwargs['num_classes']
        if module_type == 'basic':
            widths = [num_maps] * len(dilations)
        else:
            widths = _large_widths(num_maps, dilations)
        channels = kwargs.pop('channels', None)
        if channels is not None and channels != widths[-1]:
            raise ValueError(
                f'channels is derived for ContextHead: the {module_type} '
                f'module with C={num_maps} and dilations {tuple(dilations)} '
                f'needs channels={widths[-1]}, got {channels}; leave it out'
            )
        super().__init__(channels=widths[-1], **kwargs)

        self.num_maps = num_maps
        self.module_type = module_type
        self.dilations = tuple(dilations)
        self.padding = padding
        self.pad_input = pad_input
        self.noise_std = noise_std
        self.classifier_init_std = float(classifier_init_std)
        self.with_cp = with_cp
        self.frontend_loss_weight = float(frontend_loss_weight)

        self.classifier = ConvModule(
            self.in_channels,
            num_maps,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=None,
        )
        # A 3x3 layer with dilation d reads d pixels on each side.
        margin = sum(self.dilations) if pad_input else 0
        layers = []
        in_width = num_maps
        for i, (dilation, width) in enumerate(zip(self.dilations, widths)):
            if padding == 'same':
                pad = dilation
            else:
                # The whole margin goes on the first layer, as the VOC
                # release's 'pad: 33' on ct_conv1_1 (zeros, like F.pad).
                pad = margin if i == 0 else 0
            layers.append(
                ConvModule(
                    in_width,
                    width,
                    3,
                    padding=pad,
                    dilation=dilation,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=None,
                    act_cfg=self.act_cfg,
                )
            )
            in_width = width
        self.context_convs = nn.Sequential(*layers)
        # conv_seg (channels -> out_channels, 1x1) from BaseDecodeHead is the
        # module's last layer.
        self._init_head_weights()

    @property
    def context_widths(self):
        """tuple[int]: Output channels of every context layer, the final 1x1
        included."""
        return tuple(m.conv.out_channels for m in self.context_convs) + (
            self.conv_seg.out_channels,
        )

    @property
    def receptive_fields(self):
        """tuple[int]: Receptive field (in score-map pixels) after each
        context layer, final 1x1 included, from the layers' own kernel sizes
        and dilations: ``r_i = r_{i-1} + (k_i - 1) * d_i``, ``r_0 = 1``."""
        convs = [m.conv for m in self.context_convs] + [self.conv_seg]
        fields, field = [], 1
        for conv in convs:
            field += (conv.kernel_size[0] - 1) * conv.dilation[0]
            fields.append(field)
        return tuple(fields)

    @property
    def margin(self):
        """int: Context pixels the module reads on each side of an output
        pixel; a 'valid' module shrinks its input by twice this."""
        return (self.receptive_fields[-1] - 1) // 2

    def _init_head_weights(self):
        normal_init(self.classifier.conv, mean=0, std=self.classifier_init_std, bias=0)
        noise_std = self.noise_std if self.module_type == 'large' else 0.0
        for layer in self.context_convs:
            _identity_init_(layer.conv, self.num_maps, noise_std)
        _identity_init_(self.conv_seg, self.num_maps, noise_std)

    def init_weights(self):
        """Run mmengine's init flow, then redo this head's initialisation,
        which that flow overwrites (``init_cfg``'s Normal init of
        ``conv_seg``, the last identity layer; ConvModule's Kaiming init of
        the classifier). Skipped when ``init_cfg`` loads pretrained weights,
        and on repeated calls (as mmengine skips them)."""
        first_call = not self.is_init
        super().init_weights()
        init_cfgs = self.init_cfg
        if isinstance(init_cfgs, dict):
            init_cfgs = [init_cfgs]
        pretrained = any(cfg.get('type') == 'Pretrained' for cfg in init_cfgs or [])
        if first_call and not pretrained:
            self._init_head_weights()

    def _check_input_size(self, x):
        if self.padding == 'valid' and not self.pad_input:
            need = self.receptive_fields[-1]
            if min(x.shape[-2:]) < need:
                raise ValueError(
                    f"A 'valid' context module needs score maps of at least "
                    f'{need}x{need} (its receptive field), got '
                    f'{tuple(x.shape[-2:])}; pad the input by {self.margin} '
                    'per side or set pad_input=True'
                )

    def forward_context(self, x):
        """Apply the context module (layers 1..n and the final 1x1, not the
        classifier) to ``C`` score maps."""
        return self.conv_seg(self._context_cascade(x))

    def _context_cascade(self, x):
        self._check_input_size(x)
        return checkpoint_if(self.with_cp, self.context_convs, x)

    def _forward_feature(self, inputs):
        """Forward function for feature maps before classifying each pixel with
        ``self.cls_seg`` fc.

        Args:
            inputs (list[Tensor]): List of multi-level img features.

        Returns:
            feats (Tensor): A tensor of shape (batch_size, self.channels,
                H, W) (H, W smaller by ``2 * margin`` with unpadded 'valid'
                layers): the output of the last 3x3 context layer.
        """
        return self._context_cascade(self._class_scores(inputs))

    def _class_scores(self, inputs):
        """The front-end's ``C`` class-score maps: dropout, then the 1x1 classifier."""
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.classifier(x)

    def loss(self, inputs, batch_data_samples, train_cfg):
        """Losses of the refined scores, plus, with ``frontend_loss_weight``, of the front-end's.

        Returns:
            dict[str, Tensor]: mmseg's decode losses and ``loss_frontend``.
        """
        if not self.frontend_loss_weight:
            return super().loss(inputs, batch_data_samples, train_cfg)
        scores = self._class_scores(inputs)
        losses = self.loss_by_feat(self.cls_seg(self._context_cascade(scores)), batch_data_samples)
        frontend = self.loss_by_feat(scores, batch_data_samples)
        losses['loss_frontend'] = self.frontend_loss_weight * sum(
            v for k, v in frontend.items() if k.startswith('loss')
        )
        return losses

    def cls_seg(self, feat):
        """The context module's final 1x1 layer. No dropout here: the
        identity initialisation runs through this layer."""
        return self.conv_seg(feat)

    def forward(self, inputs):
        """Forward function."""
        return self.cls_seg(self._forward_feature(inputs))
