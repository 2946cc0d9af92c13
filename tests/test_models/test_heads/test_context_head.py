import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_dilated.models.decode_heads import ContextHead

from _helpers import assert_head_same_outputs_and_grads

# Dilation schedules of the 3x3 layers (the 1x1 output layer follows).
VOC = (1, 1, 2, 4, 8, 16, 1)  # Table 1
KITTI = (1, 1, 2, 4, 8, 1)  # drops dilation 16
CITYSCAPES = (1, 1, 2, 4, 8, 16, 32, 64, 1)  # adds 32, 64 after 16
SCHEDULES = {'voc': VOC, 'kitti': KITTI, 'cityscapes': CITYSCAPES}


def _scores(num_maps, height, width):
    """Non-negative dyadic score maps (k / 16, k < 256): every partial sum the
    identity-initialised convs form is exactly representable in float32, so an
    exact identity must reproduce them bit for bit."""
    return torch.randint(0, 256, (2, num_maps, height, width)).float() / 16


def _head(**kwargs):
    cfg = dict(in_channels=8, num_classes=3, dropout_ratio=0)
    cfg.update(kwargs)
    return ContextHead(**cfg)


@pytest.mark.parametrize('schedule', SCHEDULES)
@pytest.mark.parametrize('module_type', ['basic', 'large'])
@pytest.mark.parametrize('padding,pad_input', [('same', False), ('valid', True), ('valid', False)])
def test_identity_init(schedule, module_type, padding, pad_input):
    dilations = SCHEDULES[schedule]
    num_maps = 2
    head = _head(
        num_classes=num_maps,
        module_type=module_type,
        dilations=dilations,
        padding=padding,
        pad_input=pad_input,
        noise_std=0.0,
    )
    margin = sum(dilations)  # a 3x3 layer with dilation d reads d per side
    size = 2 * margin + 3 if (padding, pad_input) == ('valid', False) else 9
    x = _scores(num_maps, size, size)
    with torch.no_grad():
        out = head.forward_context(x)
    if (padding, pad_input) == ('valid', False):
        # Unpadded layers: the identity shows as the centre crop.
        x = x[..., margin:-margin, margin:-margin]
    assert out.shape == x.shape
    assert torch.equal(out, x)


@pytest.mark.parametrize('schedule', SCHEDULES)
def test_identity_survives_init_weights(schedule):
    """mmengine's init flow (ConvModule's Kaiming init, the Normal init of
    conv_seg in init_cfg) must not undo the identity initialisation."""
    head = MODELS.build(
        dict(
            type='ContextHead',
            in_channels=16,
            num_classes=3,
            dilations=SCHEDULES[schedule],
            module_type='large',
            noise_std=0.0,
        )
    )
    head.init_weights()
    x = _scores(3, 10, 10)
    with torch.no_grad():
        assert torch.equal(head.forward_context(x), x)
    # The classifier keeps its N(0, 0.01^2) init, bias zero.
    weight = head.classifier.conv.weight
    assert 0.005 < weight.std().item() < 0.02
    assert torch.all(head.classifier.conv.bias == 0)


def test_identity_whole_head_basic():
    """Basic module at init: head(x) == ReLU(classifier(x)) exactly."""
    head = _head(in_channels=512, num_classes=21)
    feats = torch.randn(1, 512, 8, 8)
    with torch.no_grad():
        expected = F.relu(head.classifier(feats))
        assert torch.equal(head([feats]), expected)


