"""The host patches step aside by behaviour, not by package name: the checkpoint loaders where the
host's own loader is already safe, the ``mmseg::`` fallback where the host resolves the scope
itself. Each host's failure is reproduced here on whichever host runs the suite."""

import os.path as osp

import mmengine.runner.checkpoint as mmengine_checkpoint
import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.config import utils as config_utils

from mmseg_dilated import host_patches
from mmseg_dilated.utils.checkpoint import safe_load


def _fallback_to_unsafe(filename, map_location=None):
    """onedl-mmengine 0.10.12's ``_safe_torch_load``: weights-only with an allow-list, and if that
    refuses the file, ``weights_only=False``."""
    try:
        return safe_load(filename, map_location=map_location)
    except Exception:
        return torch.load(filename, map_location=map_location, weights_only=False)


def _no_allow_list(filename, map_location=None):
    """mmengine 0.10.7 on torch >= 2.6: ``torch.load`` with torch's default, weights-only."""
    return torch.load(filename, map_location=map_location)


@pytest.mark.parametrize(
    'loader,safe',
    [(_fallback_to_unsafe, False), (_no_allow_list, False), (safe_load, True)],
)
def test_probe_judges_the_hosts_loader_by_what_it_does(monkeypatch, loader, safe):
    monkeypatch.setattr(mmengine_checkpoint, 'load_from_local', loader)
    assert host_patches.host_loader_is_safe() is safe


def test_this_hosts_loader_needs_the_patch():
    """Neither host's own loader passes (host_patches.HOSTS), so ours is installed."""
    assert host_patches.host_loader_is_safe() is False
    assert 'checkpoint_loaders' in host_patches.installed()


def test_loaders_step_aside_where_the_host_is_safe(monkeypatch):
    calls = []
    monkeypatch.setattr(host_patches, '_installed', set())
    installers = {p.name: (lambda n=p.name: calls.append(n)) for p in host_patches.PATCHES}
    monkeypatch.setattr(host_patches, '_INSTALLERS', installers)
    monkeypatch.setattr(host_patches, 'host_loader_is_safe', lambda: True)
    monkeypatch.delenv(host_patches.SAMPLE_CHECKS_ENV, raising=False)
    assert host_patches.install() == ('config_scope', 'sample_checks')
    assert calls == ['config_scope', 'sample_checks']


def test_mmseg_scope_resolves_where_the_host_looks_up_another_distribution(monkeypatch, tmp_path):
    """The fork's failure: mmengine maps ``mmseg`` to a distribution that is not installed
    (there: ``mmsegmentation``, the fork's being ``onedl-mmsegmentation``) and raises
    ModuleNotFoundError; the scope then resolves in the importable module's configs."""
    rel = '_base_/models/deeplabv3_r50-d8.py'
    expected = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', rel)
    assert osp.isfile(expected)
    monkeypatch.setitem(config_utils.MODULE2PACKAGE, 'mmseg', 'no-such-distribution')
    host_resolver = Config._get_cfg_path.__wrapped__
    with pytest.raises(ModuleNotFoundError, match='no-such-distribution is not installed'):
        host_resolver(f'mmseg::{rel}', '')
    path, scope = Config._get_cfg_path(f'mmseg::{rel}', '')
    assert (osp.realpath(path), scope) == (osp.realpath(expected), 'mmseg')
    user = tmp_path / 'mine.py'
    user.write_text(
        f"_base_ = ['mmseg::{rel}', 'mmseg_dilated::_base_/datasets/context_shapes.py']\n"
    )
    cfg = Config.fromfile(str(user))
    assert cfg.model.decode_head.type == 'ASPPHead'
    assert cfg.train_dataloader.dataset.type == 'ContextShapesDataset'


def test_the_fallback_is_not_reached_where_the_host_resolves_mmseg():
    rel = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
    try:
        host = Config._get_cfg_path.__wrapped__(rel, '')
    except ModuleNotFoundError:
        pytest.skip('this host looks mmseg:: up as a distribution that is not installed (the fork)')
    assert Config._get_cfg_path(rel, '') == host


def test_a_scope_of_no_importable_module_keeps_the_hosts_error(monkeypatch):
    monkeypatch.setitem(config_utils.MODULE2PACKAGE, 'mmnope', 'mmnope')
    with pytest.raises(ModuleNotFoundError, match='mmnope is not installed'):
        Config._get_cfg_path('mmnope::a/b.py', '')
