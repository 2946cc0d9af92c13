#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment and installs the stack in the one order that
# works, from an empty pip cache as well as a warm one:
#   1. torch (kept if already installed, e.g. a CUDA build installed by hand);
#   2. setuptools<70 again, because torch 2.13 pulls setuptools>=77 and 81+ has no pkg_resources,
#      which mmcv 2.1.0's setup.py imports; then mmcv 2.1.0 compiled with its ops against that torch;
#   3. this package (editable, extras tests, analysis, onnx and docs) with mmengine, mmsegmentation
#      and the rest, which moves setuptools to
#      >=77.0.3,<81: what torch 2.13 asks for, with the pkg_resources that mmengine 0.10.7 needs.
# Ends with `pip check`. Idempotent: with everything present it only checks and returns.
#
#   VENV=/path/to/venv bash tools/setup_env.sh     (default: .venv in the repository)
#   PIP_NO_CACHE_DIR=1 bash tools/setup_env.sh     (what CI does: builds everything from nothing)
#   HOST=onedl bash tools/setup_env.sh             (the second host, see setup_onedl below; default
#                                                   VENV .venv-onedl; tools/test_hosts.sh tests it)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="${HOST:-openmmlab}"
case "$HOST" in
    openmmlab) VENV="${VENV:-$ROOT/.venv}" ;;
    onedl) VENV="${VENV:-$ROOT/.venv-onedl}" ;;
    *)
        echo "[setup] unknown HOST=$HOST; use HOST=openmmlab (the default: mmsegmentation 1.2.2," \
            "mmengine 0.10.7, mmcv 2.1.0) or HOST=onedl (onedl-mmsegmentation 1.4.2," \
            "onedl-mmengine 0.10.12, onedl-mmcv 2.3.6); a shell that exports HOST as the" \
            "machine's name needs HOST=openmmlab" >&2
        exit 2
        ;;
esac
PY="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_SPEC="mmcv==2.1.0"
OPENCV_SPEC="opencv-python-headless>=4.5,<5"
START=$SECONDS

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment at $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_i() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }

# The second host: OneDL's maintained fork of the stack (same modules mmcv, mmengine, mmseg under the
# distribution names onedl-*). onedl-mmcv 2.3.6 is an sdist whose pyproject.toml uses the PEP 639
# licence string, so it builds only under setuptools>=77 (mmcv 2.1.0 needs <70); >=77.0.3,<81 is
# also what torch 2.13 asks for and still has the pkg_resources that mmengine reads. Our own and the
# fork's requirements name distributions that must not come in beside the fork: OpenMMLab's mmcv,
# mmengine, mmsegmentation (which pip would fetch for mmseg-dilated's pins) and opencv-python (the
# GUI build, which needs libGL and would install a second cv2 over the headless one). So those four
# packages are installed --no-deps and their other requirements are installed from their metadata.
onedl_requirements() {
    # The requirements of mmseg-dilated (with the extras the default host installs) and of the
    # fork's three distributions, less the swapped ones; with --check, exit 1 unless all are met.
    "$VPY" - "$ROOT" "$@" <<'PYEOF'
import importlib.metadata as md
import sys
import tomllib

from packaging.requirements import Requirement

SWAPPED = {'mmcv', 'mmengine', 'mmsegmentation', 'opencv-python'}
with open(f'{sys.argv[1]}/pyproject.toml', 'rb') as f:
    project = tomllib.load(f)['project']
reqs = list(project['dependencies'])
for extra in ('tests', 'analysis', 'onnx', 'docs'):
    reqs += project['optional-dependencies'].get(extra, [])
for dist in ('onedl-mmcv', 'onedl-mmengine', 'onedl-mmsegmentation'):
    reqs += md.requires(dist) or []
keep = {}
for line in reqs:
    req = Requirement(line)
    if req.name.lower() in SWAPPED or req.name.lower().startswith('onedl-'):
        continue
    if req.marker is not None and not req.marker.evaluate({'extra': ''}):
        continue
    req.marker = None
    keep[str(req)] = req
if sys.argv[2:] == ['--check']:
    for req in keep.values():
        if not req.specifier.contains(md.version(req.name), prereleases=True):
            sys.exit(f'{req} not met')
else:
    print('\n'.join(sorted(keep)))
PYEOF
}

