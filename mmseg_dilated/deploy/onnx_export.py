"""Export a segmentor to ONNX, with its preprocessing inside the graph and BatchNorm folded.

The exported graph takes what mmseg's ``LoadImageFromFile`` gives the model: a float32
``N x 3 x H x W`` batch of raw pixel values (0-255) in OpenCV's BGR order, and does the rest itself:
the data preprocessor's channel swap and mean/std normalisation, the backbone and decode head, and
the bilinear resize of the logits to the input size (mmseg's ``whole`` test mode). It returns the
logits (``N x C x H x W``) or, with ``argmax=True``, the label map (``N x H x W``, int64).

It uses torch's TorchScript exporter (``dynamo=False``, opset 17): measured on every model family
here, it exports these models and agrees with PyTorch, where the dynamo exporter additionally needs
``onnxscript`` and tracing of mmengine's modules that we have not verified. BN is folded into the
convolutions with ``mmcv.cnn.fuse_conv_bn`` before the export.
"""

import copy
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..datasets.builder import select_transforms

__all__ = [
    'SegmentorForExport',
    'build_for_export',
    'export_graph',
    'export_onnx',
    'ort_session',
    'run_onnx',
    'check_onnx',
    'image_to_export_input',
]

OPSET = 17


class SegmentorForExport(nn.Module):
    """An mmseg ``EncoderDecoder`` as one tensor-in, tensor-out module (see the module docstring).

    Args:
        segmentor (nn.Module): An ``EncoderDecoder`` in eval mode.
        argmax (bool): Return the label map instead of the logits. Default: False.
    """

    def __init__(self, segmentor: nn.Module, argmax: bool = False):
        super().__init__()
        preprocessor = segmentor.data_preprocessor
        self.segmentor = segmentor
        self.argmax = argmax
        # mmseg 1.2.2 names the BGR -> RGB flag ``channel_conversion``, OneDL's mmseg 1.4
        # ``_channel_conversion``: a graph without the swap would run silently on the wrong order
        for name in ('channel_conversion', '_channel_conversion'):
            if hasattr(preprocessor, name):
                self.swap_channels = bool(getattr(preprocessor, name))
                break
        else:
            raise ValueError(
                f'{type(preprocessor).__name__} has no channel_conversion flag: cannot tell '
                'whether the exported graph must swap BGR to RGB'
            )
        normalize = getattr(preprocessor, '_enable_normalize', False)
        self.register_buffer(
            'mean', preprocessor.mean.clone() if normalize else torch.zeros(3, 1, 1)
        )
        self.register_buffer('std', preprocessor.std.clone() if normalize else torch.ones(3, 1, 1))
        self.align_corners = segmentor.decode_head.align_corners

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image[:, [2, 1, 0]] if self.swap_channels else image
        x = (x - self.mean) / self.std
        logits = self.segmentor.decode_head(self.segmentor.extract_feat(x))
        logits = F.interpolate(
            logits, size=image.shape[2:], mode='bilinear', align_corners=self.align_corners
        )
        return logits.argmax(dim=1) if self.argmax else logits


def build_for_export(
    config, checkpoint: Optional[str] = None, fuse_bn: bool = True, argmax: bool = False
) -> Tuple[SegmentorForExport, nn.Module]:
    """The export module of a config (and checkpoint), on CPU, in eval mode.

    SyncBN becomes BN (as in a single-process run), then, with ``fuse_bn``, every BN is folded
    into its convolution (``mmcv.cnn.fuse_conv_bn``). The checkpoint must hold every weight of the
    model (it loads strictly); it need not carry mmengine's ``meta``.

    Returns:
        tuple: (export module, the segmentor as mmseg's ``init_model`` built it, unfused), the
        second for metadata (classes, palette) and as the reference to check against.
    """
    from mmcv.cnn import fuse_conv_bn
    from mmengine.runner import load_checkpoint

    from ..apis.model_builder import build_segmentor

    model = build_segmentor(config)
    if checkpoint is not None:
        # strict: a graph with some layers left at their initialisation is a silent error
        meta = load_checkpoint(model, checkpoint, map_location='cpu', strict=True).get('meta', {})
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    model.eval()
    export_model = copy.deepcopy(model)
    if fuse_bn:
        export_model = fuse_conv_bn(export_model)
    return SegmentorForExport(export_model, argmax=argmax).eval(), model


