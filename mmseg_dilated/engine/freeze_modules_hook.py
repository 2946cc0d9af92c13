"""Freeze named sub-modules of the model for a whole run: no gradient, eval mode, BN included.

Stage 2 of the staged protocol of `Yu & Koltun (ICLR 2016) <https://arxiv.org/abs/1511.07122>`_
trains the context module alone on the class scores of an already trained front-end; the front-end
(backbone and the head's 1x1 classifier) must not change, its BN running statistics included.
"""

from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch.nn.parallel import DistributedDataParallel

from ..models.common import freeze

__all__ = ['FreezeModulesHook']


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Keep the named sub-modules of the model frozen during training.

    Before the run their parameters stop requiring gradients (optimizers skip parameters without a
    gradient, weight decay included), and before every training iteration they are put back in eval
    mode, after mmengine's loop has switched the whole model to train mode: BN layers normalise
    with, and no longer update, their running statistics, and dropout inside them is off.

    The model is wrapped for data parallelism before any hook runs, so under
    ``DistributedDataParallel`` the frozen parameters are still registered for gradient reduction;
    the run then needs ``find_unused_parameters = True`` in the config, and the hook says so
    instead of letting the first iteration hang.

    Args:
        modules (Sequence[str]): Names of sub-modules of the model (``model.get_submodule``), e.g.
            ``('backbone', 'decode_head.classifier')``.

    Example:
        >>> custom_hooks = [
        ...     dict(type='FreezeModulesHook', modules=('backbone', 'decode_head.classifier'))]
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Sequence[str]):
        if isinstance(modules, str):
            modules = (modules,)
        if (
            not isinstance(modules, Sequence)
            or not modules
            or not all(isinstance(m, str) and m for m in modules)
        ):
            raise ValueError(
                'modules must be a non-empty list of sub-module names, e.g. '
                f"('backbone', 'decode_head.classifier'), got {modules!r}"
            )
        self.modules = tuple(modules)

    def _frozen(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        found = []
        for name in self.modules:
            try:
                found.append(model.get_submodule(name))
            except AttributeError:
                children = ', '.join(n for n, _ in model.named_children())
                raise ValueError(
                    f'FreezeModulesHook: the model has no sub-module {name!r}; its '
                    f'top-level modules are: {children}'
                ) from None
        return found

    def before_run(self, runner) -> None:
        wrapper = runner.model
        if isinstance(wrapper, DistributedDataParallel) and not wrapper.find_unused_parameters:
            raise ValueError(
                'FreezeModulesHook: frozen parameters under DistributedDataParallel '
                'need find_unused_parameters = True in the config (mmengine passes '
                'it to the wrapper)'
            )
        freeze(self._frozen(runner))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for module in self._frozen(runner):
            module.eval()
