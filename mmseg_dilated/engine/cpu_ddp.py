"""Data-parallel training in processes without GPUs (gloo), for configs written for GPUs."""

import logging

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmseg.registry import MODEL_WRAPPERS

__all__ = ['CPUDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`~mmengine.model.MMDistributedDataParallel` that first turns SyncBatchNorm into
    BatchNorm.

    torch's SyncBatchNorm works on CUDA only ("SyncBatchNorm layers only work with GPU modules"),
    and every GPU config of this package uses it. mmengine reverts it to BatchNorm for a
    single-process run; this does the same for CPU processes (each normalises over its own batch)
    and says so once. ``tools/train.py --launcher pytorch`` selects it on machines without CUDA.
    """

    def __init__(self, module: nn.Module, **kwargs):
        # torch's nn.SyncBatchNorm and mmcv's MMSyncBN share the class name
        if any(type(m).__name__ == 'SyncBatchNorm' for m in module.modules()):
            print_log(
                'SyncBatchNorm needs GPUs: its layers are reverted to BatchNorm for training '
                'on CPU processes (each process normalises over its own batch).',
                logger='current',
                level=logging.WARNING,
            )
            module = revert_sync_batchnorm(module)
        super().__init__(module=module, **kwargs)
