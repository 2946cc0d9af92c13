"""Shared by the tests (importable as `_helpers`: pyproject puts tests/ on sys.path)."""
import os
import os.path as osp
import subprocess

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'context_tiny.py')


def run_tool(args, cwd, env=None, timeout=900):
    """Run a command line (a list) in ``cwd``; return the CompletedProcess, output merged."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    full_env.update(env or {})
    return subprocess.run(args, cwd=str(cwd), env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def run_script(monkeypatch, script, *args):
    """Run a command-line script in this process (so monkeypatches reach it), as ``script args``."""
    import runpy
    import sys
    monkeypatch.setattr(sys, 'argv', [str(script), *map(str, args)])
    runpy.run_path(str(script), run_name='__main__')


def assert_head_same_outputs_and_grads(ref, other, feats, grad_out, atol=1e-6):
    """``ref`` and ``other`` (two decode heads with the same weights, e.g. without and with
    ``with_cp``) give the same output, input gradient and parameter gradients for ``feats``."""
    outs, grads = [], []
    for head in (ref, other):
        x = feats.clone().requires_grad_()
        out = head([x])
        out.backward(grad_out)
        outs.append(out)
        grads.append([x.grad] + [p.grad for p in head.parameters()])
    assert torch.allclose(outs[0], outs[1], atol=atol)
    assert len(grads[0]) == len(grads[1])
    for g_ref, g_other in zip(*grads):
        assert torch.allclose(g_ref, g_other, atol=atol)


def load_script(path, name):
    """Import a script under tools/ (not a package) as a module called ``name``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
