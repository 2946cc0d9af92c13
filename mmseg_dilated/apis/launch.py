"""Checks that tools/train.py and tools/test.py run before building mmengine's Runner.

They turn the failures users hit most (a dataset that is not prepared, ``--amp`` without a GPU, NCCL
on a machine without GPUs) into one clear message up front instead of a stack trace from inside a
data loader or mmengine's AMP wrapper.
"""

import os
import os.path as osp
import re
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.config import Config

from ..datasets.builder import unwrap_dataset
from ..utils.config_scope import load_config
from ..utils.errors import UserError

__all__ = [
    'DatasetNotPreparedError',
    'iter_loader_datasets',
    'check_dataset_paths',
    'check_pretrained_paths',
    'check_amp_available',
    'cpu_distributed_options',
    'distributed_options',
    'process_group_timeout',
    'ProcessGroupTimeoutError',
    'PG_TIMEOUT_ENV',
    'load_config',
    'mmseg_tool',
    'run_mmseg_tool',
    'shutdown_distributed',
]

_PREPARE_HINTS = {
    'PascalVOCDataset': (
        'Prepare Pascal VOC 2012 with the SBD augmented labels: extract '
        'VOCtrainval_11-May-2012.tar so '
        "that data/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,ImageSets} exist, extract SBD's "
        "benchmark.tgz to data/VOCdevkit/VOCaug, then run mmseg's converter: python "
        '$(python -c "import mmseg,os;print(os.path.dirname(mmseg.__file__))")/.mim/tools/'
        'dataset_converters/voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug --nproc 8 '
        '(it writes SegmentationClassAug/ and ImageSets/Segmentation/aug.txt). See the docs, get '
        'started, "Preparing datasets".'
    ),
    'CityscapesDataset': (
        'Prepare Cityscapes: extract leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip '
        "into data/cityscapes, pip install cityscapesscripts, then run mmseg's converter: python "
        '$(python -c "import mmseg,os;print(os.path.dirname(mmseg.__file__))")/.mim/tools/'
        'dataset_converters/cityscapes.py data/cityscapes --nproc 8 (it writes the '
        '*_labelTrainIds.png maps). See the docs, get started, "Preparing datasets".'
    ),
}


# The DRN authors' published ImageNet checkpoints (fyu/drn, drn.py's model_urls); DRN-A starts
# from torchvision's ResNets.
_DRN_RELEASES = {
    ('c', '26'): 'drn_c_26-ddedf421.pth',
    ('c', '42'): 'drn_c_42-9d336e8c.pth',
    ('c', '58'): 'drn_c_58-0a53a92c.pth',
    ('d', '22'): 'drn_d_22-4bd2f8ea.pth',
    ('d', '38'): 'drn_d_38-eebb45f0.pth',
    ('d', '54'): 'drn_d_54-0e0534ff.pth',
    ('d', '105'): 'drn_d_105-12b40979.pth',
    ('a', '18'): 'resnet18-5c106cde.pth',
    ('a', '34'): 'resnet34-333f7ec4.pth',
    ('a', '50'): 'resnet50-19c8e357.pth',
}


class DatasetNotPreparedError(UserError, FileNotFoundError):
    """A dataset a config needs is not where the config says."""