def test_large_noise_init():
    """Default noise_std=0.01: close to the identity, but not identical."""
    torch.manual_seed(0)
    head = _head(num_classes=21, module_type='large')
    # Score maps with a clear winner per pixel, as a trained front-end gives.
    labels = torch.randint(0, 21, (2, 12, 12))
    x = 4 * F.one_hot(labels, 21).permute(0, 3, 1, 2).float()
    x += torch.rand(2, 21, 12, 12)
    with torch.no_grad():
        out = head.forward_context(x)
    assert not torch.equal(out, x)
    corr = torch.corrcoef(torch.stack([out.flatten(), x.flatten()]))[0, 1]
    assert corr > 0.85
    assert (out.argmax(1) == labels).float().mean() > 0.98
    # eq. 5 on the block diagonal centre taps: C / c_{i+1}.
    conv = head.context_convs[2].conv  # 42 -> 84
    assert conv.weight[0, 0, 1, 1].item() == 21 / 84
    assert conv.weight[3, 1, 1, 1].item() == 21 / 84  # floor(3/4) == 1//2
    off = conv.weight[0, 2, 1, 1].item()  # other block: pure noise
    assert off != 21 / 84 and abs(off) < 0.06
    assert torch.all(conv.bias == 0)


def test_receptive_fields():
    assert _head(dilations=VOC).receptive_fields == (3, 5, 9, 17, 33, 65, 67, 67)
    assert _head().margin == 33
    # By hand, r_i = r_{i-1} + (k_i - 1) * d_i: 3x3 layers add 2 d, the final
    # 1x1 adds nothing.
    # KITTI: 1+2=3, +2=5, +4=9, +8=17, +16=33, +2=35, +0=35
    assert _head(dilations=KITTI).receptive_fields == (3, 5, 9, 17, 33, 35, 35)
    # Cityscapes: ..., 33, +32=65, +64=129, +128=257, +2=259, +0=259
    assert _head(dilations=CITYSCAPES).receptive_fields == (3, 5, 9, 17, 33, 65, 129, 257, 259, 259)
    for dilations in SCHEDULES.values():
        fields, field = [], 1
        for k, d in [(3, d) for d in dilations] + [(1, 1)]:
            field += (k - 1) * d
            fields.append(field)
        assert _head(dilations=dilations).receptive_fields == tuple(fields)


def test_widths_and_params():
    large = _head(num_classes=21, module_type='large')
    assert large.context_widths == (42, 42, 84, 168, 336, 672, 672, 21)
    assert large.channels == 672
    assert large.conv_seg.in_channels == 672
    assert [m.conv.dilation[0] for m in large.context_convs] == list(VOC)
    # The rule 2 C max(d_1..d_i) on the Cityscapes schedule.
    city = _head(num_classes=19, module_type='large', dilations=CITYSCAPES)
    assert city.context_widths == tuple(19 * m for m in (2, 2, 4, 8, 16, 32, 64, 128, 128, 1))

    basic = _head(num_classes=21)
    assert basic.context_widths == (21,) * 8
    assert basic.channels == 21
    # About 64 C^2 (paper); exactly 7 layers * 9 C^2 + C^2 (1x1) + 8 C biases.
    c = 21
    params = sum(p.numel() for p in basic.context_convs.parameters())
    params += sum(p.numel() for p in basic.conv_seg.parameters())
    assert params == 7 * 9 * c * c + c * c + 8 * c == 64 * c * c + 8 * c
    # The context layers carry no norm.
    assert all(not m.with_norm for m in basic.context_convs)


def test_valid_padding_sizes():
    feats = torch.randn(1, 8, 70, 80)
    # VOC: 67x67 receptive field, so 'valid' layers cut 66 pixels.
    head = _head(padding='valid')
    assert head([feats]).shape == (1, 3, 70 - 66, 80 - 66)
    assert head._forward_feature([feats]).shape == (1, 3, 4, 14)
    # KITTI: 35x35, cuts 34.
    head = _head(padding='valid', dilations=KITTI)
    assert head([feats]).shape == (1, 3, 70 - 34, 80 - 34)
    # pad_input pads the score maps by the margin: the size is kept.
    head = _head(padding='valid', pad_input=True)
    assert head.context_convs[0].conv.padding == (33, 33)
    assert all(m.conv.padding == (0, 0) for m in head.context_convs[1:])
    assert head([torch.randn(1, 8, 9, 11)]).shape == (1, 3, 9, 11)
    # 'same' keeps the size too.
    assert _head()([torch.randn(1, 8, 9, 11)]).shape == (1, 3, 9, 11)
    # Too small for an unpadded module: clear error.
    with pytest.raises(ValueError, match='at least 67x67'):
        _head(padding='valid')([torch.randn(1, 8, 66, 80)])


