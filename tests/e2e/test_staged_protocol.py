"""The paper's staged protocol in miniature, as docs/en/user_guides/dilation_family.md reports it:
on the bundled data, the context module trained on the frozen front-end of
configs/frontend_toy.py (stage 2, basic and large, configs/staged/) beats that front-end, and
leaves it exactly as stage 1 left it.

Stage 1 is the ablation test's front-end run (conftest's ``toy_runs``, trained once per session).
The two stage-2 configs are trained as shipped (1,000 iterations each, side by side, one thread
each) through tools/train.py, with ``load_from`` pointed at that run's last checkpoint, and their
last validation mIoU is read from mmengine's scalar log. Stage 3 is not trained here (CI time).
"""

import os
import os.path as osp
import re
import subprocess

import pytest
import torch

from _helpers import REPO

STAGE2 = {
    'basic': 'context-basic_drn-d-22_1xb8-stage2-1k_context-shapes-128x128',
    'large': 'context-large_drn-d-22_1xb8-stage2-1k_context-shapes-128x128',
}
# Spread allowed against the documented figures (one thread there too; the stage-1 checkpoint, hence
# every figure, changes with the thread count of the front-end's run).
TOLERANCE = 1.5
# The margin over the front-end the test demands of each module. Measured: basic +4.59, large
# +4.72 (front-end 93.50).
MIN_MARGIN = 3.0


def readme_staged_table():
    """{row label: mIoU} from the docs' staged-protocol table."""
    page = osp.join(REPO, 'docs', 'en', 'user_guides', 'dilation_family.md')
    with open(page) as f:
        text = f.read()
    start = text.index('## The staged protocol, Table 3 in miniature')
    end = text.find('\n## ', start + 1)
    section = text[start : end if end > 0 else len(text)]
    rows = {}
    for m in re.finditer(
        r'^\| ([^|]+?) \| [^|]+ \| `configs/([^`]+)` \| \**([\d.]+)\**', section, re.M
    ):
        rows[osp.splitext(osp.basename(m.group(2)))[0]] = float(m.group(3))
    assert rows, f'{page} has no staged-protocol table'
    return rows


@pytest.fixture(scope='module')
def staged(toy_runs, python):
    """Stage 2 (basic and large) from the session's frontend_toy run, as shipped."""
    cwd = toy_runs['cwd']
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    procs = {}
    for module, name in STAGE2.items():
        log = open(cwd / (name + '.log'), 'w')
        procs[module] = (
            subprocess.Popen(
                [
                    python,
                    osp.join(REPO, 'tools', 'train.py'),
                    osp.join(REPO, 'configs', 'staged', name + '.py'),
                    '--work-dir',
                    name,
                    '--cfg-options',
                    'load_from=frontend_toy/iter_2000.pth',
                ],
                cwd=str(cwd),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            log,
            name,
        )
    results = {'cwd': cwd, 'frontend': toy_runs['frontend_toy.py']}
    for module, (proc, log, name) in procs.items():
        code = proc.wait(timeout=1800)
        log.close()
        with open(cwd / (name + '.log')) as f:
            out = f.read()
        assert code == 0, f'training {name} failed:\n{out[-5000:]}'
        results[module] = last_val_miou(str(cwd / name))
    return results


def last_val_miou(work_dir):
    """(mIoU, step) of the last validation in a work dir, read with plot_curves.py's reader."""
    from mmseg_dilated.cli import plot_curves

    _, _, val_steps, mious = plot_curves.load_scalars(work_dir)
    assert mious, f'no validation in {work_dir}'
    return mious[-1], val_steps[-1]


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def test_stage2_keeps_the_front_end_as_stage1_left_it(staged):
    frontend = _state(staged['cwd'] / 'frontend_toy' / 'iter_2000.pth')
    for module, name in STAGE2.items():
        stage2 = _state(staged['cwd'] / name / 'iter_1000.pth')
        for key, value in frontend.items():
            mapped = key.replace('decode_head.conv_seg.', 'decode_head.classifier.conv.')
            assert torch.equal(stage2[mapped], value), (module, key)  # BN statistics included


@pytest.mark.parametrize('module', sorted(STAGE2))
def test_the_module_beats_the_front_end_it_was_trained_on(staged, module):
    (frontend, step_f), (context, step_c) = staged['frontend'], staged[module]
    assert step_f == 2000 and step_c == 1000
    margin = context - frontend
    print(f'+ {module} (staged) {context:.2f} mIoU, front-end {frontend:.2f}: {margin:+.2f}')
    assert margin >= MIN_MARGIN, (context, frontend)


def test_readme_reports_what_the_configs_give(staged):
    rows = readme_staged_table()
    assert staged['frontend'][0] == pytest.approx(rows['frontend_toy'], abs=TOLERANCE)
    for module, name in STAGE2.items():
        assert staged[module][0] == pytest.approx(rows[name], abs=TOLERANCE), name
