"""Build hook: ship the configs inside the package, as mmseg ships its own (``mmseg/.mim/configs``).

A wheel (``pip install .``, ``pip wheel .``) gets a copy of ``configs/`` under
``mmseg_dilated/.mim/configs``; an editable install reads ``configs/`` in the checkout instead
(``mmseg_dilated/utils/config_scope.py``). Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithConfigs(build_py):
    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        dst = Path(self.build_lib) / 'mmseg_dilated' / '.mim' / 'configs'
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(
            ROOT / 'configs', dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc')
        )


setup(cmdclass={'build_py': BuildPyWithConfigs})