@pytest.mark.parametrize('module_type', ['basic', 'large'])
def test_with_cp(module_type):
    torch.manual_seed(0)
    kwargs = dict(in_channels=8, num_classes=3, module_type=module_type)
    ref = _head(**kwargs)
    cp_head = _head(with_cp=True, **kwargs)
    # Move away from the identity so every gradient is informative.
    for p in ref.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    cp_head.load_state_dict(ref.state_dict())
    assert_head_same_outputs_and_grads(
        ref, cp_head, torch.randn(2, 8, 12, 12), torch.randn(2, 3, 12, 12)
    )


@pytest.mark.parametrize('in_channels', [512, 2048])  # DRN, ResNetV1c-D8
def test_backbone_widths(in_channels):
    head = _head(
        in_channels=in_channels, num_classes=19, module_type='large', norm_cfg=dict(type='BN')
    )
    # norm_cfg reaches the classifier only.
    assert head.classifier.with_norm
    assert all(not m.with_norm for m in head.context_convs)
    out = head([torch.randn(2, in_channels, 9, 9)])
    assert out.shape == (2, 19, 9, 9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'basic', 'large'"):
        _head(module_type='huge')
    with pytest.raises(ValueError, match="'same', 'valid'"):
        _head(padding='full')
    with pytest.raises(ValueError, match='pad_input'):
        _head(pad_input=True)
    with pytest.raises(ValueError, match='needs channels=672'):
        _head(num_classes=21, module_type='large', channels=512)
    with pytest.raises(ValueError, match='dilations'):
        _head(dilations=())
    with pytest.raises(ValueError, match='dilations'):
        _head(dilations=(1, 0, 2))
    with pytest.raises(ValueError, match='noise_std'):
        _head(noise_std=-1)
    with pytest.raises(ValueError, match='classifier_init_std'):
        _head(classifier_init_std=0)
    # A matching channels value is accepted.
    assert _head(num_classes=21, channels=21).channels == 21


def test_frontend_loss_weight():
    """loss_frontend = weight * the head's loss_decode on the classifier's scores (resized)."""
    torch.manual_seed(0)
    head = _head(num_classes=3, module_type='basic', dropout_ratio=0.0, frontend_loss_weight=0.4)
    feats = [torch.randn(2, 8, 6, 6)]
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 24, 24)))
        samples.append(s)
    losses = head.loss(feats, samples, ConfigDict())
    scores = head.classifier(feats[0])
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])

    def ce(logits):
        up = F.interpolate(logits, size=(24, 24), mode='bilinear', align_corners=False)
        return F.cross_entropy(up, labels, ignore_index=255)

    torch.testing.assert_close(losses['loss_frontend'], 0.4 * ce(scores))
    torch.testing.assert_close(losses['loss_ce'], ce(head.forward_context(scores)))
    # off by default: mmseg's losses only
    head.frontend_loss_weight = 0.0
    assert 'loss_frontend' not in head.loss(feats, samples, ConfigDict())
    with pytest.raises(ValueError, match='frontend_loss_weight'):
        _head(num_classes=3, frontend_loss_weight=-1)


@pytest.mark.parametrize('std', [0.01, 0.001])
def test_classifier_init_std(std):
    """The 1x1 classifier starts at N(0, std), bias 0, after mmengine's init flow too (the VOC
    release's VGG front-end uses 0.001): the sample std of 21 x 4096 weights is within 3% of it
    (its standard error is 0.24%)."""
    torch.manual_seed(0)
    head = ContextHead(
        in_channels=4096, num_classes=21, module_type='large', classifier_init_std=std
    )
    head.init_weights()
    weight = head.classifier.conv.weight
    assert weight.std().item() == pytest.approx(std, rel=0.03)
    assert abs(weight.mean().item()) < 3 * std / weight.numel() ** 0.5 * 2
    assert not head.classifier.conv.bias.any()