setup_onedl() {
    local mmcv_spec="onedl-mmcv==2.3.6" rest="onedl-mmengine==0.10.12 onedl-mmsegmentation==1.4.2"
    if "$VPY" - <<'PYEOF' 2>/dev/null && onedl_requirements --check 2>/dev/null; then
import importlib.metadata as md
import torch, mmcv, mmengine, mmseg, pkg_resources  # noqa: F401
from mmcv.ops import roi_align  # noqa: F401
assert md.version('onedl-mmcv') == mmcv.__version__ == '2.3.6', mmcv.__version__
assert md.version('onedl-mmengine') == mmengine.__version__ == '0.10.12', mmengine.__version__
assert md.version('onedl-mmsegmentation') == mmseg.__version__ == '1.4.2', mmseg.__version__
md.version('mmseg-dilated')
import mmseg_dilated  # noqa: F401
PYEOF
        echo "[setup] environment at $VENV (HOST=onedl) is complete"
        return 0
    fi
    echo "[setup] HOST=onedl: installing build tools"
    pip_i --upgrade "pip>=23" wheel ninja
    if ! "$VPY" -c "import torch" 2>/dev/null; then
        echo "[setup] installing $TORCH_SPEC"
        pip_i "$TORCH_SPEC"
    fi
    pip_i "setuptools>=77.0.3,<81" "packaging>=24.2" numpy "$OPENCV_SPEC"
    if ! "$VPY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.3.6'" 2>/dev/null; then
        echo "[setup] building $mmcv_spec with its compiled ops (about 35 minutes on 2 cores;"
        echo "        pip caches the wheel unless PIP_NO_CACHE_DIR is set)"
        MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            pip_i --no-build-isolation --no-deps "$mmcv_spec"
    fi
    echo "[setup] installing $rest and the package (editable)"
    # shellcheck disable=SC2086
    pip_i --no-deps $rest
    pip_i --no-deps -e "$ROOT"
    onedl_requirements >"$VENV/onedl-requirements.txt"
    pip_i -r "$VENV/onedl-requirements.txt"
    # pip check names the swapped requirements as missing; anything else is a real conflict.
    local report bad
    report="$("$VPY" -m pip check --disable-pip-version-check 2>&1)" || true
    bad="$(grep -v -i -E "^(onedl-mmcv|onedl-mmsegmentation) [^ ]+ requires opencv-python, |^mmseg-dilated [^ ]+ requires (mmcv|mmengine|mmsegmentation), |^No broken requirements" <<<"$report" || true)"
    if [ -n "$bad" ]; then
        echo "$bad" >&2
        exit 1
    fi
    echo "[setup] done in $((SECONDS - START)) s: $("$VPY" -c 'import torch, mmcv, mmengine, mmseg, setuptools; print("torch", torch.__version__, "onedl-mmcv", mmcv.__version__, "onedl-mmengine", mmengine.__version__, "onedl-mmseg", mmseg.__version__, "setuptools", setuptools.__version__)')"
}
if [ "$HOST" = onedl ]; then
    setup_onedl
    exit 0
fi

# Fast path: every pinned component imports at the expected version and the package is installed.
if "$VPY" - <<'PYEOF' 2>/dev/null; then
import importlib.metadata as md
import torch, mmcv, mmengine, mmseg, ftfy, regex, pkg_resources  # noqa: F401
from mmcv.ops import roi_align  # noqa: F401  (mmcv built with ops)
assert mmcv.__version__.startswith('2.1.'), mmcv.__version__
assert mmengine.__version__ == '0.10.7', mmengine.__version__
assert mmseg.__version__ == '1.2.2', mmseg.__version__
md.version('mmseg-dilated')
md.version('pytest')
assert md.version('ruff') == '0.17.6'  # the tests extra's pin (tests/test_lint.py)
assert md.version('import-linter') == '2.17'  # the tests extra's pin (tests/test_layers.py)
assert md.version('pytest-xdist') == '3.8.0'  # the tests extra's pin (tools/run_tests.sh)
md.version('seaborn')
assert md.version('mkdocs') == '1.6.1'  # the docs extra's pins (tests/test_docs/test_site.py)
assert md.version('mkdocs-material') == '9.8.1'
import onnx, onnxruntime  # noqa: F401,E401
import mmseg_dilated  # noqa: F401
PYEOF
    echo "[setup] environment at $VENV is complete"
    exit 0
fi

echo "[setup] installing build tools"
pip_i --upgrade "pip>=23" wheel ninja

if ! "$VPY" -c "import torch" 2>/dev/null; then
    echo "[setup] installing $TORCH_SPEC"
    pip_i "$TORCH_SPEC"
fi

if ! "$VPY" -c "import mmcv, mmcv.ops; assert mmcv.__version__.startswith('2.1.')" 2>/dev/null; then
    # torch just moved setuptools to >=77; mmcv's setup.py needs the pkg_resources of an older one.
    # With OpenCV's headless build present, mmcv's setup.py asks for it instead of opencv-python
    # (the GUI build, which needs libGL and would install a second cv2 over the first).
    pip_i "setuptools<70" numpy "$OPENCV_SPEC"
    echo "[setup] installing $MMCV_SPEC with its compiled ops (first time: about 10 minutes on 2 cores;"
    echo "        pip caches the wheel unless PIP_NO_CACHE_DIR is set, later installs take seconds)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" pip_i --no-build-isolation "$MMCV_SPEC"
fi

echo "[setup] installing mmengine, mmsegmentation and the package (editable)"
pip_i -e "$ROOT[tests,analysis,onnx,docs]"
"$VPY" -m pip check --disable-pip-version-check
echo "[setup] done in $((SECONDS - START)) s: $("$VPY" -c 'import torch, mmcv, mmengine, mmseg, setuptools; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmseg", mmseg.__version__, "setuptools", setuptools.__version__)')"
