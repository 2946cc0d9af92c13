"""The house rules a contributor can run: ruff's lint (pycodestyle, pyflakes, import order) and its
formatter, configured in pyproject.toml (line width 100), over the whole repository.

Fix a failure with ``ruff check --fix . && ruff format .`` (the ``tests`` extra pins ruff).
"""

import os.path as osp
import shutil
import subprocess
import sys

import pytest

from _helpers import REPO


def ruff():
    """The ruff executable of this environment (the tests extra installs it)."""
    exe = shutil.which('ruff', path=osp.dirname(sys.executable))
    if exe is None:
        pytest.fail('ruff is not installed: pip install -e ".[tests]" (it pins the version)')
    return exe


@pytest.mark.parametrize(
    'command', [['check', '.'], ['format', '--check', '.']], ids=['lint', 'format']
)
def test_ruff(command):
    proc = subprocess.run([ruff(), *command], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f'ruff {" ".join(command)} found problems (fix: ruff check --fix . && ruff format .):\n'
        f'{proc.stdout[-5000:]}{proc.stderr[-2000:]}'
    )
