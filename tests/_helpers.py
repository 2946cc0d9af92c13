"""Shared by the tests (importable as `_helpers`: pyproject puts tests/ on sys.path)."""
import os
import os.path as osp
import subprocess

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'context_tiny.py')


def run_tool(args, cwd, env=None, timeout=900):
    """Run a command line (a list) in ``cwd``; return the CompletedProcess, output merged."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    full_env.update(env or {})
    return subprocess.run(args, cwd=str(cwd), env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
