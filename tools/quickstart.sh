#!/usr/bin/env bash
# Quick start, step 1 of the README: set up (if needed), train the context model on the bundled data
# on CPU, evaluate the checkpoint with mmseg's own test tool, and say where everything is.
#   bash tools/quickstart.sh [extra tools/train.py options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${VENV:-$ROOT/.venv}/bin/python"
CONFIG=configs/context_toy.py
WORK_DIR=work_dirs/context_toy

"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"  # absolute path, written by mmengine
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test" --show-dir "$WORK_DIR/overlays" \
    2>&1 | tee "$WORK_DIR/test.log"
"$PY" tools/analysis/plot_curves.py "$WORK_DIR" --out "$WORK_DIR/curves.png"
echo
echo "checkpoint:  $CKPT"
echo "mIoU:        $(grep -o "mIoU: [0-9.]*" "$WORK_DIR/test.log" | tail -1 | cut -d' ' -f2)"
echo "overlays:    $ROOT/$WORK_DIR/overlays/vis_data/vis_image ($(ls "$WORK_DIR"/overlays/vis_data/vis_image 2>/dev/null | wc -l) PNGs: ground truth | prediction)"
echo "curves:      $ROOT/$WORK_DIR/curves.png"
