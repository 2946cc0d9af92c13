"""Every change ``import mmseg_dilated`` makes to mmengine and mmseg, in one place.

A plugin should leave its host alone; these are the exceptions, each because the host's released
code fails a user of this package in a way the plugin cannot work around from outside. Each patch
is installed once (idempotent) by :func:`install`, which ``mmseg_dilated/__init__.py`` calls before
it imports anything else of ours. :data:`PATCHES` lists them with what they change and why; the
documentation page "What importing mmseg_dilated changes" is written from it.

1. ``checkpoint_loaders``: mmengine's ``CheckpointLoader`` schemes for local files and for
   ``http(s)://`` URLs are replaced by loaders on torch's weights-only unpickler. torch >= 2.6
   loads with ``weights_only=True`` and mmengine 0.10.7 calls ``torch.load`` without allow-listing
   the types its own Runner saves (open-mmlab/mmengine#1655), so ``--resume``, ``load_from`` and
   ``init_cfg=dict(type='Pretrained')`` fail. The replacements keep mmengine's function names
   (``load_from_local``, ``load_from_http``) and signatures. **Cannot be turned off**: turning off
   the safe unpickler would let a checkpoint run code. Steps aside where the host's own loader
   both loads what its Runner saves and refuses a planted object (:func:`host_loader_is_safe`,
   a behaviour probe at import); neither host passes it: onedl-mmengine 0.10.12 loads its
   checkpoints, but loads any file its allow-list refuses again with ``weights_only=False``,
   which runs what the file pickles.
2. ``config_scope``: ``Config._get_cfg_path`` learns the ``mmseg_dilated::`` scope, so a user's
   config can inherit ours (``_base_ = ['mmseg_dilated::context_toy.py']``). mmengine resolves
   ``pkg::`` only for the packages of its own table and reads ``_base_`` before it runs the
   config's ``custom_imports``. Every other path goes to mmengine's own resolver; only where that
   raises ``ModuleNotFoundError`` for a module that is importable (onedl-mmengine 0.10.12 looks
   ``mmseg::`` up as the distribution ``mmsegmentation``, the fork's is
   ``onedl-mmsegmentation``) the path is found in that module's configs
   (:func:`~mmseg_dilated.utils.config_scope.resolve_module_scope`). Cannot be turned off
   (configs that inherit ours would stop loading).
3. ``sample_checks``: mmseg's ``BaseSegDataset.prepare_data`` and
   ``LoadAnnotations._load_seg_map`` name the image and label of a sample that fails to load, whose
   label has another size than its image, or whose label values are neither a class nor the
   ignore index (mmseg reports none of these with a file name; the last one silently lowers
   mIoU). Turn off with the environment variable ``MMSEG_DILATED_SAMPLE_CHECKS=0`` before the
   import. Needed on both hosts: onedl-mmsegmentation 1.4.2 and onedl-mmengine 0.10.12 load a
   sample as 1.2.2 and 0.10.7 do.

Which host needs which patch is :data:`HOSTS`; "the default host" is OpenMMLab's
mmsegmentation 1.2.2 / mmengine 0.10.7 / mmcv 2.1.0, "the fork" OneDL's onedl-mmsegmentation 1.4.2
/ onedl-mmengine 0.10.12 / onedl-mmcv 2.3.6 (``HOST=onedl bash tools/setup_env.sh``).
"""

import os
import os.path as osp
from collections import namedtuple
from typing import Optional

__all__ = [
    'PATCHES',
    'HOSTS',
    'Patch',
    'install',
    'installed',
    'host_loader_is_safe',
    'SAMPLE_CHECKS_ENV',
]

SAMPLE_CHECKS_ENV = 'MMSEG_DILATED_SAMPLE_CHECKS'

Patch = namedtuple('Patch', 'name target why switch')