def iter_loader_datasets(cfg: Config, loaders: Sequence[str]) -> Iterator[tuple]:
    """(loader name, leaf dataset config) for the named dataloaders the config has."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if loader_cfg:
            for ds in unwrap_dataset(loader_cfg.get('dataset')):
                yield loader, ds


def _missing_paths(ds) -> List[str]:
    if ds.get('type') == 'ContextShapesDataset' and ds.get('generate', True):
        return []  # generated on first use
    root = ds.get('data_root') or ''
    missing = []
    if root and not osp.isdir(root):
        return [osp.abspath(root)]
    for key, sub in (ds.get('data_prefix') or {}).items():
        if key.endswith('_path') and sub and not osp.isdir(osp.join(root, sub)):
            missing.append(osp.abspath(osp.join(root, sub)))
    ann = ds.get('ann_file') or ''
    if ann and not osp.isfile(osp.join(root, ann)):
        missing.append(osp.abspath(osp.join(root, ann)))
    return missing


def check_dataset_paths(cfg: Config, loaders=('train_dataloader', 'val_dataloader')) -> None:
    """Raise :class:`DatasetNotPreparedError` naming every expected path that is missing.

    Args:
        cfg (Config): The full config.
        loaders (Sequence[str]): Which dataloaders to check. Those absent from the config, or set to
            None, are skipped.
    """
    problems = []
    for loader, ds in iter_loader_datasets(cfg, loaders):
        missing = _missing_paths(ds)
        if missing:
            problems.append((loader, ds.get('type', '?'), missing))
    if not problems:
        return
    lines = ['The dataset this config needs is not prepared. Missing:']
    hints = []
    for loader, ds_type, missing in problems:
        lines += [f'  {p}   ({loader}, {ds_type})' for p in missing]
        hint = _PREPARE_HINTS.get(ds_type)
        if hint and hint not in hints:
            hints.append(hint)
    lines += hints or [
        'Set data_root (and data_prefix / ann_file) in the config, or with '
        '--cfg-options, to where the data is.'
    ]
    lines.append(
        'To try the package without any download, use the bundled data: '
        'mmseg-dilated train mmseg_dilated::context_toy.py'
    )
    raise DatasetNotPreparedError('\n'.join(lines))


def _pretrained_paths(node, where):
    """(location, checkpoint) of every ``init_cfg=dict(type='Pretrained')`` inside a model dict."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and node.get('checkpoint'):
            yield where, node['checkpoint']
        for key, value in node.items():
            yield from _pretrained_paths(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_paths(value, f'{where}[{i}]')


def check_pretrained_paths(cfg: Config) -> None:
    """Raise FileNotFoundError, with the converter to run, for local weights that a config names
    but that are missing.

    Covers ``init_cfg=dict(type='Pretrained', checkpoint=...)`` anywhere in the model and
    ``load_from``; URLs and ``open-mmlab://``-style names are left to mmengine.
    """
    wanted = list(_pretrained_paths(cfg.get('model', {}), 'model'))
    if cfg.get('load_from'):
        wanted.append(('load_from', cfg.load_from))
    missing = [
        (where, path) for where, path in wanted if '://' not in str(path) and not osp.isfile(path)
    ]
    if not missing:
        return
    lines = ['Weights named in the config are missing:']
    for where, path in missing:
        name = osp.basename(str(path)).lower()
        variant = re.search(r'drn[_-]?([acd])[_-]?(\d+)', name)
        if variant:
            source = _DRN_RELEASES.get(
                variant.group(1, 2),
                "the DRN authors' ImageNet checkpoint of "
                f'DRN-{variant.group(1).upper()}-{variant.group(2)}',
            )
            hint = f'convert {source}: mmseg-dilated drn2mmseg {source} {path}'
        elif 'drn' in name:
            hint = (
                "convert the DRN authors' ImageNet checkpoint of the variant, e.g. "
                f'mmseg-dilated drn2mmseg drn_d_22-4bd2f8ea.pth {path}'
            )
        elif 'vgg' in name:
            hint = (
                "convert torchvision's VGG-16, e.g. mmseg-dilated vgg2mmseg "
                f'vgg16-397923af.pth {path}'
            )
        else:
            hint = 'check the path'
        lines.append(f'  {osp.abspath(str(path))}   ({where}): {hint}')
    lines.append(
        '`mmseg-dilated drn2mmseg -h` and `vgg2mmseg -h` say which files they take. To '
        'train from scratch instead: '
        '--cfg-options ' + ' '.join(f'{where}=None' for where, _ in missing)
    )
    raise FileNotFoundError('\n'.join(lines))


def mmseg_tool(name: str) -> str:
    """Path of one of mmseg's own tools (``train.py``, ``test.py``) shipped in the mmseg wheel."""
    import mmseg

    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"mmseg's {name} is not at {path}. Install mmsegmentation 1.2.2 from its wheel "
            '(pip install mmsegmentation==1.2.2), which ships its tools under mmseg/.mim/tools.'
        )
    return path


def run_mmseg_tool(name: str, argv: Sequence[str]) -> None:
    """Run one of mmseg's own tools (``train.py``, ``test.py``) in this process with ``argv``,
    then tear down the process group if the tool started one."""
    import runpy
    import sys

    tool = mmseg_tool(name)
    sys.argv = [tool, *argv]
    runpy.run_path(tool, run_name='__main__')
    shutdown_distributed()


