"""Peak training memory of a config, scaled from one measured training step.

The benchmark (``mmseg-dilated benchmark``, its memory table) measures one
SGD step at one batch and crop size: the peak resident memory of the step, of which the parameters,
their gradients and the optimizer's buffers are a part that does not depend on the input. Every
other byte of the peak (the batch, the activations kept for the backward pass, the gradients of
activations, the convolutions' workspace) grows with the number of input pixels of the batch, as
long as the model is fully convolutional and nothing is cropped or pooled to a fixed size. So for
another crop and batch::

    fixed     = parameter_bytes * (1 weight + 1 gradient + optimizer buffers per parameter)
    estimate  = fixed + (measured_peak - fixed) * (batch * H * W) / (measured_batch * h * w)

This scaling is exact for the activations of a convolutional network, and close for a head that
pools to a fixed grid (PSPHead's 1, 2, 3, 6 bins, ASPP's image pooling): those few tensors do not
grow with the crop, so the estimate is slightly high for them.

The measurement is the CPU's resident memory, not a GPU's. A GPU run differs in what this cannot
see: the CUDA context (a few hundred MiB per process, outside PyTorch's allocator), cuDNN's
workspace (chosen per convolution, larger with ``cudnn_benchmark``), and the caching allocator,
which keeps freed blocks reserved and fragments, so that ``nvidia-smi`` shows more than the peak of
live tensors. The DRN authors' own figure for DRN-D-105 at 840x840, 2 crops per GPU ("more than
12GB", fyu/drn README.md) is above what this scaling gives for that setting without checkpointing
(10.3 GiB), which is the size of that gap. Treat the estimate as a lower bound on the GPU's peak.
"""

from typing import Sequence, Tuple

MIB = 2**20


def _pixels(batch_size: int, crop_size: Sequence[int]) -> int:
    if batch_size < 1:
        raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
    if len(crop_size) != 2 or any(s < 1 for s in crop_size):
        raise ValueError(f'crop_size must be (height, width) of positive ints, got {crop_size!r}')
    return batch_size * crop_size[0] * crop_size[1]


def fixed_memory_mib(
    num_params: int, bytes_per_param: int = 4, optimizer_buffers: int = 1
) -> float:
    """Memory that does not depend on the input: weights, gradients and optimizer buffers.

    Args:
        num_params (int): Trainable parameters of the model.
        bytes_per_param (int): 4 for fp32 training. Default: 4.
        optimizer_buffers (int): Tensors the optimizer keeps per parameter: 1 for SGD with
            momentum (the benchmark's optimizer and mmseg's), 2 for Adam(W). Default: 1.

    Returns:
        float: MiB.
    """
    if num_params < 0 or bytes_per_param < 1 or optimizer_buffers < 0:
        raise ValueError(
            'num_params must be >= 0, bytes_per_param >= 1 and optimizer_buffers '
            f'>= 0, got {num_params}, {bytes_per_param}, {optimizer_buffers}'
        )
    return num_params * bytes_per_param * (2 + optimizer_buffers) / MIB


def estimate_train_memory(
    measured_peak_mib: float,
    num_params: int,
    batch_size: int,
    crop_size: Sequence[int],
    measured_batch_size: int = 2,
    measured_crop_size: Tuple[int, int] = (512, 512),
    bytes_per_param: int = 4,
    optimizer_buffers: int = 1,
) -> float:
    """Peak training memory per GPU at ``batch_size`` crops of ``crop_size``, from a measured step.

    Args:
        measured_peak_mib (float): Peak memory of one training step as the benchmark measured it
            (its "Peak train" or "with_cp" column), in MiB.
        num_params (int): Trainable parameters of the model.
        batch_size (int): Images per GPU of the config.
        crop_size (Sequence[int]): (height, width) of the config's training crop.
        measured_batch_size (int): Batch of the measurement. Default: 2, the benchmark's.
        measured_crop_size (tuple[int]): (height, width) of the measurement. Default: (512, 512).
        bytes_per_param (int): See :func:`fixed_memory_mib`. Default: 4.
        optimizer_buffers (int): See :func:`fixed_memory_mib`. Default: 1.

    Returns:
        float: The estimate in MiB (see the module docstring for what it leaves out on a GPU).

    Example:
        >>> # DRN-D-105 + basic context: 4275 MiB measured at 2 x 512x512, 54.33 M parameters
        >>> round(estimate_train_memory(4275, 54_330_000, 2, (840, 840)))
        10455
    """
    fixed = fixed_memory_mib(num_params, bytes_per_param, optimizer_buffers)
    if measured_peak_mib < fixed:
        raise ValueError(
            f'measured_peak_mib ({measured_peak_mib} MiB) is below the memory of the '
            f'weights, gradients and optimizer buffers alone ({fixed:.0f} MiB): check '
            'num_params and the measurement'
        )
    scale = _pixels(batch_size, crop_size) / _pixels(measured_batch_size, measured_crop_size)
    return fixed + (measured_peak_mib - fixed) * scale
