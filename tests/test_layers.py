"""The package's layers (pyproject.toml, [tool.importlinter]) hold, and the check would catch a
break: lint-imports on the package, then on copies with an upward import, a function-level one and
a cycle planted."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'mmseg_dilated'
LINT_IMPORTS = Path(sys.executable).with_name('lint-imports')


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run(
        [str(LINT_IMPORTS), str(cwd / 'pyproject.toml'), '--no-cache'],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_layers_contract_holds():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Contracts: 2 kept, 0 broken.' in proc.stdout, proc.stdout


@pytest.fixture
def package_copy(tmp_path):
    shutil.copytree(
        PACKAGE, tmp_path / 'mmseg_dilated', ignore=shutil.ignore_patterns('__pycache__')
    )
    shutil.copy(ROOT / 'pyproject.toml', tmp_path / 'pyproject.toml')
    return tmp_path


@pytest.mark.parametrize(
    'module, planted, importer, imported',
    [
        # an upward import at module level: a model reaching the command line
        ('models/common.py', 'from ..cli import errors  # noqa', 'models.common', 'cli.errors'),
        # an upward import hidden in a function: the leaf reaching a dataset builder
        (
            'utils/labels.py',
            'def _planted():\n    from ..datasets import builder  # noqa',
            'utils.labels',
            'datasets.builder',
        ),
        # a cycle between siblings of one layer: engine -> apis (apis -> engine is not there,
        # but independent siblings may not import each other at all)
        ('engine/cpu_ddp.py', 'from ..apis import launch  # noqa', 'engine.cpu_ddp', 'apis.launch'),
    ],
)
def test_lint_imports_catches_a_planted_violation(
    package_copy, module, planted, importer, imported
):
    path = package_copy / 'mmseg_dilated' / module
    path.write_text(path.read_text() + '\n\n' + planted + '\n')
    proc = _lint(package_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'BROKEN' in proc.stdout and re.search(
        r'Contracts: \d+ kept, [1-9]\d* broken', proc.stdout
    )
    assert f'mmseg_dilated.{importer} -> mmseg_dilated.{imported}' in proc.stdout, proc.stdout


def test_only_the_command_line_imports_the_package_root():
    """``import mmseg_dilated`` imports every layer, so below the command line it would hide an
    upward import that the contract cannot see (the root package is in no layer)."""
    offenders = []
    for path in PACKAGE.rglob('*.py'):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith('cli/') or rel == '__init__.py':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.module == 'mmseg_dilated' or (node.level > 0 and not node.module):
                    parent = rel.split('/')[: -1 - (node.level - 1)] if node.level else []
                    if node.module == 'mmseg_dilated' or not parent:
                        names = ['mmseg_dilated']
            if 'mmseg_dilated' in names:
                offenders.append(f'{rel}:{node.lineno}')
    assert not offenders, offenders
