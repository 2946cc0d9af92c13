#!/usr/bin/env bash
# Data-parallel testing: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# One process per GPU through torchrun (mmengine's `pytorch` launcher); on a machine without GPUs the
# processes run on CPU over gloo. The environment is read as by tools/dist_train.sh (NNODES,
# MASTER_ADDR, PORT, RDZV_ENDPOINT, RDZV_ID, RDZV_BACKEND, NODE_RANK, MMSEG_DILATED_PG_TIMEOUT,
# TORCHRUN_ARGS, PYTHON); a test is not restarted.
set -u
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
RDZV_ENDPOINT=${RDZV_ENDPOINT:-"$MASTER_ADDR:$PORT"}
RDZV_ID=${RDZV_ID:-mmseg_dilated}
RDZV_BACKEND=${RDZV_BACKEND:-c10d}
PYTHON=${PYTHON:-python}
export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=${TORCH_DISABLE_SHARE_RDZV_TCP_STORE:-1}

if [ "$RDZV_BACKEND" = static ]; then
    RDZV=(--rdzv-backend static --node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR" \
        --master-port "$PORT")
else
    RDZV=(--rdzv-backend "$RDZV_BACKEND" --rdzv-endpoint "$RDZV_ENDPOINT" --rdzv-id "$RDZV_ID")
fi

# shellcheck disable=SC2086  # TORCHRUN_ARGS is a list of options
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes "$NNODES" \
    --nproc-per-node "$GPUS" \
    "${RDZV[@]}" \
    ${TORCHRUN_ARGS:-} \
    -m mmseg_dilated.cli.test \
    "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
