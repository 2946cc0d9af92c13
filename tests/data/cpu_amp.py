"""mmengine's AmpOptimWrapper on CPU, for the AMP tests of tests/test_engine/test_divergence.py.

mmengine's wrapper refuses to be built without a GPU and takes its loss scaler from
``torch.cuda.amp``. This subclass skips only that: it builds torch's GradScaler for the CPU
(``torch.amp.GradScaler('cpu')``, same scaling, skipping and backoff rules) and keeps every method
of AmpOptimWrapper (scaled backward, unscale, clip, step, update, state dict, bf16 autocast)."""
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):

    def __init__(self, loss_scale='dynamic', dtype=None, **kwargs):
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        if isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            loss_scale = dict(init_scale=loss_scale)
        self.loss_scaler = torch.amp.GradScaler('cpu', **(loss_scale if isinstance(loss_scale, dict) else {}))
        self.cast_dtype = dtype if dtype is None else getattr(torch, dtype)