def export_graph(
    module: nn.Module,
    example: torch.Tensor,
    path: str,
    input_name: str,
    output_name: str,
    dynamic_axes: Optional[dict] = None,
) -> None:
    """The one ONNX export of this package: ``module`` traced on ``example`` by torch's TorchScript
    exporter (``dynamo=False``: torch >= 2.9's default dynamo exporter needs onnxscript and does
    not trace mmseg's models), opset :data:`OPSET`, one input and one output.

    Raises:
        torch.onnx.errors.SymbolicValueError: An op ONNX cannot express (see :func:`export_onnx`).
    """
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            module,
            (example,),
            path,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )


def export_onnx(
    module: SegmentorForExport, path: str, shape: Sequence[int], dynamic: bool = False
) -> None:
    """Write ``module`` to ``path`` as ONNX, traced on a ``1 x 3 x H x W`` input.

    Args:
        shape (Sequence[int]): (H, W) of the traced input; the input size of a static model.
        dynamic (bool): Batch size, height and width free in the graph. Default: False.
    """
    height, width = shape
    dummy = torch.rand(1, 3, height, width) * 255
    output = 'labels' if module.argmax else 'logits'
    axes = (
        {
            'image': {0: 'batch', 2: 'height', 3: 'width'},
            output: {
                0: 'batch',
                1 + (not module.argmax): 'height',
                2 + (not module.argmax): 'width',
            },
        }
        if dynamic
        else None
    )
    try:
        export_graph(module, dummy, path, 'image', output, axes)
    except torch.onnx.errors.SymbolicValueError as err:
        if 'adaptive_avg_pool2d' not in str(err):
            raise
        # ONNX has no adaptive pooling: the exporter writes a fixed AveragePool, which is
        # only right when every pooled size divides the feature size (PSPHead's pool_scales)
        raise ValueError(
            f"cannot export {height}x{width}: the model pools adaptively (e.g. PSPHead's "
            'pool_scales) and ONNX can only express that when every output size divides the '
            'feature map; export a static model of a size whose features divide by all the '
            'pool scales (DRN, output stride 8: a multiple of 8 x lcm(pool_scales), 48 px '
            'for (1, 2, 3, 6))'
        ) from err


def ort_session(path: str, threads: Optional[int] = None):
    """An onnxruntime ``InferenceSession`` of an exported model on the CPU.

    Args:
        threads (int, optional): Intra-op threads (onnxruntime's default: one per physical core).
            Default: None.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(path, image: np.ndarray) -> np.ndarray:
    """Run an exported model (a file, or an :func:`ort_session`) on a ``N x 3 x H x W`` float32
    array with onnxruntime (CPU)."""
    session = ort_session(path) if isinstance(path, str) else path
    return session.run(None, {session.get_inputs()[0].name: image.astype(np.float32)})[0]


def image_to_export_input(
    cfg, image_path: str, shape: Optional[Sequence[int]] = None
) -> np.ndarray:
    """An image file as the exported graph takes it: through the config's test pipeline (its
    loading and resize, as mmseg's ``inference_model`` does), as a ``1 x 3 x H x W`` float32 array
    of BGR pixel values; resized to ``shape`` (H, W) for a static graph."""
    import mmcv
    from mmcv.transforms import Compose

    steps = select_transforms(
        cfg.test_pipeline, lambda name: name not in ('LoadAnnotations', 'PackSegInputs')
    )
    image = Compose(steps)(dict(img_path=image_path))['img']  # BGR, resized as in testing
    if shape is not None and tuple(image.shape[:2]) != tuple(shape):
        image = mmcv.imresize(image, (shape[1], shape[0]))
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)


def check_onnx(
    path: str,
    reference: nn.Module,
    shape: Sequence[int],
    argmax: bool = False,
    batch: int = 1,
    seed: int = 0,
) -> dict:
    """Compare the ONNX model with the PyTorch segmentor it came from on a random image.

    Args:
        reference (nn.Module): The unfused segmentor (``build_for_export``'s second value).
        shape (Sequence[int]): (H, W) of the random input.

    Returns:
        dict: ``max_abs_diff`` and ``max_abs_logit`` of the logits (None for a label-map model),
        and ``argmax_agreement``, the fraction of pixels whose label is the same.
    """
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, *shape, generator=gen) * 255
    with torch.no_grad():
        logits = SegmentorForExport(reference).eval()(image)
    out = torch.from_numpy(run_onnx(path, image.numpy()))
    labels = out if argmax else out.argmax(dim=1)
    result = dict(
        argmax_agreement=(labels == logits.argmax(dim=1)).float().mean().item(),
        max_abs_diff=None,
        max_abs_logit=logits.abs().max().item(),
    )
    if not argmax:
        result['max_abs_diff'] = (out - logits).abs().max().item()
    return result
