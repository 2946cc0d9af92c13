"""What a model costs to run: parameters, multiply-adds, and the FLOP rate it achieves.

Multiply-adds are counted by mmengine's :class:`~mmengine.analysis.FlopAnalyzer` (fvcore's
counter), which counts ONE multiply-add as ONE flop: its "FLOPs" are MACs, plus small per-element
terms for BN, upsampling and pooling. The achieved FLOP rate counts two FLOPs per multiply-add, and
the FLOP-rate fraction divides it by the rate of an fp32 matrix product counted the same way, so
the convention cancels out of the fraction.
"""

from typing import Sequence, Union

import torch
import torch.nn as nn

__all__ = [
    'TensorForward',
    'count_params',
    'count_flops',
    'achieved_flops_per_s',
    'flop_rate_fraction',
]


class TensorForward(nn.Module):
    """A segmentor's ``forward(mode='tensor')`` (``_forward``: backbone and decode head, logits at
    the head's resolution) as a plain tensor-in, tensor-out module, or only its backbone
    (``extract_feat``).

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder``.
        backbone_only (bool): Run ``extract_feat`` only. Default: False.
    """

    def __init__(self, segmentor: nn.Module, backbone_only: bool = False):
        super().__init__()
        self.model = segmentor
        self.backbone_only = backbone_only

    def forward(self, x: torch.Tensor):
        if self.backbone_only:
            return self.model.extract_feat(x)
        return self.model._forward(x)


def count_params(model: nn.Module) -> int:
    """Number of parameter elements, trainable or not, each shared tensor once."""
    return sum(p.numel() for p in model.parameters())


def count_flops(module: nn.Module, inputs: Union[torch.Tensor, Sequence]) -> int:
    """mmengine's flop count (one multiply-add = one flop) of ``module`` called on ``inputs`` (a
    tensor or a tuple of positional arguments), in eval mode and without gradients; the module's
    training flag is restored afterwards."""
    from mmengine.analysis import FlopAnalyzer

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(module, inputs)
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            return analyzer.total()
    finally:
        module.train(was_training)


def achieved_flops_per_s(macs: float, seconds: float) -> float:
    """FLOP/s of ``macs`` multiply-adds done in ``seconds`` (two FLOPs each)."""
    return 2.0 * macs / seconds


def flop_rate_fraction(
    macs: float, seconds: float, matmul_macs: float, matmul_seconds: float
) -> float:
    """Achieved FLOP rate of a model as a fraction of a matrix product's, both counted in
    multiply-adds (an ``n x n @ n x n`` product is ``n**3``, as mmengine counts it)."""
    return achieved_flops_per_s(macs, seconds) / achieved_flops_per_s(matmul_macs, matmul_seconds)
