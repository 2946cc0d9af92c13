#!/usr/bin/env bash
# The suite on the second host, OneDL's maintained fork of the stack (onedl-mmsegmentation 1.4.2,
# onedl-mmengine 0.10.12, onedl-mmcv 2.3.6: `HOST=onedl bash tools/setup_env.sh` builds it). CI runs
# the default host only (two mmcv builds do not fit its time budget); this runs, on the fork:
#   1. the suite, as tools/run_tests.sh runs it on the default host (all of it, two pytest-xdist
#      workers; SUITE=fast for the fast tier, pytest -m "not slow");
#   2. a user's config that inherits `mmseg_dilated::context_toy.py` (whose bases inherit
#      `mmseg::`), trained for ITERS iterations with one validation, through tools/train.py;
#   3. a user's config with one `mmseg::` and one `mmseg_dilated::` base, resolved;
# and prints the date, the versions and the pass/fail counts. Exit status: 0 when all passed.
#
#   bash tools/test_hosts.sh [pytest options]     (VENV default .venv-onedl; ITERS default 20;
#                                                 PYTEST_WORKERS default 2, 0 for none)
#   WORK_DIR=/tmp/x bash tools/test_hosts.sh      (logs, junit.xml, the training's work dir)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-onedl}"
VPY="$VENV/bin/python"
ITERS="${ITERS:-20}"
WORKERS="${PYTEST_WORKERS:-2}"
SELECT=()
case "${SUITE:-all}" in
    all) ;;
    fast) SELECT=(-m 'not slow') ;;
    *) echo "error: SUITE=${SUITE}: use SUITE=all (the default) or SUITE=fast" >&2; exit 2 ;;
esac
XDIST=()
if [ "$WORKERS" != 0 ]; then
    XDIST=(-n "$WORKERS" --dist loadfile)
fi
if [ ! -x "$VPY" ]; then
    echo "error: no virtual environment at $VENV; build the fork's with" \
        "HOST=onedl bash tools/setup_env.sh (or set VENV)" >&2
    exit 2
fi
WORK="${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/test_hosts.XXXXXX")}"
mkdir -p "$WORK"
cd "$ROOT"

echo "[hosts] date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "[hosts] $("$VPY" - <<'PYEOF'
import importlib.metadata as md
import platform

import torch

def dist(*names):
    for name in names:
        try:
            return f'{name} {md.version(name)}'
        except md.PackageNotFoundError:
            pass
    return f'{names[0]} not installed'

print(f'python {platform.python_version()}, torch {torch.__version__},',
      ', '.join(dist(f'onedl-{n}', n) for n in ('mmsegmentation', 'mmengine', 'mmcv')))
PYEOF
)"
# (the fork's mmseg prints a debug line, "Could not import OneDL", on import: the last line counts)
echo "[hosts] patches installed: $("$VPY" -c 'import mmseg_dilated.host_patches as h
print(", ".join(h.installed()))' 2>/dev/null | tail -n 1)"

echo "[hosts] 1. pytest tests ${SELECT[*]} ${XDIST[*]} (log: $WORK/pytest.log)"
START=$SECONDS
"$VPY" -m pytest tests "${SELECT[@]}" "${XDIST[@]}" -q -p no:cacheprovider \
    --junitxml="$WORK/junit.xml" "$@" >"$WORK/pytest.log" 2>&1
PYTEST_RC=$?
tail -n 30 "$WORK/pytest.log" | grep -E '^(FAILED|ERROR) ' || true
SUMMARY="$(grep -E '(passed|failed|error|skipped).* in [0-9.]+s' "$WORK/pytest.log" | tail -n 1 |
    sed -E 's/^=+ //; s/ =+$//')"
echo "[hosts] suite: ${SUMMARY:-no summary, see $WORK/pytest.log} ($((SECONDS - START)) s)"

echo "[hosts] 2. train a user config inheriting mmseg_dilated::context_toy.py, $ITERS iterations"
cat >"$WORK/user_toy.py" <<PYEOF
_base_ = ['mmseg_dilated::context_toy.py']
train_cfg = dict(max_iters=$ITERS, val_interval=$ITERS)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=$ITERS, by_epoch=False)]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=$ITERS))
PYEOF
START=$SECONDS
"$VPY" tools/train.py "$WORK/user_toy.py" --work-dir "$WORK/train" >"$WORK/train.log" 2>&1
TRAIN_RC=$?
if [ "$TRAIN_RC" -eq 0 ] && [ -f "$WORK/train/iter_$ITERS.pth" ]; then
    MIOU="$(grep -oE 'mIoU: [0-9.]+' "$WORK/train.log" | tail -n 1)"
    echo "[hosts] training: passed ($((SECONDS - START)) s, iter_$ITERS.pth written, $MIOU)"
else
    TRAIN_RC=1
    tail -n 20 "$WORK/train.log"
    echo "[hosts] training: FAILED (log: $WORK/train.log)"
fi

echo "[hosts] 3. resolve a user config with mmseg:: and mmseg_dilated:: bases"
cat >"$WORK/user_scopes.py" <<'PYEOF'
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    'mmseg_dilated::_base_/datasets/context_shapes.py',
]
PYEOF
"$VPY" - "$WORK/user_scopes.py" <<'PYEOF'
import sys

import mmseg_dilated  # noqa: F401  (the config scopes)
from mmengine.config import Config

cfg = Config.fromfile(sys.argv[1])
assert cfg.model.decode_head.type == 'ASPPHead', cfg.model.decode_head.type
assert cfg.train_dataloader.dataset.type == 'ContextShapesDataset'
print('[hosts] scopes: passed (model', cfg.model.type, '+', cfg.model.decode_head.type,
      'from mmseg::, data', cfg.train_dataloader.dataset.type, 'from mmseg_dilated::)')
PYEOF
SCOPES_RC=$?
[ "$SCOPES_RC" -eq 0 ] || echo "[hosts] scopes: FAILED"

if [ "$PYTEST_RC" -eq 0 ] && [ "$TRAIN_RC" -eq 0 ] && [ "$SCOPES_RC" -eq 0 ]; then
    echo "[hosts] all passed"
    exit 0
fi
echo "[hosts] FAILED (pytest rc $PYTEST_RC, training rc $TRAIN_RC, scopes rc $SCOPES_RC)"
exit 1
