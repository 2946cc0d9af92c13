"""The class count of a config's heads against its dataset's and its checkpoint's.

mmseg checks neither: a head with more outputs than the dataset has classes trains and evaluates
silently; one with fewer fails deep inside the loss with a bare ``IndexError``; and a checkpoint
trained for another class count loads with size-mismatch warnings, after which ``tools/test.py``
reports a meaningless score with exit status 0. ``tools/train.py`` and ``tools/test.py`` call these
before building the Runner.
"""

from typing import Iterator, List, Sequence, Tuple

from mmengine.config import Config

from ..utils.errors import UserError
from .launch import iter_loader_datasets

__all__ = [
    'NumClassesError',
    'dataset_classes',
    'head_outputs',
    'check_num_classes',
    'check_checkpoint_classes',
]


class NumClassesError(UserError, ValueError):
    """Heads, dataset and checkpoint disagree on the number of classes."""


def dataset_classes(dataset_cfg) -> Tuple[str, ...]:
    """The class names a dataset config will have: ``metainfo.classes`` when the config sets it,
    else its class's ``METAINFO``. Empty when neither says."""
    metainfo = dataset_cfg.get('metainfo') or {}
    if metainfo.get('classes'):
        return tuple(metainfo['classes'])
    from mmseg.registry import DATASETS

    cls = DATASETS.get(dataset_cfg.get('type', ''))
    return tuple(getattr(cls, 'METAINFO', {}).get('classes', ())) if cls else ()


def head_outputs(cfg: Config) -> Iterator[Tuple[str, str, dict]]:
    """(config key, checkpoint prefix, head dict) for every decode and auxiliary head."""
    model = cfg.get('model') or {}
    for key in ('decode_head', 'auxiliary_head'):
        heads = model.get(key)
        if not heads:
            continue
        if isinstance(heads, (list, tuple)):
            for i, head in enumerate(heads):
                yield f'model.{key}[{i}]', f'{key}.{i}.', head
        else:
            yield f'model.{key}', f'{key}.', heads


def _expected_outputs(head: dict) -> int:
    """Output channels of a head's classifier (mmseg: out_channels, else num_classes)."""
    return head.get('out_channels') or head.get('num_classes')


def check_num_classes(cfg: Config, loaders: Sequence[str] = ('train_dataloader',)) -> None:
    """Raise :class:`NumClassesError` when a head's ``num_classes`` is not the class count of the
    datasets of ``loaders``. A binary head (``out_channels=1``, ``num_classes=2``) on a two-class
    dataset is fine."""
    counts = {}
    for loader, ds in iter_loader_datasets(cfg, loaders):
        classes = dataset_classes(ds)
        if classes:
            counts.setdefault(len(classes), (loader, ds.get('type'), classes))
    if not counts:
        return
    problems: List[str] = []
    if len(counts) > 1:
        problems.append(
            'the datasets disagree: '
            + '; '.join(
                f'{loader} ({ds_type}) has {n} classes'
                for n, (loader, ds_type, _) in counts.items()
            )
        )
    n, (loader, ds_type, classes) = next(iter(counts.items()))
    for key, _, head in head_outputs(cfg):
        num = head.get('num_classes')
        if num is None or num == n or (head.get('out_channels') == 1 and num == 2 and n == 2):
            continue
        problems.append(
            f'{key}.num_classes is {num}, but {loader} ({ds_type}) has {n} classes '
            f'({", ".join(map(str, classes))}): set {key}.num_classes={n}'
        )
    if problems:
        raise NumClassesError(
            'The model and the data disagree on the number of classes:\n  '
            + '\n  '.join(problems)
            + '\nFix it in the config or with --cfg-options (e.g. '
            f"model.decode_head.num_classes={n}); if the head is right, set the dataset's "
            'metainfo=dict(classes=...).'
        )


def check_checkpoint_classes(cfg: Config, checkpoint: dict, path: str) -> None:
    """Raise :class:`NumClassesError` when a checkpoint's head classifiers (``conv_seg``) have
    another number of outputs than the config's heads."""
    state = checkpoint.get('state_dict', checkpoint)
    problems = []
    for key, prefix, head in head_outputs(cfg):
        weight = state.get(f'{prefix}conv_seg.weight')
        expected = _expected_outputs(head)
        if weight is None or expected is None or weight.shape[0] == expected:
            continue
        problems.append(
            f'{prefix}conv_seg has {weight.shape[0]} outputs in the checkpoint, '
            f'{key} has {expected} in the config'
        )
    if problems:
        raise NumClassesError(
            f'Checkpoint {path} was trained for another number of classes than the config:\n  '
            + '\n  '.join(problems)
            + '\nTest it with the config it was trained with (its copy is '
            'in the training work dir), or set num_classes to match.'
        )
