"""Theoretical receptive fields of segmentation models, traced through one forward pass.

Theoretical receptive field (RF): every 2-D conv / pool / resize that runs in one forward pass
updates, per spatial axis, the RF ``r``, the cumulative stride ("jump") ``j`` and the input
coordinate ``s`` of the centre of output unit 0 (Araujo et al., "Computing receptive fields of
convolutional neural networks", Distill 2019):

    r_out = r_in + (k - 1) * d * j_in,    j_out = j_in * stride,
    s_out = s_in + ((k - 1) * d / 2 - pad) * j_in.

The recurrence follows the data, not the module list: a
:class:`~torch.overrides.TorchFunctionMode` tags every tensor with its ``(r, j, s)``, and an op that
merges tensors (the residual ``+``, a ``cat``) keeps the largest RF of its inputs. For residual
networks the reported RF is therefore the RF of the longest path, the standard theoretical RF, and a
strided shortcut projection does not count its stride twice, as walking the convs in execution
order would (that would give DRN an output stride of 32, not 8). Padding does not change the RF; it
only moves ``s``. Ops the recurrence does not cover (transposed convs, ``grid_sample``, ...) raise a
warning. Rows are listed in execution order; a shortcut row shows the RF of its own, shorter path.

The effective receptive field is :mod:`mmseg_dilated.analysis.effective_receptive_field`, the text
table :mod:`mmseg_dilated.analysis.rf_report`, the figures
:mod:`mmseg_dilated.analysis.receptive_field_plot`.
"""

import math
import warnings
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

__all__ = [
    'LayerRF',
    'RFTrace',
    'trace_receptive_fields',
    'model_receptive_fields',
    'model_forward',
    'input_channels',
]

Pair = Tuple[float, float]


def _pair(value) -> Tuple[int, int]:
    if isinstance(value, (list, tuple)):
        return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])
    return (value, value)


@dataclass(frozen=True)
class _State:
    """RF, jump and centre of unit 0 of a tensor, per axis (h, w), in traced-input pixels."""

    rf: Pair = (1, 1)
    jump: Pair = (1, 1)
    start: Pair = (0, 0)

    def apply(self, kernel, stride, dilation, pad_before) -> '_State':
        return _State(
            tuple(r + (k - 1) * d * j for r, k, d, j in zip(self.rf, kernel, dilation, self.jump)),
            tuple(j * s for j, s in zip(self.jump, stride)),
            tuple(
                s0 + ((k - 1) * d / 2 - p) * j
                for s0, k, d, p, j in zip(self.start, kernel, dilation, pad_before, self.jump)
            ),
        )


@dataclass(frozen=True)
class LayerRF:
    """One spatial layer of a traced forward pass.

    Attributes:
        index (int): Execution order, from 1.
        name (str): Name of the innermost module that ran the op (``backbone.layer3.0.conv1``).
        type (str): That module's class for a leaf module, else the functional op (``F.conv2d``).
        kernel, stride, dilation (tuple[int, int]): The op's settings, per axis (h, w). A resize is
            listed with kernel 2 (bilinear) or 1 (nearest) and its (fractional) stride.
        rf (tuple[float, float]): Receptive field of the op's output, in traced-input pixels.
        jump (tuple[float, float]): Cumulative stride of the output (input pixels per output unit).
        start (tuple[float, float]): Input coordinate of the centre of output unit 0.
        out_size (tuple[int, int]): Spatial size of the output.
    """

    index: int
    name: str
    type: str
    kernel: Tuple[int, int]
    stride: Pair
    dilation: Tuple[int, int]
    rf: Pair
    jump: Pair
    start: Pair
    out_size: Tuple[int, int]


@dataclass
class RFTrace:
    """Result of :func:`trace_receptive_fields`.

    Attributes:
        layers (list[LayerRF]): The spatial ops in execution order.
        output (LayerRF | None): RF, jump and centre of the (first) output tensor, listed as a
            pseudo-layer named ``'output'``; None when the output does not depend on the input.
    """

    layers: List[LayerRF]
    output: Optional[LayerRF]


def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _tensors(obj) -> List[torch.Tensor]:
    """The tensors in a nest of lists, tuples and dicts, in order (``torch.utils._pytree``)."""
    return [leaf for leaf in tree_leaves(obj) if isinstance(leaf, torch.Tensor)]


_CONV = {'conv2d'}
_MAX_POOL = {'max_pool2d', '_max_pool2d', 'max_pool2d_with_indices'}
_AVG_POOL = {'avg_pool2d'}
_ADAPTIVE = {'adaptive_avg_pool2d', 'adaptive_max_pool2d', 'adaptive_max_pool2d_with_indices'}
_RESIZE = {'interpolate', 'upsample', 'upsample_bilinear', 'upsample_nearest'}
_NOT_MODELLED = {'conv_transpose2d', 'grid_sample', 'unfold', 'fold', 'pixel_shuffle', 'roll'}


