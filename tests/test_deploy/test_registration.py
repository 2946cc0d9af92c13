"""A config's ``custom_imports = dict(imports=['mmseg_dilated'])`` alone registers every component,
the inference-path hook included (no command of ours imports anything first)."""

import subprocess
import sys

CODE = """
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings
from mmseg.registry import HOOKS

cfg = Config(dict(custom_imports=dict(imports=['mmseg_dilated'], allow_failed_imports=False),
                  custom_hooks=[dict(type='InferencePathHook', path='fused')]))
import_modules_from_strings(**cfg.custom_imports)
init_default_scope('mmseg')
hook = HOOKS.build(cfg.custom_hooks[0])
print(type(hook).__module__, type(hook).__name__, hook.path)
"""


def test_inference_path_hook_from_custom_imports_alone():
    proc = subprocess.run([sys.executable, '-c', CODE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].split() == [  # the last line: a host may print on import
        'mmseg_dilated.deploy.inference_path_hook',
        'InferencePathHook',
        'fused',
    ]
