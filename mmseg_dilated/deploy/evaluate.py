"""Evaluate an exported ONNX model (fp32 or int8) on a config's test set with mmseg's evaluator.

The same pieces mmseg's test loop uses, so the figures compare with ``mmseg-dilated test``'s: the
config's ``test_dataloader`` (built by mmengine's ``Runner.build_dataloader``: test pipeline, its
resize), its ``test_evaluator`` (mmseg's ``IoUMetric``) and the segmentor's own
``postprocess_result`` (logits resized to the original image, then the argmax). Only the network
runs in onnxruntime instead of PyTorch; the graph normalises the raw BGR image itself.
"""

from typing import Optional

import numpy as np
import torch

__all__ = ['evaluate_onnx']


def evaluate_onnx(cfg, onnx_model: str, threads: Optional[int] = None) -> dict:
    """Metrics of an ONNX model on ``cfg``'s test set, as mmseg's test loop computes them.

    Args:
        cfg (Config): The config the model was exported from (run from where its data lies).
        onnx_model (str): An exported model (logits output, dynamic or of the test images' size).
        threads (int, optional): onnxruntime's intra-op threads. Default: None.

    Returns:
        dict: The evaluator's metrics, e.g. ``{'mIoU': ..., 'aAcc': ..., 'mAcc': ...}``.
    """
    import copy

    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    from mmseg.apis import init_model

    from ..datasets.builder import init_registries
    from .onnx_export import ort_session, run_onnx

    init_registries(cfg)
    segmentor = init_model(copy.deepcopy(cfg), None, device='cpu')  # its postprocess_result only
    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
    evaluator.dataset_meta = loader.dataset.metainfo
    session = ort_session(onnx_model, threads)
    shape = session.get_inputs()[0].shape[2:]
    for data_batch in loader:
        samples = []
        for image, sample in zip(data_batch['inputs'], data_batch['data_samples']):
            if all(isinstance(n, int) for n in shape) and list(image.shape[1:]) != list(shape):
                raise ValueError(
                    f'{onnx_model} takes {shape[0]}x{shape[1]} images only, the test '
                    f'pipeline gives {image.shape[1]}x{image.shape[2]}: export it '
                    'with --dynamic'
                )
            out = run_onnx(session, image[None].numpy().astype(np.float32))
            if out.ndim != 4:
                raise ValueError(
                    f'{onnx_model} outputs labels (exported with --argmax); evaluation '
                    'needs the logits'
                )
            samples += segmentor.postprocess_result(torch.from_numpy(out), [sample])
        evaluator.process(data_samples=samples, data_batch=data_batch)
    return evaluator.evaluate(len(loader.dataset))
