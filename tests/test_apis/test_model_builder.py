import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import ConcatDataset, RepeatDataset
from torch.utils.data import ConcatDataset as TorchConcat

import mmseg_dilated  # noqa: F401
from mmseg_dilated.apis.model_builder import build_segmentor
from mmseg_dilated.datasets.builder import build_dataset_from_config, unwrap_dataset
from mmseg_dilated.datasets.context_shapes import ContextShapesDataset

from _helpers import REPO, TINY_CONFIG, tiny_config_at

SYNCBN_CONFIG = osp.join(REPO, 'tests', 'data', 'context_tiny_syncbn.py')


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def _norm_types(model):
    return sorted({type(m).__name__ for m in model.modules() if 'Norm' in type(m).__name__})


def test_equals_init_model_with_the_same_checkpoint(tmp_path):
    from mmseg.apis import init_model

    torch.manual_seed(1)
    trained = build_segmentor(TINY_CONFIG)
    for p in trained.parameters():  # weights no initialiser would give
        p.data.uniform_(-1, 1)
    meta = dict(dataset_meta=dict(classes=('a', 'b', 'c', 'd'), palette=[[0, 0, 0]] * 4))
    ckpt = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=trained.state_dict(), meta=meta), ckpt)

    ours = build_segmentor(TINY_CONFIG, str(ckpt))
    ref = init_model(TINY_CONFIG, str(ckpt), device='cpu')
    _assert_same_state(ours, ref)
    _assert_same_state(ours, trained)
    assert not ours.training and not any(m.training for m in ours.modules())
    assert ours.dataset_meta == ref.dataset_meta == meta['dataset_meta']
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours._forward(x), ref._forward(x))


def test_without_checkpoint_initialises_as_training_does():
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    cfg = Config.fromfile(TINY_CONFIG)
    torch.manual_seed(0)
    ours = build_segmentor(cfg)
    # By hand: the model dict without a pretrained init_cfg, built and init_weights()'ed.
    init_default_scope('mmseg')
    model_cfg = cfg.model.copy()
    model_cfg.backbone.init_cfg = None
    model_cfg.train_cfg = None
    torch.manual_seed(0)
    ref = MODELS.build(model_cfg)
    ref.init_weights()
    _assert_same_state(ours, ref)
    # The context module is identity-initialised: its convs are not at torch's default init.
    assert not torch.equal(
        ours.decode_head.context_convs[0].conv.weight,
        MODELS.build(model_cfg).decode_head.context_convs[0].conv.weight,
    )
    assert ours.dataset_meta['classes'] == ContextShapesDataset.METAINFO['classes']


def test_syncbn_is_reverted():
    from mmseg.apis import init_model
    from torch.nn.modules.batchnorm import _BatchNorm

    ref = init_model(SYNCBN_CONFIG, device='cpu')
    assert _norm_types(ref) == ['SyncBatchNorm']
    model = build_segmentor(SYNCBN_CONFIG)
    # mmengine's revert_sync_batchnorm turns each SyncBN into its _BatchNormXd, one for one.
    assert _norm_types(model) == ['_BatchNormXd']
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(norms) == sum(isinstance(m, torch.nn.SyncBatchNorm) for m in ref.modules()) > 0
    with torch.no_grad():  # runs without a process group
        out = model._forward(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 4, 16, 16)


def _with_cp_flags(module):
    return {name: m.with_cp for name, m in module.named_modules() if hasattr(m, 'with_cp')}


def test_with_cp_reaches_backbone_and_head():
    as_configured = build_segmentor(TINY_CONFIG)
    assert set(_with_cp_flags(as_configured).values()) == {False}
    model = build_segmentor(TINY_CONFIG, with_cp=True)
    flags = _with_cp_flags(model)
    assert flags['backbone'] and flags['decode_head']
    # The same flags, block by block, as setting both config keys by hand.
    by_hand = build_segmentor(
        TINY_CONFIG, cfg_options={'model.backbone.with_cp': True, 'model.decode_head.with_cp': True}
    )
    assert flags == _with_cp_flags(by_hand)
    assert sum(name.startswith('backbone.layer') and on for name, on in flags.items()) >= 3
    off = build_segmentor(TINY_CONFIG, cfg_options={'model.backbone.with_cp': True}, with_cp=False)
    assert set(_with_cp_flags(off).values()) == {False}
    # A part whose class does not take with_cp (mmseg's FCNHead) is left alone, not an error.
    fcn = dict(type='FCNHead', in_channels=8, channels=8, num_convs=1, num_classes=4, _delete_=True)
    model = build_segmentor(TINY_CONFIG, cfg_options={'model.decode_head': fcn}, with_cp=True)
    flags = _with_cp_flags(model)
    assert flags['backbone'] and 'decode_head' not in flags


