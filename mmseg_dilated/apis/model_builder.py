"""One way to build a segmentor from a config for analysis and export.

The tools that look at a model outside training (receptive fields, the benchmark, ONNX export)
build it here, so that they agree on what "the model of this config" is: mmseg's own
:func:`mmseg.apis.init_model` (pretrained ``init_cfg`` and ``train_cfg`` dropped, the checkpoint
loaded, ``dataset_meta`` set), then SyncBN turned into BN with mmengine's
:func:`~mmengine.model.revert_sync_batchnorm` so that it runs without a process group.
"""

import inspect
import logging
from typing import Optional

import torch.nn as nn

from ..datasets.builder import config_dataset_meta, init_registries
from ..utils.config_scope import as_config

__all__ = ['WITH_CP_PARTS', 'build_segmentor']

# The model parts build_segmentor's ``with_cp`` reaches (those whose class takes the argument).
WITH_CP_PARTS = ('backbone', 'decode_head')


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

    cfg = as_config(config, cfg_options)
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
        model.dataset_meta = config_dataset_meta(cfg)
    model = revert_sync_batchnorm(model)
    return model.to(device).eval()
