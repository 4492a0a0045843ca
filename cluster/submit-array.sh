#!/usr/bin/env bash
# Submits one array job (one member per task) and a summary job that runs after it.
#   ENSEMBLE_ID=45 START=0 END=50 OVERRIDES="task.n_iters=250000" bash cluster/submit-array.sh [extra sbatch args]
set -euo pipefail
cd "$(dirname "$0")/.."
START="${START:-0}"; END="${END:-50}"
array=$(sbatch --parsable --export=ALL --array="$START-$((END - 1))" "$@" cluster/flyvis-array.sbatch)
# SUMMARY_SBATCH_ARGS: extra sbatch arguments for the summary job only (e.g. -o DIR/summary-%j.out).
summary=$(sbatch --parsable --export=ALL --dependency=afterany:"${array%%;*}" ${SUMMARY_SBATCH_ARGS:-} cluster/flyvis-summary.sbatch)
echo "submitted array job ${array%%;*} and summary job ${summary%%;*}"
