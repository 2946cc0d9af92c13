"""Multi-class focal loss on softmax probabilities."""

import numbers
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.losses.utils import get_class_weight, weight_reduce_loss
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.labels import stray_label_mask

# (1 - p_t) is clamped to at least this before the power: with confident
# logits (e.g. +-1e4) p_t rounds to exactly 1, and d/dx x**gamma at x = 0 is
# infinite for gamma < 1, which would turn the zero upstream gradient into NaN.
_MIN_ONE_MINUS_PT = 1e-12


def _per_class_vector(
    values: Optional[Sequence[float]], name: str, num_classes: int, like: Tensor
) -> Optional[Tensor]:
    """Turn a per-class list into a tensor, checking its length."""
    if values is None:
        return None
    if len(values) != num_classes:
        raise ValueError(
            f'{name} has {len(values)} entries but the prediction has {num_classes} classes'
        )
    return like.new_tensor(values)


def _check_labels(label: Tensor, valid: Tensor, num_classes: int, ignore_index: int) -> None:
    """Fail loudly on labels that would otherwise index out of range."""
    bad = valid & stray_label_mask(label, num_classes, ignore_index)
    if bad.any():
        values = torch.unique(label[bad]).tolist()
        shown = values[:10] + (['...'] if len(values) > 10 else [])
        raise ValueError(
            f'SoftmaxFocalLoss: label values {shown} are outside '
            f'[0, {num_classes}) and are not ignore_index={ignore_index}'
        )


