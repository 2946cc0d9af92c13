import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.decode_heads import FCNHead
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_dilated.models.losses import SoftmaxFocalLoss

NUM_CLASSES = 4
CLASS_WEIGHT = [0.5, 2.0, 1.0, 3.0]


def numpy_focal_loss(
    logits,
    label,
    gamma,
    alpha=None,
    class_weight=None,
    ignore_index=255,
    avg_non_ignore=False,
    reduction='mean',
    weight=None,
):
    """Independent float64 reference, written from the formula
    FL = -alpha_t * w_t * (1 - p_t)**gamma * log(p_t) and the normaliser in
    the SoftmaxFocalLoss docstring (mmseg's cross_entropy rule)."""
    x = np.moveaxis(logits.astype(np.float64), 1, -1)
    x = x.reshape(-1, x.shape[-1])
    y = label.reshape(-1)
    valid = y != ignore_index
    t = np.where(valid, y, 0)
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_pt = log_p[np.arange(len(t)), t]
    loss = -((1.0 - np.exp(log_pt)) ** gamma) * log_pt
    if alpha is not None:
        loss = loss * (np.asarray(alpha)[t] if isinstance(alpha, list) else alpha)
    w_t = np.ones_like(loss) if class_weight is None else np.asarray(class_weight)[t]
    loss = np.where(valid, loss * w_t, 0.0)
    if weight is not None:
        loss = loss * weight.reshape(-1)
    if reduction == 'none':
        return loss.reshape(label.shape)
    if reduction == 'sum':
        return loss.sum()
    if class_weight is None:
        denom = valid.sum() if avg_non_ignore else y.size
    else:
        denom = w_t[valid].sum() + (0 if avg_non_ignore else (~valid).sum())
    return loss.sum() / denom


def make_inputs(seed=0, ignore=True, shape=(2, NUM_CLASSES, 5, 7)):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=gen) * 3
    label = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=gen)
    if ignore:
        label[0, 0, :4] = 255
        label[1, 2:4, 1] = 255
    return logits, label


@pytest.mark.parametrize(
    'gamma,alpha,class_weight,avg_non_ignore,reduction',
    list(
        itertools.product(
            [0.0, 0.5, 2.0, 3.5],
            [None, 0.25, [0.1, 0.2, 0.3, 0.4]],
            [None, CLASS_WEIGHT],
            [False, True],
            ['mean', 'sum', 'none'],
        )
    ),
)
def test_matches_numpy_reference(gamma, alpha, class_weight, avg_non_ignore, reduction):
    logits, label = make_inputs()
    loss = SoftmaxFocalLoss(
        gamma=gamma,
        alpha=alpha,
        class_weight=class_weight,
        avg_non_ignore=avg_non_ignore,
        reduction=reduction,
        loss_weight=1.5,
    )(logits, label)
    expected = 1.5 * numpy_focal_loss(
        logits.numpy(), label.numpy(), gamma, alpha, class_weight, 255, avg_non_ignore, reduction
    )
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_numpy_reference_other_ignore_index_and_pixel_weight():
    logits, label = make_inputs(seed=1, ignore=False)
    label[0, 1, :] = 3  # class 3 plays the ignored label here
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(2))
    loss_fn = SoftmaxFocalLoss(gamma=2.0, class_weight=CLASS_WEIGHT, ignore_index=0)
    # The ignore_index passed by the decode head overrides the constructor's.
    loss = loss_fn(logits, label, weight=weight, ignore_index=3)
    expected = numpy_focal_loss(
        logits.numpy(), label.numpy(), 2.0, None, CLASS_WEIGHT, 3, False, 'mean', weight.numpy()
    )
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    # (N, C) logits with (N,) labels.
    flat = SoftmaxFocalLoss(gamma=1.0)(logits[:, :, 0, 0], label[:, 0, 0])
    np.testing.assert_allclose(
        flat.item(),
        numpy_focal_loss(logits[:, :, 0, 0].numpy(), label[:, 0, 0].numpy(), 1.0),
        rtol=1e-6,
    )


