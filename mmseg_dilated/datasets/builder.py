"""Datasets of a config, built as mmengine's Runner builds them, and the wrappers unwrapped.

One place for what every tool that reads a config's data needs: the split table
(:data:`DATASET_SPLITS`), the registries made current as the Runner makes them
(:func:`init_registries`), the concrete datasets inside wrappers (:func:`unwrap_dataset`), a
dataset built from a config's split (:func:`build_dataset_from_config`) and its classes and palette
(:func:`config_dataset_meta`).
"""

from ..utils.config_scope import as_config

__all__ = [
    'DATASET_SPLITS',
    'init_registries',
    'unwrap_dataset',
    'build_dataset_from_config',
    'config_dataset_meta',
    'transform_name',
    'select_transforms',
]

DATASET_SPLITS = ('train', 'val', 'test')


def init_registries(cfg) -> None:
    """Register mmseg's and this package's components, import the config's ``custom_imports`` and
    make the config's ``default_scope`` (mmseg's by default) current, as mmengine's Runner does
    before building anything."""
    from mmengine.registry import init_default_scope
    from mmseg.utils import register_all_modules

    # Our components are registered already: importing this module imported the package.
    register_all_modules(init_default_scope=False)
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg['custom_imports'])
    init_default_scope(cfg.get('default_scope', 'mmseg') or 'mmseg')


def transform_name(step) -> str:
    """The class name of a pipeline step: its ``type``, a name (``'LoadAnnotations'``, also
    scoped as ``'mmseg.LoadAnnotations'``) or a class."""
    kind = step.get('type') if isinstance(step, dict) else None
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.split('.')[-1]


def select_transforms(pipeline, keep) -> list:
    """Copies of the steps of a pipeline config whose class name :func:`transform_name` passes
    ``keep(name)``, in order (e.g. the loading steps of a training pipeline without its
    augmentations)."""
    return [dict(step) for step in pipeline or () if keep(transform_name(step))]


def config_dataset_meta(cfg) -> dict:
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
    cfg = as_config(cfg)
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
