"""A hook that runs mmseg's test loop on one of the inference paths (``fused``, ``bf16``,
``compile``): ``mmseg-dilated test CONFIG CHECKPOINT --infer-path bf16``."""

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from .inference_paths import INFERENCE_PATHS, apply_inference_path


@HOOKS.register_module()
class InferencePathHook(Hook):
    """Apply :func:`~mmseg_dilated.deploy.apply_inference_path` to the runner's model before the
    test loop runs.

    It acts at ``before_test``, after the Runner has loaded the checkpoint into the model as built
    from the config: folding BN first would leave the checkpoint's BN statistics nowhere to go. Add
    it under ``default_hooks`` (a dict, so ``--cfg-options`` can add it:
    ``default_hooks.inference_path.type=InferencePathHook
    default_hooks.inference_path.path=bf16``), as ``mmseg-dilated test --infer-path`` does.

    Args:
        path (str): One of ``INFERENCE_PATHS``: 'eager', 'fused', 'bf16', 'compile'.
    """

    priority = 'VERY_LOW'

    def __init__(self, path: str):
        if path not in INFERENCE_PATHS:
            raise ValueError(
                f'unknown inference path {path!r}; valid: {", ".join(INFERENCE_PATHS)}'
            )
        self.path = path

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        apply_inference_path(model, self.path)
        runner.logger.info(f'inference path: {self.path}')
