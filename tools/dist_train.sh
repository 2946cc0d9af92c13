#!/usr/bin/env bash
# Data-parallel training: tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# One process per GPU through torchrun (mmengine's `pytorch` launcher); on a machine without GPUs the
# processes run on CPU over gloo. Every node of a multi-node job runs the same command.
#
# Set in the environment (docs/en/user_guides/elastic_and_resume.md):
#   NNODES=1                 nodes taking part
#   MASTER_ADDR=127.0.0.1    node 0's address, where the rendezvous runs
#   PORT=29500               its port
#   RDZV_ENDPOINT            host:port of the rendezvous (default: MASTER_ADDR:PORT)
#   RDZV_ID=mmseg_dilated    the job's name in the rendezvous, the same on every node
#   RDZV_BACKEND=c10d        c10d, or static (then NODE_RANK=0,1,... numbers the nodes); torch
#                            2.13's static rendezvous fails to restart gloo workers
#   MAX_RESTARTS=0           restarts of the worker group after a worker fails; each restarted
#                            worker resumes from the newest checkpoint of the work dir
#   MMSEG_DILATED_PG_TIMEOUT seconds a collective waits for the other processes before it fails
#                            (torch's default: 1800 for gloo, 600 for NCCL)
#   TORCHRUN_ARGS            further torchrun options, e.g. "--monitor-interval 1"
#   PYTHON=python
set -u
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
RDZV_ENDPOINT=${RDZV_ENDPOINT:-"$MASTER_ADDR:$PORT"}
RDZV_ID=${RDZV_ID:-mmseg_dilated}
RDZV_BACKEND=${RDZV_BACKEND:-c10d}
MAX_RESTARTS=${MAX_RESTARTS:-0}
PYTHON=${PYTHON:-python}
# Workers of a restarted group otherwise reuse the agent's store of the failed round and time out
# connecting to each other (gloo's connectFullMesh); with their own store they connect.
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
    --max-restarts "$MAX_RESTARTS" \
    "${RDZV[@]}" \
    ${TORCHRUN_ARGS:-} \
    -m mmseg_dilated.cli.train \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
