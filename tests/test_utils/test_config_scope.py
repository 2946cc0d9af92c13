"""The mmseg_dilated:: config scope in this (editable) install: names resolve to the checkout's
configs, a user's config inherits by scope, and a wrong name says what exists."""

import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_dilated.utils import configs_root, list_configs, load_config, resolve_config_path

from _helpers import REPO


def test_names_resolve_to_the_checkouts_configs():
    assert configs_root() == osp.join(REPO, 'configs')
    assert resolve_config_path('mmseg_dilated::context_toy.py') == osp.join(
        REPO, 'configs', 'context_toy.py'
    )
    assert resolve_config_path('configs/context_toy.py') == 'configs/context_toy.py'
    on_disk = sorted(
        osp.relpath(osp.join(d, f), osp.join(REPO, 'configs'))
        for d, _, files in os.walk(osp.join(REPO, 'configs'))
        for f in files
        if f.endswith('.py')
    )
    assert list_configs(include_bases=True) == on_disk
    assert list_configs() == [c for c in on_disk if not c.startswith('_base_')]


def test_user_config_inherits_by_scope(tmp_path):
    user = tmp_path / 'mine.py'
    user.write_text(
        "_base_ = ['mmseg_dilated::aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py']\n"
        'model = dict(decode_head=dict(num_classes=5))\n'
    )
    cfg = Config.fromfile(str(user))
    shipped = Config.fromfile(
        osp.join(REPO, 'configs', 'aspp', 'aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py')
    )
    assert cfg.model.decode_head.num_classes == 5
    assert cfg.model.backbone.to_dict() == shipped.model.backbone.to_dict()
    assert cfg.train_dataloader.dataset.to_dict() == shipped.train_dataloader.dataset.to_dict()
    # the base's model takes mmseg's scope, the one its components are registered in
    assert cfg.model._scope_ == 'mmseg' and '_scope_' not in shipped.model
    assert cfg.default_scope == 'mmseg'
    # a top-level name by scope goes through load_config (what every command uses)
    assert load_config('mmseg_dilated::context_toy.py').model.decode_head.num_classes == 4


def test_unknown_name_lists_where_to_look(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"ships no config 'nope\.py'.*mmseg-dilated configs"
    ):
        resolve_config_path('mmseg_dilated::nope.py')
    user = tmp_path / 'bad.py'
    user.write_text("_base_ = ['mmseg_dilated::aspp/nope.py']\n")
    with pytest.raises(FileNotFoundError, match=r"ships no config 'aspp/nope\.py'"):
        Config.fromfile(str(user))
    with pytest.raises(FileNotFoundError, match='config missing.py does not exist'):
        load_config('missing.py')
