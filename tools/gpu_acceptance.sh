#!/usr/bin/env bash
# One command that proves a CUDA machine for mmseg-dilated, in at most 10 minutes on one GPU:
#   1. the environment: torch's CUDA build, cuDNN, mmcv's compiled ops run on a CUDA tensor;
#   2. `mmseg-dilated dry-run` of every shipped GPU config, with and without --amp (does it fit,
#      s/iter of the step and the data loader, projected wall-clock);
#   3. the inference paths on CUDA (eager, fused, fp16 and bf16 autocast, ONNX on onnxruntime's
#      CUDA provider if installed), each with its parity against eager fp32 and its latency against
#      mmseg's DeepLabV3 R-50-D8 measured in the same run;
# and writes one Markdown table, OUT/gpu_acceptance.md. What each step measures:
# mmseg_dilated/analysis/acceptance.py.
#
#   bash tools/gpu_acceptance.sh [--cpu] [OUT]     (OUT: work_dirs/gpu_acceptance)
#
# --cpu (or a machine without CUDA) runs the same steps on the CPU on tiny inputs: the test suite
# runs that mode (tests/test_analysis/test_gpu_acceptance.py), so the script cannot rot. Its
# figures stand for nothing on a GPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
MODE=""
OUT=""
for arg in "$@"; do
    case "$arg" in
        --cpu) MODE="--cpu" ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *) OUT="$arg" ;;
    esac
done
OUT="${OUT:-work_dirs/gpu_acceptance}"
if [ -z "$MODE" ] && ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "[gpu_acceptance] torch sees no CUDA device: running the CPU mode on tiny inputs" >&2
    MODE="--cpu"
fi
STEP="$PY -m mmseg_dilated.cli.gpu_acceptance"
START=$SECONDS
cd "$ROOT"
for step in env dry-runs inference; do
    echo "[gpu_acceptance] $step ($((SECONDS - START)) s)" >&2
    $STEP "$step" "$OUT" $MODE
done
$STEP table "$OUT" --command "bash tools/gpu_acceptance.sh $MODE $OUT" > /dev/null
echo "[gpu_acceptance] done in $((SECONDS - START)) s: $OUT/gpu_acceptance.md" >&2
