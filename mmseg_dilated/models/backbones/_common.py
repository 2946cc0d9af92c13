"""What both backbones share: their default initialisation and their train-mode rules."""
import warnings

from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

# The DRN reference's init: normal(0, sqrt(2 / (k * k * out_channels))) for convs (Kaiming, fan_out),
# norm weight 1 and bias 0.
DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu',
         distribution='normal'),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
]


def resolve_init_cfg(pretrained, init_cfg):
    """``init_cfg`` from the deprecated ``pretrained`` path or the default, as mmseg's backbones do.

    Args:
        pretrained (str | None): Deprecated path of pretrained weights.
        init_cfg (dict | list[dict] | None): The backbone's init_cfg.

    Returns:
        dict | list[dict]: The init_cfg to use.
    """
    if init_cfg is not None and pretrained is not None:
        raise ValueError('init_cfg and pretrained cannot be set at the same time')
    if isinstance(pretrained, str):
        warnings.warn('DeprecationWarning: pretrained is deprecated, please use "init_cfg" instead')
        return dict(type='Pretrained', checkpoint=pretrained)
    if pretrained is not None:
        raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
    return init_cfg if init_cfg is not None else [dict(c) for c in DEFAULT_INIT_CFG]


class FrozenNormEvalMixin:
    """``train()`` that keeps frozen levels (``_freeze_stages``) and, with ``norm_eval``, every BN
    layer in eval mode, as mmseg's ResNet does."""

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
