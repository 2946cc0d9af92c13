"""The paper's ablation in miniature, as docs/en/get_started.md reports it: on the bundled data, the
front-end with the context module (configs/context_toy.py) beats the same front-end with a 1x1
classifier (configs/frontend_toy.py), trained for the same iterations with the same seed.

Both configs are trained as shipped (2,000 iterations, about 7 minutes with the two runs side by
side on 2 cores) through tools/train.py, and their last validation mIoU is read from mmengine's
scalar log. The expected figures are read from the ablation table of docs/en/get_started.md, so
the test fails if the documented numbers stop being what the configs give.
"""

import os.path as osp
import re

import pytest

from mmseg_dilated.apis import mmseg_tool

from _helpers import REPO, run_tool
from _helpers import TOY_CONFIGS as CONFIGS

# Spread allowed against the documented figures, which tools/train.py gives with its default two
# threads: here each run has one, which changes the order of floating-point sums, and 2,000 steps
# amplify that (measured: 97.77 / 93.50 with one thread, 97.56 / 93.64 with two).
TOLERANCE = 1.5
# The margin the test demands: the two measured margins are 4.27 and 3.92.
MIN_MARGIN = 3.0
# The page that reports the ablation (the README's quick start points to it).
GET_STARTED = osp.join(REPO, 'docs', 'en', 'get_started.md')


def readme_ablation():
    """{config: (mIoU, [class IoUs])} and the margin, from the ablation table of
    docs/en/get_started.md."""
    with open(GET_STARTED) as f:
        text = f.read()
    rows = {}
    for name in CONFIGS:
        m = re.search(
            r'^\| `configs/'
            + re.escape(name)
            + r'` \| [^|]+ \| \**([\d.]+)\** \| ([\d.]+) / ([\d.]+) / ([\d.]+) \|$',
            text,
            re.M,
        )
        assert m, f'{GET_STARTED} has no ablation row for {name}'
        rows[name] = float(m.group(1)), [float(g) for g in m.group(2, 3, 4)]
    m = re.search(r'The context module wins by ([\d.]+) mIoU', text)
    assert m, f'{GET_STARTED} does not state the ablation margin'
    return rows, float(m.group(1))


@pytest.fixture(scope='module')
def trained(toy_runs):
    """context_toy.py and frontend_toy.py as shipped, trained once per test session
    (conftest.py)."""
    return toy_runs


def test_context_module_beats_the_same_front_end(trained):
    (context, step_c), (frontend, step_f) = trained['context_toy.py'], trained['frontend_toy.py']
    assert step_c == step_f == 2000
    margin = context - frontend
    print(f'context_toy {context:.2f} mIoU, frontend_toy {frontend:.2f}: margin {margin:+.2f}')
    assert margin >= MIN_MARGIN, (context, frontend)


def test_readme_reports_what_the_configs_give(trained):
    rows, margin = readme_ablation()
    for name in CONFIGS:
        assert trained[name][0] == pytest.approx(rows[name][0], abs=TOLERANCE), name
    assert margin == pytest.approx(
        rows['context_toy.py'][0] - rows['frontend_toy.py'][0], abs=0.006
    )


def test_tta_through_mmsegs_own_test_tool(trained, python):
    """Multi-scale + flip testing of the trained context_toy checkpoint with mmseg's own
    tools/test.py, against the TTA figure the docs report."""
    cwd = trained['cwd']
    proc = run_tool(
        [
            python,
            mmseg_tool('test.py'),
            osp.join(REPO, 'configs', 'context_toy.py'),
            'context_toy/iter_2000.pth',
            '--tta',
            '--work-dir',
            'tta',
        ],
        cwd,
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    miou = float(re.findall(r'Iter\(test\) \[60/60\].*mIoU: ([\d.]+)', proc.stdout)[-1])
    with open(GET_STARTED) as f:
        reported = float(re.search(r'TTA mIoU ([\d.]+)', f.read()).group(1))
    print(f'context_toy with --tta: {miou:.2f} mIoU (docs: {reported:.2f})')
    assert miou == pytest.approx(reported, abs=TOLERANCE)