def check_amp_available() -> None:
    """mmengine's AmpOptimWrapper is CUDA-only (also NPU/MLU/MUSA builds): say so before it
    fails."""
    from mmengine.device import (
        is_cuda_available,
        is_mlu_available,
        is_musa_available,
        is_npu_available,
    )

    if not (is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()):
        raise SystemExit(
            "error: --amp needs a GPU: mmengine's AmpOptimWrapper runs mixed precision on CUDA "
            '(or NPU/MLU/MUSA) devices only, and this machine has none '
            f'(torch {torch.__version__}, torch.cuda.is_available() is False). Train without --amp '
            'on CPU.'
        )


PG_TIMEOUT_ENV = 'MMSEG_DILATED_PG_TIMEOUT'


class ProcessGroupTimeoutError(UserError, ValueError):
    """The process-group timeout is not a number of seconds."""


def process_group_timeout(cfg: Config) -> Optional[float]:
    """Seconds a process waits for the others in a collective (all-reduce, barrier, the start of
    the process group) before it fails: ``$MMSEG_DILATED_PG_TIMEOUT``, else the config's
    ``env_cfg.dist_cfg.timeout`` (mmengine's key), else None, torch's default (30 min for gloo, 10
    min for NCCL). A process whose peer hangs, or whose peer's machine is gone, fails after it
    instead of waiting that long; torchrun then restarts the group if ``--max-restarts`` allows.
    """
    raw, source = os.environ.get(PG_TIMEOUT_ENV), f'${PG_TIMEOUT_ENV}'
    if not raw:
        raw = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        source = 'env_cfg.dist_cfg.timeout'
        if raw is None:
            return None
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = float('nan')
    if not seconds > 0:
        raise ProcessGroupTimeoutError(
            f'{source} is the seconds a process waits for the others in a collective before it '
            f'fails; it must be a number > 0, got {raw!r}. For example {PG_TIMEOUT_ENV}=1800 '
            "(torch's default: 30 minutes for gloo, 10 for NCCL)."
        )
    return seconds


def distributed_options(launcher: str, cfg: Config) -> List[str]:
    """``--cfg-options`` for a distributed run: the process-group timeout
    (:func:`process_group_timeout`) and, on machines without CUDA, gloo with a CPU DDP wrapper
    (:func:`cpu_distributed_options`). Nothing for ``--launcher none``."""
    if launcher == 'none':
        return []
    timeout = process_group_timeout(cfg)
    options = cpu_distributed_options(launcher, timeout)
    if timeout is not None:
        options.append(f'env_cfg.dist_cfg.timeout={timeout:g}')  # mmengine's init_dist reads it
    return options


def cpu_distributed_options(launcher: str, timeout: Optional[float] = None) -> List[str]:
    """Make mmengine's ``pytorch`` launcher work on machines without CUDA.

    mmengine 0.10.7 starts ``torch.distributed`` with NCCL and calls ``torch.cuda.set_device``, and
    wraps the model in DDP with ``device_ids=[LOCAL_RANK]``; all three need GPUs. Without CUDA this
    starts the process group on gloo itself (mmengine then leaves it alone) and returns the config
    options that make the DDP wrapper a CPU one
    (:class:`~mmseg_dilated.engine.CPUDistributedDataParallel`, which also reverts SyncBN to BN).
    With CUDA, or without a launcher, it does nothing.

    Args:
        launcher (str): The ``--launcher`` of the command.
        timeout (float, optional): Seconds a collective waits, for the gloo process group; None is
            torch's default. Default: None.

    Returns:
        list[str]: ``key=value`` options for ``--cfg-options``.
    """
    if launcher != 'pytorch' or torch.cuda.is_available():
        return []
    import datetime

    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(
            backend='gloo',
            timeout=None if timeout is None else datetime.timedelta(seconds=timeout),
        )
    return [
        'env_cfg.dist_cfg.backend=gloo',
        # scoped: mmengine looks wrappers up in its root registry, ours is in mmseg's
        'model_wrapper_cfg.type=mmseg.CPUDistributedDataParallel',
        'model_wrapper_cfg.device_ids=None',
        'model_wrapper_cfg.broadcast_buffers=False',
    ]


def shutdown_distributed() -> None:
    """Tear down the process group once a tool has finished, if one is up.

    Left to interpreter exit, gloo's worker threads can outlive the process group and the C++
    runtime aborts the process ("terminate called without an active exception", SIGABRT) after the
    run has finished; the launcher then reports the whole job as failed. Both ranks wait for each
    other first, so neither tears down while the other still communicates.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
