"""One way to build a segmentor or a dataset from a config for analysis and export.

The tools that look at a model outside training (receptive fields, class weights, the benchmark,
ONNX export) build it here, so that they agree on what "the model of this config" is: mmseg's own
:func:`mmseg.apis.init_model` (pretrained ``init_cfg`` and ``train_cfg`` dropped, the checkpoint
loaded, ``dataset_meta`` set), then SyncBN turned into BN with mmengine's
:func:`~mmengine.model.revert_sync_batchnorm` so that it runs without a process group.
"""

import copy
import inspect
import logging
import os
from typing import Optional

import torch.nn as nn

__all__ = [
    'DATASET_SPLITS',
    'WITH_CP_PARTS',
    'init_registries',
    'build_segmentor',
    'unwrap_dataset',
    'build_dataset_from_config',
]

DATASET_SPLITS = ('train', 'val', 'test')
# The model parts build_segmentor's ``with_cp`` reaches (those whose class takes the argument).
WITH_CP_PARTS = ('backbone', 'decode_head')


def _as_config(config, cfg_options: Optional[dict] = None):
    """A copy of ``config`` (a path, a ``mmseg_dilated::`` name or a Config) with ``cfg_options``
    merged in; the caller's Config is never modified."""
    from mmengine.config import Config

    from .launch import load_config

    if isinstance(config, (str, os.PathLike)):
        cfg = load_config(os.fspath(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(
            f'config must be a config file path or an mmengine Config, got {type(config).__name__}'
        )
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def init_registries(cfg) -> None:
    """Register mmseg's and this package's components, import the config's ``custom_imports`` and
    make the config's ``default_scope`` (mmseg's by default) current, as mmengine's Runner does
    before building anything."""
    from mmengine.registry import init_default_scope
    from mmseg.utils import register_all_modules

    import mmseg_dilated  # noqa: F401  (registers our components, safe checkpoint loading)

    register_all_modules(init_default_scope=False)
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg['custom_imports'])
    init_default_scope(cfg.get('default_scope', 'mmseg') or 'mmseg')


def _accepts_with_cp(cls) -> bool:
    # Subclasses such as mmseg's ResNetV1c take it through **kwargs: look along the MRO.
    return any(
        'with_cp' in inspect.signature(c.__init__).parameters
        for c in cls.__mro__
        if '__init__' in vars(c)
    )


def _set_with_cp(model_cfg, with_cp: bool) -> None:
    from mmseg.registry import MODELS

    for key in WITH_CP_PARTS:
        parts = model_cfg.get(key)
        for part in parts if isinstance(parts, list) else [parts]:
            if isinstance(part, dict) and _accepts_with_cp(MODELS.get(part['type'])):
                part['with_cp'] = with_cp


def _quiet_init_weights(model: nn.Module) -> None:
    # init_weights logs one INFO record per parameter; keep a tool's report readable.
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _config_dataset_meta(cfg) -> dict:
    """Classes and palette of the config's test (else val) dataset: its class's ``METAINFO``
    updated with the config's ``metainfo``; empty when the config has neither loader."""
    from mmseg.registry import DATASETS

    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    leaves = unwrap_dataset(loader.get('dataset')) if loader else []
    if not leaves:
        return {}
    leaf = leaves[0]
    kind = leaf.get('type')
    cls = kind if isinstance(kind, type) else DATASETS.get(kind) if kind else None
    meta = dict(getattr(cls, 'METAINFO', {}))
    meta.update(leaf.get('metainfo') or {})
    return meta


def build_segmentor(
    config,
    checkpoint: Optional[str] = None,
    device: str = 'cpu',
    cfg_options: Optional[dict] = None,
    with_cp: Optional[bool] = None,
) -> nn.Module:
    """The segmentor of a config, for analysis and export, in eval mode.

    Built by mmseg's :func:`~mmseg.apis.init_model`: the backbone's pretrained ``init_cfg`` and
    ``model.pretrained`` are dropped (nothing is downloaded or read besides ``checkpoint``),
    ``checkpoint`` is loaded with mmengine's ``load_checkpoint`` (a weights-only load once
    ``mmseg_dilated`` is imported) and ``dataset_meta`` is taken from it. Without a checkpoint the
    weights are initialised as training from scratch initialises them (``init_weights``), and
    ``dataset_meta`` comes from the config's test dataset. SyncBN becomes BN
    (:func:`~mmengine.model.revert_sync_batchnorm`) so that the model runs in one process.

    Args:
        config (str | mmengine.Config): Config file path (or ``mmseg_dilated::REL_PATH``) or a
            loaded Config; a Config is copied, never modified.
        checkpoint (str, optional): Weights to load. Default: None (initialised weights).
        device (str): Device to put the model on. Default: 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config. Default: None.
        with_cp (bool, optional): If not None, set ``with_cp`` (gradient checkpointing) to this
            value on the backbone and the decode head, each where its class accepts it.
            Default: None (as the config says).

    Returns:
        nn.Module: The segmentor, in eval mode, on ``device``. ``model.cfg`` is the config it was
        built from.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    cfg = _as_config(config, cfg_options)
    init_registries(cfg)
    if with_cp is not None:
        _set_with_cp(cfg.model, bool(with_cp))
    # init_model drops the backbone's pretrained init_cfg only when model.type is exactly
    # 'EncoderDecoder'; our segmentors (MultiScaleEncoderDecoder) subclass it, so drop it here.
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and backbone.get('init_cfg') is not None:
        backbone.init_cfg = None
    model = init_model(cfg, checkpoint, device='cpu')
    if checkpoint is None:
        _quiet_init_weights(model)
    if getattr(model, 'dataset_meta', None) is None:
        model.dataset_meta = _config_dataset_meta(cfg)
    model = revert_sync_batchnorm(model)
    return model.to(device).eval()


def _wrapper_types() -> tuple:
    import torch.utils.data as tud
    from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
    from mmseg.datasets import MultiImageMixDataset

    return (
        ClassBalancedDataset,
        ConcatDataset,
        RepeatDataset,
        MultiImageMixDataset,
        tud.ConcatDataset,
    )


def unwrap_dataset(dataset) -> list:
    """The datasets inside dataset wrappers, in order.

    Wrappers that repeat or resample (``RepeatDataset``, ``ClassBalancedDataset``, mmseg's
    ``MultiImageMixDataset``) are dropped, and a ``ConcatDataset`` (mmengine's or torch's)
    contributes each of its datasets, recursively. Works on built datasets and on dataset configs
    alike (a config wraps through its ``dataset`` / ``datasets`` keys); a list of either is
    unwrapped item by item.

    Args:
        dataset: A built dataset, a dataset config (dict / ConfigDict) or a list of them. None
            gives an empty list.

    Returns:
        list: The concrete datasets (or dataset configs: the caller's own objects, not copies),
        e.g. ``[voc, sbd]`` for ``ConcatDataset([RepeatDataset(voc), sbd])``.
    """
    if dataset is None:
        return []
    if isinstance(dataset, (list, tuple)):
        return [leaf for item in dataset for leaf in unwrap_dataset(item)]
    if isinstance(dataset, dict):
        if 'datasets' in dataset:
            return unwrap_dataset(dataset['datasets'])
        if 'dataset' in dataset:
            return unwrap_dataset(dataset['dataset'])
        return [dataset]
    if isinstance(dataset, _wrapper_types()):
        inner = getattr(dataset, 'datasets', None)
        return unwrap_dataset(list(inner) if inner is not None else dataset.dataset)
    return [dataset]


def build_dataset_from_config(cfg, split: str = 'train', unwrap: bool = False):
    """The dataset of ``cfg.<split>_dataloader`` from mmseg's ``DATASETS`` registry, as the Runner
    builds it (same registries, ``custom_imports`` and default scope).

    Args:
        cfg (str | mmengine.Config): The config or its path.
        split (str): 'train', 'val' or 'test'. Default: 'train'.
        unwrap (bool): Build only the datasets inside the wrappers (:func:`unwrap_dataset`) and
            return them as a list; the wrappers themselves are never built (a
            ``ClassBalancedDataset`` reads every label when it is built). Default: False.

    Returns:
        Dataset | list: The dataset, or the list of the wrapped datasets with ``unwrap``.
    """
    from mmseg.registry import DATASETS

    if split not in DATASET_SPLITS:
        raise ValueError(f'split must be one of {DATASET_SPLITS}, got {split!r}')
    cfg = _as_config(cfg)
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        present = [s for s in DATASET_SPLITS if (cfg.get(f'{s}_dataloader') or {}).get('dataset')]
        raise ValueError(
            f'the config has no {split}_dataloader.dataset; it has datasets for: '
            f'{", ".join(present) or "none"}'
        )
    init_registries(cfg)
    if unwrap:
        return [DATASETS.build(leaf) for leaf in unwrap_dataset(loader['dataset'])]
    return DATASETS.build(loader['dataset'])