@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_gamma_zero_equals_mmseg_cross_entropy(avg_non_ignore, reduction):
    logits, label = make_inputs(seed=3)
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(4))
    focal = SoftmaxFocalLoss(gamma=0.0, avg_non_ignore=avg_non_ignore, reduction=reduction)
    ce = CrossEntropyLoss(avg_non_ignore=avg_non_ignore, reduction=reduction)
    for w in (None, weight):
        torch.testing.assert_close(
            focal(logits, label, weight=w, ignore_index=255),
            ce(logits, label, weight=w, ignore_index=255),
        )

    # With class_weight, mmseg 1.2.2 computes the 'mean' normaliser as
    # class_weight[label].sum() and crashes (IndexError) when a label equals
    # ignore_index, so the comparison uses a label map without ignored pixels.
    _, full_label = make_inputs(seed=3, ignore=False)
    focal = SoftmaxFocalLoss(
        gamma=0.0, class_weight=CLASS_WEIGHT, avg_non_ignore=avg_non_ignore, reduction=reduction
    )
    ce = CrossEntropyLoss(
        class_weight=CLASS_WEIGHT, avg_non_ignore=avg_non_ignore, reduction=reduction
    )
    try:
        expected = ce(logits, full_label, ignore_index=255)
    except IndexError:
        # onedl-mmsegmentation 1.4.2 (the second host) crashes on every label map here: its
        # 'mean' normaliser with avg_non_ignore=True indexes the 1-D class_weight[label[valid]]
        # with the label map's mask. With no ignored pixel both normalisers are PyTorch's
        # weighted mean, sum(w[y] * l) / sum(w[y]), which is then the reference.
        assert avg_non_ignore and reduction == 'mean'
        expected = F.cross_entropy(
            logits, full_label, weight=torch.tensor(CLASS_WEIGHT), ignore_index=255
        )
    torch.testing.assert_close(focal(logits, full_label, ignore_index=255), expected)
    if reduction != 'mean':
        # 'sum' and 'none' never reach mmseg's crashing branch.
        torch.testing.assert_close(
            focal(logits, label, ignore_index=255), ce(logits, label, ignore_index=255)
        )


def test_class_weight_with_ignored_pixels_matches_pytorch():
    """Where mmseg crashes, avg_non_ignore=True is PyTorch's weighted mean,
    and avg_non_ignore=False adds one per ignored pixel to the normaliser."""
    logits, label = make_inputs(seed=5)
    cw = torch.tensor(CLASS_WEIGHT)
    focal = SoftmaxFocalLoss(gamma=0.0, class_weight=CLASS_WEIGHT, avg_non_ignore=True)
    torch.testing.assert_close(
        focal(logits, label), F.cross_entropy(logits, label, weight=cw, ignore_index=255)
    )
    focal.avg_non_ignore = False
    summed = F.cross_entropy(logits, label, weight=cw, ignore_index=255, reduction='sum')
    valid = label != 255
    denom = cw[label[valid]].sum() + (~valid).sum()
    torch.testing.assert_close(focal(logits, label), summed / denom)


@pytest.mark.parametrize('gamma', [0.0, 0.25, 1.0, 2.0, 5.0])
def test_finite_value_and_gradient_at_extreme_logits(gamma):
    gen = torch.Generator().manual_seed(6)
    signs = torch.randint(0, 2, (2, NUM_CLASSES, 4, 4), generator=gen) * 2 - 1
    logits = (signs * 1e4).float()
    logits[0, :, 0, 0] = 1e4  # ties
    label = torch.randint(0, NUM_CLASSES, (2, 4, 4), generator=gen)
    label[1, 0] = 255
    for dtype in (torch.float32, torch.float16):
        x = logits.to(dtype).clone().requires_grad_()
        loss = SoftmaxFocalLoss(
            gamma=gamma, alpha=[0.25, 0.5, 0.75, 1.0], class_weight=CLASS_WEIGHT
        )(x, label)
        loss.backward()
        assert torch.isfinite(loss), (dtype, loss)
        assert torch.isfinite(x.grad).all(), dtype
    # A confidently right pixel contributes ~0, a confidently wrong one
    # ~(1 - 0)**gamma * 2e4-ish, never inf.
    right = torch.tensor([[1e4, -1e4]])
    assert SoftmaxFocalLoss(gamma=gamma)(right, torch.tensor([0])) == 0
    wrong = SoftmaxFocalLoss(gamma=gamma)(right, torch.tensor([1]))
    assert wrong.item() == pytest.approx(2e4)