class _Tracer(TorchFunctionMode):
    """Tags tensors with their :class:`_State` during a forward pass (see the module docstring)."""

    def __init__(self, root: nn.Module, prefix: str = ''):
        super().__init__()
        self.states = {}  # id(tensor) -> (tensor, state); the tensor is held so ids are not reused
        self.layers: List[LayerRF] = []
        self.warned = set()
        self._names = []
        self._handles = []
        for name, module in root.named_modules(prefix=prefix):
            leaf = next(module.children(), None) is None
            self._handles.append(
                module.register_forward_pre_hook(
                    lambda m, a, name=name, leaf=leaf: self._enter(name, m, leaf)
                )
            )
            self._handles.append(module.register_forward_hook(lambda m, a, o: self._exit()))

    # Hooks must return None: a value would replace the module's input or output.
    def _enter(self, name, module, leaf):
        self._names.append((name, module, leaf))

    def _exit(self):
        if self._names:
            self._names.pop()

    def watch(self, tensor: torch.Tensor) -> torch.Tensor:
        self.states[id(tensor)] = (tensor, _State())
        return tensor

    def state(self, tensor) -> Optional[_State]:
        entry = self.states.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else None

    def remove_hooks(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [(t, self.state(t)) for t in _tensors((args, kwargs))]
        inputs = [(t, s) for t, s in inputs if s is not None]
        if not inputs:
            return out
        outs = list(_tensors(out))
        if not outs:
            return out
        name = getattr(func, '__name__', str(func))
        x, state = inputs[0]
        first = outs[0]
        row = None  # (kernel, stride, dilation) of a layer to list
        if name in _CONV and x is _arg(args, kwargs, 0, 'input'):
            weight = _arg(args, kwargs, 1, 'weight')
            kernel = tuple(weight.shape[-2:])
            stride = _pair(_arg(args, kwargs, 3, 'stride', 1))
            dilation = _pair(_arg(args, kwargs, 5, 'dilation', 1))
            padding = _arg(args, kwargs, 4, 'padding', 0)
            if padding == 'same':  # torch puts the odd pixel of 'same' padding after
                pad = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
            else:
                pad = (0, 0) if padding == 'valid' else _pair(padding)
            new, row = state.apply(kernel, stride, dilation, pad), (kernel, stride, dilation)
        elif name in _MAX_POOL or name in _AVG_POOL:
            kernel = _pair(_arg(args, kwargs, 1, 'kernel_size'))
            stride = _arg(args, kwargs, 2, 'stride')
            stride = kernel if stride is None or stride == [] or stride == () else _pair(stride)
            pad = _pair(_arg(args, kwargs, 3, 'padding', 0))
            dilation = _pair(_arg(args, kwargs, 4, 'dilation', 1)) if name in _MAX_POOL else (1, 1)
            new, row = state.apply(kernel, stride, dilation, pad), (kernel, stride, dilation)
        elif name in _ADAPTIVE:
            # Bin i of n over a side of m covers at most ceil(m / n) cells, bins m / n apart.
            size_in, size_out = x.shape[-2:], first.shape[-2:]
            kernel = tuple(math.ceil(a / b) for a, b in zip(size_in, size_out))
            stride = tuple(a / b for a, b in zip(size_in, size_out))
            new = _State(
                tuple(r + (k - 1) * j for r, k, j in zip(state.rf, kernel, state.jump)),
                tuple(j * s for j, s in zip(state.jump, stride)),
                tuple(s0 + (k - 1) / 2 * j for s0, k, j in zip(state.start, kernel, state.jump)),
            )
            row = (kernel, stride, (1, 1))
        elif name in _RESIZE:
            mode = _arg(args, kwargs, 3, 'mode', 'nearest')
            align = bool(_arg(args, kwargs, 4, 'align_corners', False))
            taps = {'nearest': 1, 'nearest-exact': 1, 'bicubic': 4, 'area': 1}.get(mode, 2)
            size_in, size_out = x.shape[-2:], first.shape[-2:]
            if align:
                scale = tuple((a - 1) / max(b - 1, 1) for a, b in zip(size_in, size_out))
                offset = (0, 0)
            else:
                scale = tuple(a / b for a, b in zip(size_in, size_out))
                offset = tuple(s / 2 - 0.5 for s in scale)
            # A side of 1 (an image-pooling branch) is read by one tap whatever the mode.
            new = _State(
                tuple(
                    r + (taps - 1) * j * (n > 1) for r, j, n in zip(state.rf, state.jump, size_in)
                ),
                tuple(j * s for j, s in zip(state.jump, scale)),
                tuple(s0 + o * j for s0, o, j in zip(state.start, offset, state.jump)),
            )
            row = (tuple(taps if n > 1 else 1 for n in size_in), scale, (1, 1))
        elif name == 'pad':
            pad = list(_arg(args, kwargs, 1, 'pad', ())) + [0, 0, 0, 0]
            new = _State(
                state.rf,
                state.jump,
                (state.start[0] - pad[2] * state.jump[0], state.start[1] - pad[0] * state.jump[1]),
            )
        else:
            # Element-wise ops and merges: the longest path wins.
            states = [s for _, s in inputs]
            new = _State(
                tuple(max(s.rf[i] for s in states) for i in range(2)),
                tuple(max(s.jump[i] for s in states) for i in range(2)),
                max(states, key=lambda s: s.rf).start,
            )
            if name in _NOT_MODELLED or (
                x.dim() >= 2
                and first.dim() >= 2
                and x.shape[-2:] != first.shape[-2:]
                and first.shape[-2:] != (1, 1)
            ):
                if name not in self.warned:
                    self.warned.add(name)
                    warnings.warn(
                        f'receptive field: the op {name!r} changes the spatial layout '
                        'in a way this tool does not model; the RF after it may be off'
                    )
            if first.dim() >= 2 and first.shape[-2:] == (1, 1) and x.shape[-2:] != (1, 1):
                # A reduction over the spatial axes (x.mean((2, 3), keepdim=True)) is global.
                new = _State(
                    tuple(r + (n - 1) * j for r, n, j in zip(new.rf, x.shape[-2:], new.jump)),
                    tuple(j * n for j, n in zip(new.jump, x.shape[-2:])),
                    tuple(
                        s0 + (n - 1) / 2 * j for s0, n, j in zip(new.start, x.shape[-2:], new.jump)
                    ),
                )
        for t in outs:
            self.states[id(t)] = (t, new)
        if row is not None:
            module_name, module, leaf = self._names[-1] if self._names else ('', None, False)
            kind = type(module).__name__ if leaf else f'F.{name.lstrip("_")}'
            self.layers.append(
                LayerRF(
                    len(self.layers) + 1,
                    module_name or '<functional>',
                    kind,
                    tuple(row[0]),
                    tuple(row[1]),
                    tuple(row[2]),
                    new.rf,
                    new.jump,
                    new.start,
                    tuple(first.shape[-2:]),
                )
            )
        return out


def _trace(root, forward, inputs, prefix=''):
    tracer = _Tracer(root, prefix)
    try:
        for tensor in _tensors(inputs):
            tracer.watch(tensor)
        with tracer:
            out = forward(*inputs)
    finally:
        tracer.remove_hooks()
    first = next(iter(_tensors(out)), None)
    state = tracer.state(first) if first is not None else None
    output = None
    if state is not None:
        output = LayerRF(
            len(tracer.layers) + 1,
            'output',
            type(first).__name__,
            (1, 1),
            (1, 1),
            (1, 1),
            state.rf,
            state.jump,
            state.start,
            tuple(first.shape[-2:]),
        )
    return out, RFTrace(tracer.layers, output)


def trace_receptive_fields(
    module: nn.Module, *inputs, forward: Optional[Callable] = None, prefix: str = ''
) -> RFTrace:
    """Theoretical RF, jump and centre after every spatial op of one forward pass.

    Args:
        module (nn.Module): Its submodules name the ops.
        *inputs: Arguments of the forward call; every tensor in them (also inside lists) is a traced
            input with RF 1 and jump 1 (so a head's table is in its own feature cells).
        forward (callable, optional): Called as ``forward(*inputs)``. Default: ``module``.
        prefix (str): Prefix of the module names. Default: ''.

    Returns:
        RFTrace: The layers in execution order and the state of the output. Runs under
        ``torch.no_grad``.
    """
    with torch.no_grad():
        return _trace(module, forward or module, inputs, prefix)[1]


def model_forward(model: nn.Module) -> Callable:
    """The logits of the decode head before any resize: ``model._forward`` of an mmseg segmentor
    (backbone, neck, ``decode_head.forward``; no auxiliary head), else ``model`` itself."""
    if hasattr(model, 'extract_feat') and hasattr(model, 'decode_head'):
        return lambda x: model._forward(x)
    return model


def input_channels(module: nn.Module) -> int:
    """Input channels of the first ``Conv2d`` of ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    raise ValueError(f'{type(module).__name__} has no Conv2d to take the input channels from')


def model_receptive_fields(model: nn.Module, size: int = 128) -> Tuple[RFTrace, Optional[RFTrace]]:
    """RF tables of a segmentor on a ``size`` x ``size`` input: the whole model (in input pixels)
    and, when it has a ``decode_head``, the head alone on the features it received (in feature
    cells, jump 1 at the head's input).

    The features are recorded during the first pass, so the head sees exactly its real input.
    """
    in_channels = input_channels(model)
    x = torch.zeros(1, in_channels, size, size)
    full = trace_receptive_fields(model, x, forward=model_forward(model))
    head = getattr(model, 'decode_head', None)
    if head is None or isinstance(head, nn.ModuleList) or not hasattr(model, 'extract_feat'):
        return full, None
    with torch.no_grad():
        feats = model.extract_feat(x)
    return full, trace_receptive_fields(head, feats, forward=head.forward, prefix='decode_head')