def softmax_focal_loss(
    pred: Tensor,
    label: Tensor,
    weight: Optional[Tensor] = None,
    gamma: float = 2.0,
    alpha: Union[None, float, Sequence[float]] = None,
    class_weight: Optional[Sequence[float]] = None,
    reduction: str = 'mean',
    avg_factor: Optional[float] = None,
    ignore_index: int = 255,
    avg_non_ignore: bool = False,
) -> Tensor:
    """Softmax focal loss, ``-alpha_t * w_t * (1 - p_t)**gamma * log(p_t)``.

    Args:
        pred (Tensor): Logits of shape (N, C) or (N, C, d_1, ..., d_k).
        label (Tensor): Class indices of shape (N,) or (N, d_1, ..., d_k).
        weight (Tensor, optional): Element-wise weight, shaped like
            ``label``. Default: None.
        gamma (float): Focusing parameter. Default: 2.0.
        alpha (float | list[float], optional): Balancing factor, one for all
            classes or one per class. Default: None.
        class_weight (list[float], optional): Weight of each class; it also
            enters the 'mean' normaliser, as in mmseg's ``cross_entropy``.
            Default: None.
        reduction (str): 'none', 'mean' or 'sum'. Default: 'mean'.
        avg_factor (float, optional): Normaliser for 'mean'; computed as
            described in :class:`SoftmaxFocalLoss` when None. Default: None.
        ignore_index (int): Label ignored in loss and gradient. Default: 255.
        avg_non_ignore (bool): Leave ignored elements out of the 'mean'
            normaliser. Default: False.

    Returns:
        Tensor: The reduced loss, or the element-wise loss (zero at ignored
        elements) shaped like ``label`` for reduction 'none'.
    """
    if pred.dim() < 2 or label.shape != pred.shape[:1] + pred.shape[2:]:
        raise ValueError(
            f'SoftmaxFocalLoss expects logits (N, C, ...) and labels '
            f'(N, ...), got {tuple(pred.shape)} and {tuple(label.shape)}'
        )
    num_classes = pred.size(1)
    label = label.long()
    valid = label != ignore_index
    _check_labels(label, valid, num_classes, ignore_index)
    target = torch.where(valid, label, torch.zeros_like(label))

    if pred.dtype in (torch.float16, torch.bfloat16):
        pred = pred.float()
    log_prob = F.log_softmax(pred, dim=1)
    log_pt = log_prob.gather(1, target.unsqueeze(1)).squeeze(1)

    loss = -log_pt
    if gamma > 0:
        # -expm1(log p) is 1 - p without the cancellation of 1 - exp(log p).
        one_minus_pt = (-torch.expm1(log_pt)).clamp(min=_MIN_ONE_MINUS_PT)
        loss = one_minus_pt.pow(gamma) * loss
    if alpha is not None:
        if isinstance(alpha, numbers.Number):
            loss = loss * float(alpha)
        else:
            alpha_t = _per_class_vector(alpha, 'alpha', num_classes, loss)
            loss = loss * alpha_t[target]
    if class_weight is not None:
        class_weight = _per_class_vector(class_weight, 'class_weight', num_classes, loss)
        loss = loss * class_weight[target]
    loss = torch.where(valid, loss, torch.zeros_like(loss))

    # The normaliser follows mmseg's cross_entropy so that gamma=0 reproduces
    # CrossEntropyLoss; see the class docstring for the case mmseg rejects.
    if avg_factor is None and reduction == 'mean':
        if class_weight is None:
            avg_factor = label.numel()
            if avg_non_ignore:
                avg_factor -= (~valid).sum().item()
        else:
            avg_factor = torch.where(valid, class_weight[target], torch.zeros_like(loss)).sum()
            if not avg_non_ignore:
                avg_factor = avg_factor + (~valid).sum()
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class SoftmaxFocalLoss(nn.Module):
    """Multi-class focal loss on softmax probabilities.

    `Focal Loss for Dense Object Detection
    <https://arxiv.org/abs/1708.02002>`_, in its softmax form:

    .. math::
        FL = -\\alpha_t \\, w_t \\, (1 - p_t)^\\gamma \\log p_t

    where :math:`p_t` is the softmax probability of the labelled class,
    :math:`\\alpha_t` the ``alpha`` of that class and :math:`w_t` its
    ``class_weight``. mmseg's ``FocalLoss`` is the sigmoid (one-vs-rest)
    form and needs mmcv's compiled ops on GPU; this one is plain PyTorch.

    With ``gamma=0`` and ``alpha=None`` it equals mmseg's
    ``CrossEntropyLoss`` (same ``class_weight``, ``avg_non_ignore`` and
    ``ignore_index``), including the 'mean' normaliser:

    - without ``class_weight``: the number of elements, less the ignored
      ones when ``avg_non_ignore=True``;
    - with ``class_weight``: the sum of the class weights of the labelled
      elements (as ``F.cross_entropy(weight=...)``). mmseg 1.2.2 raises an
      IndexError here as soon as a label equals ``ignore_index``
      (open-mmlab/mmsegmentation#3734); this loss instead counts each ignored
      element as weight 1 when ``avg_non_ignore=False`` (an ignored element
      counts once, as it does without class weights) and as 0 when
      ``avg_non_ignore=True``.

    ``alpha`` scales the loss but, unlike ``class_weight``, does not enter
    the normaliser, as in the focal-loss paper. Half-precision logits are
    computed in float32; label values outside ``[0, C)`` other than
    ``ignore_index`` raise a ValueError naming them (one host sync per call).

    Args:
        gamma (float): Focusing parameter, >= 0; 0 gives cross-entropy.
            Default: 2.0.
        alpha (float | list[float], optional): Balancing factor: one float
            for every class, or one per class (checked against the number of
            classes at forward time). Default: None.
        class_weight (list[float] | str, optional): Weight of each class, or
            the path of a .npy/.pkl/.json file holding them, read with mmseg's
            ``get_class_weight`` as ``CrossEntropyLoss`` does. Default: None.
        ignore_index (int): Label ignored in loss and gradient. Overridden by
            the ``ignore_index`` passed to :meth:`forward` (decode heads pass
            their own). Default: 255.
        avg_non_ignore (bool): Leave ignored elements out of the 'mean'
            normaliser. Default: False.
        reduction (str): 'none', 'mean' or 'sum'. Default: 'mean'.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated. Default: 'loss_focal'.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: Union[None, float, Sequence[float]] = None,
        class_weight: Union[None, str, Sequence[float]] = None,
        ignore_index: int = 255,
        avg_non_ignore: bool = False,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        loss_name: str = 'loss_focal',
    ):
        super().__init__()
        if not isinstance(gamma, numbers.Real) or gamma < 0:
            raise ValueError(f'gamma must be a number >= 0, got {gamma!r}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.gamma = float(gamma)
        self.alpha = self._check_weights(alpha, 'alpha')
        self.class_weight = self._check_weights(get_class_weight(class_weight), 'class_weight')
        if isinstance(self.class_weight, float):
            raise ValueError(
                f'class_weight must be a list of per-class weights, got the number {class_weight!r}'
            )
        self.ignore_index = ignore_index
        self.avg_non_ignore = avg_non_ignore
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @staticmethod
    def _check_weights(value, name: str):
        """Normalise a scalar or per-class weight argument, rejecting
        negative or non-finite entries."""
        if value is None:
            return None
        if isinstance(value, numbers.Real):
            values, result = [float(value)], float(value)
        else:
            array = np.asarray(value, dtype=np.float64)
            if array.ndim != 1 or array.size == 0:
                raise ValueError(
                    f'{name} must be a number or a 1-D list of '
                    f'per-class values, got shape {array.shape}'
                )
            values = array.tolist()
            result = tuple(values)
        bad = [v for v in values if not np.isfinite(v) or v < 0]
        if bad:
            raise ValueError(f'{name} must be finite and >= 0, got {bad[:10]}')
        return result

    def extra_repr(self) -> str:
        """Extra repr."""
        return f'gamma={self.gamma}, alpha={self.alpha}, avg_non_ignore={self.avg_non_ignore}'

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        ignore_index: Optional[int] = None,
        **kwargs,
    ) -> Tensor:
        """Forward function.

        Args:
            cls_score (Tensor): Logits, (N, C, H, W) or (N, C).
            label (Tensor): Class indices, (N, H, W) or (N,).
            weight (Tensor, optional): Element-wise weight shaped like
                ``label``. Default: None.
            avg_factor (float, optional): Normaliser for 'mean'.
                Default: None.
            reduction_override (str, optional): Overrides ``reduction``.
                Default: None.
            ignore_index (int, optional): Overrides the ``ignore_index``
                given at construction. Default: None.

        Returns:
            Tensor: The loss.
        """
        if reduction_override not in (None, 'none', 'mean', 'sum'):
            raise ValueError(
                f'reduction_override={reduction_override!r} is '
                "not one of None, 'none', 'mean', 'sum'"
            )
        reduction = reduction_override or self.reduction
        if ignore_index is None:
            ignore_index = self.ignore_index
        return self.loss_weight * softmax_focal_loss(
            cls_score,
            label,
            weight,
            gamma=self.gamma,
            alpha=self.alpha,
            class_weight=self.class_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore,
        )

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item, used as its key in the loss dict."""
        return self._loss_name
