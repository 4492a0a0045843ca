#!/usr/bin/env bash
# Runs set-up, then the whole test suite in an optimised test build, including the
# multi-rank tests that launch real `mpirun` jobs, then reads a results directory with h5py.
# This is exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
# OpenMPI refuses to start as root unless told; CI runs as root in a container.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

echo "test: every import declared in Package.swift, no @_exported"
python3 scripts/check_imports.py

echo "test: swift format lint"
swift format lint --strict --recursive Sources Tests Package.swift

echo "test: swift test (release, testable)"
swift test -c release -Xswiftc -enable-testing

echo "test: results directory readable by h5py"
BIN="$(swift build -c release --show-bin-path)/flyvis-ensemble"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$BIN" train-single --root "$TMP" task_name=flow ensemble_and_network_id=0001/000 network.connectome.extent=4 \
  task.dataset.boxfilter.extent=4 task.dataset.builtin.scenes=8 task.batch_size=2 task.n_iters=9 2>/dev/null
PY="$(command -v python3 || true)"
[[ -n "$PY" ]] || { echo "test: FAILED: no python3 for the h5py check; fix: apt-get install python3 python3-pip" >&2; exit 1; }
if ! "$PY" -c "import h5py, yaml" 2>/dev/null; then
  "$PY" -m pip install --quiet h5py pyyaml \
    || { echo "test: FAILED: could not install h5py and pyyaml with pip (see above)" >&2; exit 1; }
fi
"$PY" scripts/check_h5py.py "$TMP/results/flow/0001/000"
echo "test: our checkpoint has every key, dtype and shape flyvis loads (no torch)"
"$PY" scripts/check_flyvis_checkpoint.py "$TMP/results/flow/0001/000/chkpts/chkpt_00001" \
  Tests/Fixtures/flyvis-results/flow/9998/000/chkpts/chkpt_00004
echo "test: tuning indices in numpy against flyvis's own analysis, and the responses checker's tests"
"$PY" scripts/check_responses.py --reference Tests/Fixtures/flyvis-responses-e15.h5
"$PY" scripts/test_check_responses.py --reference Tests/Fixtures/flyvis-responses-e15.h5

echo "test: the README's main job (4 members on 2 ranks) with its tuning readout, then responses under mpirun -n 2"
MAIN=(--ensemble-id 1 --start 0 --end 4 --root "$TMP" network.connectome.extent=8 task.dataset.boxfilter.extent=8
      task.dataset.builtin.scenes=12 task.n_iters=150 scheduler.chkpt_every_epoch=4 scheduler.lr_dec.start=1e-2)
mpirun -n 2 "$BIN" "${MAIN[@]}" >"$TMP/main-job.log" 2>&1 \
  || { tail -40 "$TMP/main-job.log" >&2; echo "test: FAILED: the main job" >&2; exit 1; }
ENS="$TMP/results/flow/0001"
for m in 000 001 002 003; do
  [[ -f "$ENS/$m/tuning.h5" ]] || { echo "test: FAILED: member $m has no tuning readout" >&2; exit 1; }
done
[[ -f "$ENS/responses/tuning.h5" ]] || { echo "test: FAILED: the job did not gather the tuning readouts" >&2; exit 1; }
grep -q 'id="fri-strip"' "$ENS/ensemble_report.html" \
  || { echo "test: FAILED: the report has no tuning section" >&2; exit 1; }
# All 12 angles and both intensities; the two fastest speeds keep CI's files small.
mpirun -n 2 "$BIN" responses "$ENS" --speeds 19,25 --progress-interval 10
"$PY" scripts/check_responses.py "$ENS" --members 000,001,002,003

if [[ -f scripts/test-slurm.sh ]]; then
  echo "test: SLURM scripts on a one-node cluster"
  bash scripts/test-slurm.sh
fi

echo "test: all tests passed"
