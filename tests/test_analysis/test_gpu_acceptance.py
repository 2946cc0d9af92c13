"""tools/gpu_acceptance.sh in its CPU mode, on tiny inputs: every step of the GPU acceptance run
(environment, dry runs, inference paths, the Markdown table) runs, so the script cannot rot."""

import os.path as osp
import sys

import pytest

from _helpers import REPO, assert_ok, run_tool


@pytest.mark.slow
def test_gpu_acceptance_cpu_mode_writes_the_table(tmp_path):
    out = tmp_path / 'acceptance'
    proc = run_tool(
        ['bash', osp.join(REPO, 'tools', 'gpu_acceptance.sh'), '--cpu', str(out)],
        cwd=tmp_path,
        env=dict(PYTHON=sys.executable, OMP_NUM_THREADS='1'),
        timeout=600,
    )
    assert_ok(proc, 'tools/gpu_acceptance.sh --cpu')
    table = (out / 'gpu_acceptance.md').read_text()
    lines = table.splitlines()
    assert lines[0] == '# Acceptance run on CPU'
    assert 'not measured on a GPU' in table
    assert '| mmcv_ops | nms on cpu: ok, as on CPU' in table
    # the dry run of the tiny config fits; AMP is refused on CPU, with the reason
    dry = [line for line in lines if line.startswith('| ') and 'context_tiny.py' in line]
    assert dry[0].split(' | ')[1:3] == ['no', 'yes']
    assert "AMP needs CUDA (mmengine's AmpOptimWrapper)" in dry[1]
    # three models (DeepLabV3 R-50-D8 the reference) x eager, fused, bf16
    rows = [line.split(' | ') for line in lines if line.startswith('| ') and ' | eager | ' in line]
    assert len(rows) == 3
    reference = [r for r in rows if r[0] == '| DeepLabV3 R-50-D8 (mmseg, 19 cl.)']
    assert reference and reference[0][3] == '1.00'  # its own latency is the unit
    fused = [line.split(' | ') for line in lines if ' | fused | ' in line]
    assert len(fused) == 3 and all(float(r[4]) < 1e-4 for r in fused)  # BN folding is exact
