#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment and installs the stack in the one order that
# works: torch first, mmcv 2.1.0 compiled with its ops against that torch, then mmseg and the rest,
# then this package in editable mode. Idempotent: with everything present it only checks and returns.
#
#   VENV=/path/to/venv bash tools/setup_env.sh     (default: .venv in the repository)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_SPEC="mmcv==2.1.0"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment at $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_i() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }

# Fast path: every pinned component imports at the expected version and the package is installed.
if "$VPY" - <<'PYEOF' 2>/dev/null; then
import importlib.metadata as md
import torch, mmcv, mmengine, mmseg, ftfy, regex  # noqa: F401
from mmcv.ops import roi_align  # noqa: F401  (mmcv built with ops)
assert mmcv.__version__.startswith('2.1.'), mmcv.__version__
assert mmengine.__version__ == '0.10.7', mmengine.__version__
assert mmseg.__version__ == '1.2.2', mmseg.__version__
md.version('mmseg-dilated')
import mmseg_dilated  # noqa: F401
PYEOF
    echo "[setup] environment at $VENV is complete"
    exit 0
fi

echo "[setup] installing build tools"
pip_i --upgrade "pip>=23" "setuptools<70" wheel ninja

if ! "$VPY" -c "import torch" 2>/dev/null; then
    echo "[setup] installing $TORCH_SPEC"
    pip_i "$TORCH_SPEC"
fi

if ! "$VPY" -c "import mmcv, mmcv.ops; assert mmcv.__version__.startswith('2.1.')" 2>/dev/null; then
    echo "[setup] installing $MMCV_SPEC with its compiled ops (first time: about 10 minutes on 2 cores;"
    echo "        pip caches the wheel, later installs take seconds)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" pip_i --no-build-isolation "$MMCV_SPEC"
fi

echo "[setup] installing mmengine, mmsegmentation and the package (editable)"
pip_i -e "$ROOT[tests]"
echo "[setup] done: $("$VPY" -c 'import torch, mmcv, mmengine, mmseg; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmseg", mmseg.__version__)')"