def test_class_weight_from_npy_file(tmp_path):
    path = tmp_path / 'weights.npy'
    np.save(path, np.asarray(CLASS_WEIGHT, dtype=np.float32))
    logits, label = make_inputs(seed=7)
    from_file = SoftmaxFocalLoss(class_weight=str(path))
    from_list = SoftmaxFocalLoss(class_weight=CLASS_WEIGHT)
    assert from_file.class_weight == tuple(CLASS_WEIGHT)
    torch.testing.assert_close(from_file(logits, label), from_list(logits, label))


def test_inside_decode_head_loss_decode():
    head = FCNHead(
        in_channels=8,
        channels=4,
        num_convs=1,
        num_classes=NUM_CLASSES,
        loss_decode=[
            dict(type='SoftmaxFocalLoss', gamma=2.0, loss_weight=1.0),
            dict(type='CrossEntropyLoss', loss_weight=0.4),
        ],
    )
    assert isinstance(head.loss_decode[0], SoftmaxFocalLoss)
    logits, label = make_inputs(seed=8, shape=(2, NUM_CLASSES, 6, 6))
    samples = []
    for lab in label:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=lab[None])
        samples.append(sample)
    losses = head.loss_by_feat(logits, samples)
    assert {'loss_focal', 'loss_ce', 'acc_seg'} <= set(losses)
    expected = numpy_focal_loss(logits.numpy(), label.numpy(), 2.0)
    np.testing.assert_allclose(losses['loss_focal'].item(), expected, rtol=1e-5)
    # Registered in mmseg's registry under its own name.
    assert MODELS.get('SoftmaxFocalLoss') is SoftmaxFocalLoss
    assert head.loss_decode[0].loss_name == 'loss_focal'
    assert SoftmaxFocalLoss(loss_name='loss_fl').loss_name == 'loss_fl'


def test_argument_checks():
    with pytest.raises(ValueError, match='gamma'):
        SoftmaxFocalLoss(gamma=-1.0)
    with pytest.raises(ValueError, match='reduction'):
        SoftmaxFocalLoss(reduction='avg')
    with pytest.raises(ValueError, match='alpha'):
        SoftmaxFocalLoss(alpha=[0.5, -0.1])
    with pytest.raises(ValueError, match='class_weight'):
        SoftmaxFocalLoss(class_weight=[1.0, float('nan')])
    logits, label = make_inputs(seed=9)
    with pytest.raises(ValueError, match='alpha has 3 entries .* 4 classes'):
        SoftmaxFocalLoss(alpha=[0.1, 0.2, 0.3])(logits, label)
    with pytest.raises(ValueError, match='class_weight has 2 entries'):
        SoftmaxFocalLoss(class_weight=[1.0, 2.0])(logits, label)
    bad = label.clone()
    bad[0, 0, 0] = 7
    bad[1, 0, 0] = -1
    with pytest.raises(ValueError, match=r'\[-1, 7\] are outside \[0, 4\)'):
        SoftmaxFocalLoss()(logits, bad)
    with pytest.raises(ValueError, match='expects logits'):
        SoftmaxFocalLoss()(logits, label[0])
    with pytest.raises(ValueError, match='reduction_override'):
        SoftmaxFocalLoss()(logits, label, reduction_override='avg')
