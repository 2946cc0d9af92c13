#!/usr/bin/env bash
# Data-parallel training on a Slurm cluster, one task per GPU (mmengine's `slurm` launcher, NCCL).
#
# From a login node (srun allocates the job):
#   [GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="..."] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
# As a batch job that survives preemption and its time limit (requeued, then resumed):
#   sbatch --partition=PARTITION --job-name=JOB_NAME --nodes=2 --ntasks-per-node=8 \
#       --gres=gpu:8 --cpus-per-task=5 --time=24:00:00 --requeue --signal=USR1@120 \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
#   (inside the job srun takes the job's tasks: GPUS, GPUS_PER_NODE, PARTITION are the job's)
#
# Preemption (docs/en/user_guides/long_runs.md): slurm sends SIGTERM when it preempts the job or
# the time limit comes, and with --signal=USR1@120 SIGUSR1 120 s before the time limit. The
# training then finishes its iteration, writes a checkpoint and exits with status 75
# (mmseg_dilated/engine/preemption_hook.py). This script passes the signal on to srun when only
# the batch shell got it (--signal=B:USR1@120), and on status 75 it requeues the job
# (`scontrol requeue $SLURM_JOB_ID`; the job needs --requeue, or the cluster's JobRequeue=1). A
# requeued job (SLURM_RESTART_COUNT > 0) trains with --resume, from the newest readable checkpoint
# of the work dir. Outside a batch job there is nothing to requeue: it prints the command that
# resumes and exits with 75.
#
# Not run on a cluster here (no slurm on the test machines): tests/test_engine/test_preemption.py
# runs this script against stand-ins for srun and scontrol.
set -uo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SIGNAL_LEAD=${SIGNAL_LEAD:-120}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
PREEMPTED=75

ARGS=("$@")
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] && [[ " ${ARGS[*]} " != *" --resume "* ]]; then
    echo "slurm_train.sh: restart ${SLURM_RESTART_COUNT} of job ${SLURM_JOB_ID:-?}: resuming."
    ARGS+=(--resume)
fi

if [ -n "${SLURM_JOB_ID:-}" ]; then
    # inside an allocation (sbatch, salloc): a job step on the job's own tasks
    SRUN=(srun --kill-on-bad-exit=1)
else
    SRUN=(srun --partition="$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE"
        --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK"
        --kill-on-bad-exit=1 --signal=USR1@"$SIGNAL_LEAD")
fi

SIGNALLED=""
SRUN_PID=""
forward() {
    SIGNALLED=$1
    if [ -n "$SRUN_PID" ]; then kill -s "$1" "$SRUN_PID" 2>/dev/null; fi
}
trap 'forward TERM' TERM
trap 'forward USR1' USR1

# srun in the background, so that a signal to this shell is handled (and passed on) at once
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"${SRUN[@]}" $SRUN_ARGS \
    "$PYTHON" -u -m mmseg_dilated.cli.train "$CONFIG" --launcher slurm "${ARGS[@]}" &
SRUN_PID=$!
while true; do
    wait "$SRUN_PID"
    STATUS=$?
    kill -0 "$SRUN_PID" 2>/dev/null || break # otherwise a trapped signal ended the wait
done

# 75: the training wrote its checkpoint and asks to be resumed. A task killed by a signal after a
# signal reached this shell (srun --kill-on-bad-exit ending the last tasks) counts as preempted
# too: --resume falls back to the newest readable checkpoint.
if [ "$STATUS" -eq "$PREEMPTED" ] || { [ -n "$SIGNALLED" ] && [ "$STATUS" -gt 128 ]; }; then
    if [ -n "${SLURM_JOB_ID:-}" ] && scontrol requeue "$SLURM_JOB_ID"; then
        echo "slurm_train.sh: preempted; job $SLURM_JOB_ID is requeued and resumes when it" \
            "starts again."
    else
        RESUME=("${ARGS[@]}")
        [[ " ${ARGS[*]} " == *" --resume "* ]] || RESUME+=(--resume)
        echo "slurm_train.sh: preempted (status $STATUS); no batch job to requeue. Resume with:" \
            "bash $0 $PARTITION $JOB_NAME $CONFIG ${RESUME[*]}"
    fi
    exit "$PREEMPTED"
fi
exit "$STATUS"