def test_config_is_not_modified():
    cfg = Config.fromfile(TINY_CONFIG)
    before = cfg.pretty_text
    build_segmentor(cfg, with_cp=True, cfg_options={'model.decode_head.dropout_ratio': 0.5})
    assert cfg.pretty_text == before


def test_unwrap_dataset_strips_nested_wrappers(tmp_path):
    cfg = tiny_config_at(tmp_path / 'tiny')
    train = build_dataset_from_config(cfg, 'train')
    val = build_dataset_from_config(cfg, 'val')
    assert isinstance(train, ContextShapesDataset) and (len(train), len(val)) == (8, 3)
    # mmengine's wrappers take only BaseDatasets (configs nest them: below); torch's
    # ConcatDataset nests any.
    wrapped = TorchConcat([RepeatDataset(train, times=3), ConcatDataset([val, val])])
    assert len(wrapped) == 3 * 8 + 3 + 3
    leaves = unwrap_dataset(wrapped)
    assert len(leaves) == 3
    assert leaves[0] is train and leaves[1] is val and leaves[2] is val
    assert unwrap_dataset(train) == [train]
    assert unwrap_dataset(None) == []

    # The same wrappers as configs: the caller's own dicts come back.
    train_cfg, val_cfg = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    wrapped_cfg = dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type='RepeatDataset',
                times=3,
                dataset=dict(type='ConcatDataset', datasets=[train_cfg, val_cfg]),
            ),
            val_cfg,
        ],
    )
    leaves = unwrap_dataset(wrapped_cfg)
    assert [leaf is ref for leaf, ref in zip(leaves, (train_cfg, val_cfg, val_cfg))] == [True] * 3

    # Built from the config, the wrapped dataset unwraps to datasets equal to the leaves.
    cfg.train_dataloader.dataset = wrapped_cfg
    built = build_dataset_from_config(cfg)
    assert len(built) == 36
    assert [len(d) for d in unwrap_dataset(built)] == [8, 3, 3]
    only_leaves = build_dataset_from_config(cfg, unwrap=True)
    assert [type(d) for d in only_leaves] == [ContextShapesDataset] * 3
    assert [d.get_data_info(0)['img_path'] for d in only_leaves] == [
        d.get_data_info(0)['img_path'] for d in unwrap_dataset(built)
    ]


def test_build_dataset_errors_name_the_choices(tmp_path):
    cfg = tiny_config_at(tmp_path / 'tiny')
    with pytest.raises(ValueError, match=r"one of \('train', 'val', 'test'\), got 'tset'"):
        build_dataset_from_config(cfg, 'tset')
    cfg.test_dataloader = None
    with pytest.raises(
        ValueError, match='no test_dataloader.dataset; it has datasets for: train, val'
    ):
        build_dataset_from_config(cfg, 'test')
    with pytest.raises(TypeError, match='got int'):
        build_segmentor(3)


def test_pretrained_backbone_is_not_read_for_a_subclass_of_encoder_decoder(tmp_path, monkeypatch):
    """mmseg's init_model drops the backbone's Pretrained init_cfg only for model.type
    'EncoderDecoder' exactly; the multi-scale config (a subclass) names pretrain/drn_d_22_mmseg.pth,
    which does not exist here, and must still build."""
    monkeypatch.chdir(tmp_path)
    path = osp.join(
        REPO, 'configs', 'multiscale', 'context-large_drn-d-22_4xb4-ms-attn-40k_voc12aug-512x512.py'
    )
    cfg = Config.fromfile(path)
    assert cfg.model.type == 'MultiScaleEncoderDecoder'
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert not osp.exists(cfg.model.backbone.init_cfg.checkpoint)
    model = build_segmentor(path)
    assert type(model).__name__ == 'MultiScaleEncoderDecoder'