PATCHES = (
    Patch(
        'checkpoint_loaders',
        'mmengine.runner.CheckpointLoader schemes "" (local files) and "http://", "https://"',
        'torch >= 2.6 loads weights-only; mmengine 0.10.7 cannot load its own checkpoints there '
        '(open-mmlab/mmengine#1655). The loaders allow-list exactly the types mmengine saves.',
        None,
    ),
    Patch(
        'config_scope',
        'mmengine.config.Config._get_cfg_path',
        'resolves the mmseg_dilated:: scope in _base_, which mmengine reads before custom_imports',
        None,
    ),
    Patch(
        'sample_checks',
        'mmseg.datasets.BaseSegDataset.prepare_data, '
        'mmseg.datasets.transforms.LoadAnnotations._load_seg_map',
        'a broken sample (unreadable file, label of another size, label values outside the '
        'classes) is reported with its file names',
        f'{SAMPLE_CHECKS_ENV}=0',
    ),
)

# Which host needs which patch. "default": OpenMMLab's mmsegmentation 1.2.2 / mmengine 0.10.7 /
# mmcv 2.1.0 (what CI runs); "onedl": OneDL's onedl-mmsegmentation 1.4.2 / onedl-mmengine 0.10.12 /
# onedl-mmcv 2.3.6 (HOST=onedl bash tools/setup_env.sh; tools/test_hosts.sh runs the suite there).
HOSTS = {
    'checkpoint_loaders': dict(
        default='needed: cannot load its own checkpoints on torch >= 2.6',
        onedl='needed: loads them, but loads any file its allow-list refuses again with '
        'weights_only=False, so an object planted in a checkpoint runs',
        detected='host_loader_is_safe(): a probe at import; skipped on a host that passes it',
    ),
    'config_scope': dict(
        default='needed for mmseg_dilated::; mmseg:: is resolved by mmengine itself',
        onedl='needed for mmseg_dilated:: and for mmseg::, which its mmengine looks up as the '
        'distribution mmsegmentation (ModuleNotFoundError; the fork is onedl-mmsegmentation)',
        detected='the mmseg:: fallback runs only where the host raises ModuleNotFoundError',
    ),
    'sample_checks': dict(
        default='needed', onedl='needed: loads samples as the default host does', detected='-'
    ),
}

_installed = set()


def installed() -> tuple:
    """Names of the patches installed in this process."""
    return tuple(p.name for p in PATCHES if p.name in _installed)


# 1. checkpoint loaders ---------------------------------------------------------------------------

_PLANTED_RAN = []


def _planted_call():
    _PLANTED_RAN.append(True)


class _Planted:
    """Pickles as a call of :func:`_planted_call`: harmless, and visible if a loader runs it."""

    def __reduce__(self):
        return (_planted_call, ())


def host_loader_is_safe() -> bool:
    """Whether mmengine's own local-file loader loads what its Runner saves (a message-hub
    ``HistoryBuffer``, numpy scalars) on the weights-only unpickler and refuses a file that
    pickles a call. Measured, not read off a version: mmengine 0.10.7 on torch >= 2.6 fails the
    first; onedl-mmengine 0.10.12 passes the first and fails the second (its ``_safe_torch_load``
    retries with ``weights_only=False``)."""
    import contextlib
    import io
    import tempfile
    import warnings

    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import load_from_local as host_load

    history = HistoryBuffer()
    history.update(1.0)
    own = dict(
        state_dict=dict(w=torch.zeros(1)),
        message_hub=dict(log_scalars=dict(loss=history)),
        meta=dict(seed=np.int64(0), iter=1),
    )
    del _PLANTED_RAN[:]
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stdout(io.StringIO()),  # the fork prints its fallback warning
        warnings.catch_warnings(),
    ):
        warnings.simplefilter('ignore')
        torch.save(own, osp.join(tmp, 'own.pth'))
        torch.save(dict(meta=_Planted()), osp.join(tmp, 'planted.pth'))
        try:
            host_load(osp.join(tmp, 'own.pth'), 'cpu')
        except Exception:  # noqa: BLE001  (any failure: the host cannot load its checkpoints)
            return False
        try:
            host_load(osp.join(tmp, 'planted.pth'), 'cpu')
        except Exception:  # noqa: BLE001  (refused, as it should be)
            pass
    return not _PLANTED_RAN


