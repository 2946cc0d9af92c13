"""int8 for CPU deployment: static quantization of an exported ONNX model with onnxruntime.

onnxruntime's ``quantize_static`` in the QDQ format (QuantizeLinear/DequantizeLinear pairs around
each quantized op, which onnxruntime fuses into int8 kernels when it loads the model), with
per-channel int8 weights and int8 activations whose ranges come from running calibration images
through the fp32 model (min/max of every activation). See onnxruntime's guide,
https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html.

Speed needs the CPU's int8 dot-product instructions: ``avx512_vnni`` or ``avx_vnni`` (or
``amx_int8``) on x86, ``asimddp`` on ARM. Without them onnxruntime's int8 kernels fall back to AVX2
instructions that multiply in 16 bits, and int8 may be no faster than fp32. The model's results
do not depend on the instructions (S8S8 kernels do not saturate as U8S8 ones can on AVX2).
"""

import itertools
import os
import os.path as osp
import tempfile
from typing import Iterable, List, Optional, Sequence

import numpy as np

__all__ = ['quantize_onnx_int8', 'calibration_images', 'CPU_INT8_FLAGS']

CPU_INT8_FLAGS = ('avx512_vnni', 'avx_vnni', 'amx_int8', 'asimddp')


class _ArrayReader:
    """onnxruntime's ``CalibrationDataReader`` protocol over an iterable of input arrays."""

    def __init__(self, input_name: str, arrays: Iterable[np.ndarray]):
        self.input_name = input_name
        self._arrays = iter(arrays)

    def get_next(self):
        array = next(self._arrays, None)
        if array is None:
            return None
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 4 or array.shape[1] != 3:
            raise ValueError(f'calibration arrays must be N x 3 x H x W, got shape {array.shape}')
        return {self.input_name: array}

    def rewind(self):  # onnxruntime calls it with some calibration methods; one pass is enough
        pass


def quantize_onnx_int8(
    fp32_onnx: str,
    int8_onnx: str,
    calibration: Iterable[np.ndarray],
    per_channel: bool = True,
    preprocess: bool = True,
) -> str:
    """Quantize an exported fp32 ONNX model to int8 (onnxruntime static quantization, QDQ).

    Args:
        fp32_onnx (str): The model written by :func:`~mmseg_dilated.deploy.export_onnx`.
        int8_onnx (str): Where to write the int8 model.
        calibration (Iterable[np.ndarray]): float32 ``N x 3 x H x W`` arrays as the exported
            model takes them (BGR pixel values, 0-255: the graph normalises itself), e.g. from
            :func:`calibration_images`. A static model takes its export size only.
        per_channel (bool): One scale per output channel of each weight. Default: True.
        preprocess (bool): Run onnxruntime's ``quant_pre_process`` first (shape inference and
            graph optimisation, as its guide recommends). Default: True.

    Returns:
        str: ``int8_onnx``.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    arrays = iter(calibration)
    first = next(arrays, None)
    if first is None:
        raise ValueError('calibration gave no images; int8 quantization needs at least one')
    source = fp32_onnx
    with tempfile.TemporaryDirectory() as tmp:
        if preprocess:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            source = osp.join(tmp, 'preprocessed.onnx')
            quant_pre_process(fp32_onnx, source, skip_symbolic_shape=True)
        input_name = onnx.load(source, load_external_data=False).graph.input[0].name
        reader = _ArrayReader(input_name, itertools.chain([first], arrays))
        if osp.dirname(int8_onnx):
            os.makedirs(osp.dirname(int8_onnx), exist_ok=True)
        quantize_static(
            source,
            int8_onnx,
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
    return int8_onnx


def calibration_images(
    cfg, num_images: int = 8, shape: Optional[Sequence[int]] = None
) -> List[np.ndarray]:
    """``num_images`` training images, evenly spaced through the config's training set, each run
    through the config's test pipeline and given as the exported model takes it
    (:func:`~mmseg_dilated.deploy.onnx_export.image_to_export_input`).

    Args:
        cfg (Config): The model's config (its ``train_dataloader`` names the images).
        num_images (int): How many. Default: 8.
        shape (Sequence[int], optional): (H, W) of a static model's input. Default: None.
    """
    import copy

    from ..datasets.builder import build_dataset_from_config, unwrap_dataset
    from .onnx_export import image_to_export_input

    if num_images < 1:
        raise ValueError(f'num_images must be at least 1, got {num_images}')
    cfg = copy.deepcopy(cfg)
    leaves = unwrap_dataset(cfg.train_dataloader.dataset)
    for leaf in leaves:
        leaf['pipeline'] = []  # the file names only: the test pipeline reads each image
    dataset = build_dataset_from_config(cfg, 'train', unwrap=True)[0]
    total = len(dataset)
    if total == 0:
        raise ValueError(f'the training set of the config ({leaves[0].get("data_root")}) is empty')
    indices = np.linspace(0, total - 1, min(num_images, total)).round().astype(int)
    return [
        image_to_export_input(cfg, dataset.get_data_info(int(i))['img_path'], shape)
        for i in indices
    ]
