#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment and installs the stack in the one order that
# works, from an empty pip cache as well as a warm one:
#   1. torch (kept if already installed, e.g. a CUDA build installed by hand);
#   2. setuptools<70 again, because torch 2.13 pulls setuptools>=77 and 81+ has no pkg_resources,
#      which mmcv 2.1.0's setup.py imports; then mmcv 2.1.0 compiled with its ops against that torch;
#   3. this package (editable, extras tests, analysis and onnx) with mmengine, mmsegmentation and the
#      rest, which moves setuptools to
#      >=77.0.3,<81: what torch 2.13 asks for, with the pkg_resources that mmengine 0.10.7 needs.
# Ends with `pip check`. Idempotent: with everything present it only checks and returns.
#
#   VENV=/path/to/venv bash tools/setup_env.sh     (default: .venv in the repository)
#   PIP_NO_CACHE_DIR=1 bash tools/setup_env.sh     (what CI does: builds everything from nothing)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
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
md.version('seaborn')
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
pip_i -e "$ROOT[tests,analysis,onnx]"
"$VPY" -m pip check --disable-pip-version-check
echo "[setup] done in $((SECONDS - START)) s: $("$VPY" -c 'import torch, mmcv, mmengine, mmseg, setuptools; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmseg", mmseg.__version__, "setuptools", setuptools.__version__)')"
