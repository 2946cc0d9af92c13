"""Heads, dataset and checkpoint must agree on the number of classes (checked by tools/train.py and
tools/test.py before the Runner is built)."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_dilated.apis.num_classes import (
    NumClassesError,
    check_checkpoint_classes,
    check_num_classes,
    dataset_classes,
)
from mmseg_dilated.datasets.builder import unwrap_dataset

from _helpers import REPO, TINY_CONFIG, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')


def _tiny(**model):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(model)
    return cfg


def test_dataset_classes_from_the_class_or_the_config():
    cfg = _tiny()
    assert dataset_classes(cfg.train_dataloader.dataset) == (
        'background',
        'square',
        'disk',
        'triangle',
    )
    cfg.train_dataloader.dataset.metainfo = dict(classes=('a', 'b'))
    assert dataset_classes(cfg.train_dataloader.dataset) == ('a', 'b')
    voc = Config.fromfile(osp.join(REPO, 'configs', 'context_voc.py'))
    voc_aug = unwrap_dataset(voc.train_dataloader.dataset)  # VOC + SBD, concatenated
    assert [len(dataset_classes(ds)) for ds in voc_aug] == [21, 21]


def test_matching_heads_pass():
    check_num_classes(_tiny(), ('train_dataloader', 'val_dataloader'))
    for name in (
        'context_voc.py',
        'aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py',
        'aspp/aspp_r50-d8_4xb4-40k_voc12aug-512x512.py',
    ):  # with an auxiliary head
        check_num_classes(Config.fromfile(osp.join(REPO, 'configs', name)))


@pytest.mark.parametrize('num', [3, 5])
def test_a_wrong_head_names_both_numbers_and_the_key(num):
    with pytest.raises(NumClassesError) as err:
        check_num_classes(_tiny(**{'model.decode_head.num_classes': num}))
    assert (
        f'model.decode_head.num_classes is {num}, but train_dataloader '
        '(ContextShapesDataset) has 4 classes (background, square, disk, triangle): set '
        'model.decode_head.num_classes=4'
    ) in str(err.value)


def test_auxiliary_head_is_checked_too():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'aspp', 'aspp_r50-d8_4xb4-40k_voc12aug-512x512.py')
    )
    cfg.model.auxiliary_head.num_classes = 19
    with pytest.raises(
        NumClassesError,
        match=r'model.auxiliary_head.num_classes is 19, but '
        r'train_dataloader \(PascalVOCDataset\) has 21 classes',
    ):
        check_num_classes(cfg)


def test_binary_head_on_two_classes_passes():
    cfg = _tiny(**{'model.decode_head.num_classes': 2, 'model.decode_head.out_channels': 1})
    cfg.train_dataloader.dataset.metainfo = dict(classes=('background', 'shape'))
    check_num_classes(cfg)


def test_checkpoint_with_another_class_count():
    cfg = _tiny()
    good = {'state_dict': {'decode_head.conv_seg.weight': torch.zeros(4, 8, 1, 1)}}
    check_checkpoint_classes(cfg, good, 'good.pth')
    bad = {'state_dict': {'decode_head.conv_seg.weight': torch.zeros(5, 8, 1, 1)}}
    with pytest.raises(
        NumClassesError,
        match=r'bad.pth was trained for another number of classes'
        r'[^\n]*\n  decode_head.conv_seg has 5 outputs in the checkpoint, '
        r'model.decode_head has 4 in the config',
    ):
        check_checkpoint_classes(cfg, bad, 'bad.pth')


@pytest.mark.slow
def test_tools_stop_before_the_runner(tmp_path, python):
    proc = run_tool(
        [python, TRAIN, TINY_CONFIG, '--cfg-options', 'model.decode_head.num_classes=5'],
        tmp_path,
        timeout=120,
    )
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout
    assert 'model.decode_head.num_classes is 5, but train_dataloader' in proc.stdout
    ckpt = tmp_path / 'five.pth'
    torch.save({'state_dict': {'decode_head.conv_seg.weight': torch.zeros(5, 8, 1, 1)}}, ckpt)
    proc = run_tool([python, TEST, TINY_CONFIG, str(ckpt)], tmp_path, timeout=120)
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout
    assert 'decode_head.conv_seg has 5 outputs in the checkpoint' in proc.stdout