def _install_checkpoint_loaders() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader

    from .utils.checkpoint import safe_load

    # Named as mmengine's own loaders: mmengine's tests (and users) look them up by name.
    def load_from_local(filename: str, map_location: Optional[str] = None):
        """mmengine's local-file checkpoint loader, on the weights-only unpickler."""
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(
                f'Checkpoint {filename} does not exist. Check the path given to load_from, '
                '--resume, the test command or init_cfg=dict(type="Pretrained", checkpoint=...).'
            )
        return safe_load(filename, map_location=map_location)

    def load_from_http(
        filename: str, map_location: Optional[str] = None, model_dir: Optional[str] = None
    ):
        """mmengine's HTTP loader: download to torch's hub cache, then load safely."""
        from urllib.parse import urlparse

        from mmengine.dist import barrier, get_dist_info
        from torch.hub import download_url_to_file, get_dir

        rank, world_size = get_dist_info()
        model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
        os.makedirs(model_dir, exist_ok=True)
        cached = osp.join(model_dir, osp.basename(urlparse(filename).path))
        if rank == 0 and not osp.exists(cached):
            download_url_to_file(filename, cached, progress=False)
        if world_size > 1:
            barrier()
        return safe_load(cached, map_location=map_location)

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True
    )


# 2. config scope ---------------------------------------------------------------------------------


def _install_config_scope() -> None:
    from mmengine.config import Config
    from mmengine.config import utils as config_utils

    from .utils.config_scope import CONFIG_SCOPE, resolve_config_path, resolve_module_scope

    prefix = CONFIG_SCOPE + '::'
    original = Config._get_cfg_path

    def _get_cfg_path(cfg_path: str, filename: str):
        if cfg_path.startswith(prefix):
            return resolve_config_path(cfg_path), 'mmseg'
        try:
            return original(cfg_path, filename)
        except ModuleNotFoundError:
            # the host looked the scope up by a distribution name that is not installed although
            # the module is (the fork: mmseg:: as `mmsegmentation`)
            resolved = resolve_module_scope(cfg_path)
            if resolved is None:
                raise
            return resolved, cfg_path.partition('::')[0]

    _get_cfg_path.__wrapped__ = original  # the host's own resolver (functools' convention)
    Config._get_cfg_path = staticmethod(_get_cfg_path)
    # mmengine's other `pkg::` readers (mmengine.get_config, get_model) look the package up here;
    # for a wheel install they then find the configs under mmseg_dilated/.mim/configs.
    config_utils.MODULE2PACKAGE.setdefault(CONFIG_SCOPE, 'mmseg-dilated')


# 3. sample checks --------------------------------------------------------------------------------


def _install_sample_checks() -> None:
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations

    from .datasets.sample_checks import (
        SampleError,
        check_label_shape,
        check_label_values,
        sample_load_error,
    )

    prepare_data = BaseSegDataset.prepare_data
    load_seg_map = LoadAnnotations._load_seg_map

    def checked_prepare_data(self, idx):
        try:
            data = prepare_data(self, idx)
        except SampleError:
            raise
        except Exception as err:
            raise sample_load_error(self, idx, err) from err
        check_label_values(self, idx, data)
        return data

    def checked_load_seg_map(self, results):
        load_seg_map(self, results)
        check_label_shape(results)

    BaseSegDataset.prepare_data = checked_prepare_data
    LoadAnnotations._load_seg_map = checked_load_seg_map


_INSTALLERS = {
    'checkpoint_loaders': _install_checkpoint_loaders,
    'config_scope': _install_config_scope,
    'sample_checks': _install_sample_checks,
}


def install() -> tuple:
    """Install every patch not installed yet (the sample checks unless switched off).

    Returns:
        tuple[str]: The names of the patches installed in this process.
    """
    for patch in PATCHES:
        if patch.name in _installed:
            continue
        if patch.name == 'sample_checks' and os.environ.get(SAMPLE_CHECKS_ENV, '1') == '0':
            continue
        if patch.name == 'checkpoint_loaders' and host_loader_is_safe():
            continue
        _INSTALLERS[patch.name]()
        _installed.add(patch.name)
    return installed()
