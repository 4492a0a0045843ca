#!/usr/bin/env bash
# Times our network and training iteration against flyvis 1.2.0 (PyTorch, CPU) on this
# machine, in one run, and prints the speedups as machine-readable lines:
#   network speedup: X      (forward + backward of 40 frames, batch 4)
#   iteration speedup: Y    (a whole training iteration from the epoch's steady state:
#                            forward, decoder, loss, backward with the penalty lane, Adam,
#                            penalty step; the steady state is timed apart, once per epoch
#                            in flyvis's solver and ours, as the PyTorch side does)
#   training speedup: Z     (end to end: flyvis's train_single against our train-single on
#                            a mock Sintel, seconds per iteration from time_trained.h5)
#   responses speedup (1 thread vs PyTorch N threads): R   (flyvis's stimulus_response on
#                            the reference moving edges, rendering cached on both sides)
#   stimulus rendering speedup: S   (one angle-intensity set of moving edges, from scratch)
#   node throughput (K ranks): P % of solo   (K single-thread training processes at once,
#                            each against one alone: shared L3 cache and memory bandwidth;
#                            K = $CONCURRENT, default nproc, skipped when 1)
# each for our binary with $THREADS threads, plus the 1-thread figures for comparison, and
# the phases, GFLOP/s and fraction of the FMA peak that `bench` reports.
# The PyTorch side runs in its own virtualenv (.venv-bench), created on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${THREADS:-$(nproc)}"
CONCURRENT="${CONCURRENT:-$(nproc)}"
REPS="${REPS:-5}"
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

if [[ ! -x .venv-bench/bin/python ]] || ! .venv-bench/bin/python -c "import flyvis" 2>/dev/null; then
  echo "bench: installing flyvis==1.2.0 and torch into .venv-bench (first run only)"
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q flyvis==1.2.0
fi
swift build -c release --product flyvis-ensemble >/dev/null
BIN="$(swift build -c release --show-bin-path)/flyvis-ensemble"

export FLYVIS_ROOT_DIR="${FLYVIS_ROOT_DIR:-$PWD/.bench-root}"
mkdir -p "$FLYVIS_ROOT_DIR"
echo "== PyTorch reference (flyvis 1.2.0, $THREADS threads)"
torch_out=$(.venv-bench/bin/python scripts/bench_reference.py --threads "$THREADS" --reps "$REPS" 2>/dev/null | grep '^pytorch')
echo "$torch_out"
echo "== flyvis-swift, 1 thread"
ours1=$("$BIN" bench --threads 1 --repetitions "$REPS")
echo "$ours1"
echo "== flyvis-swift, $THREADS threads"
oursN=$("$BIN" bench --threads "$THREADS" --repetitions "$REPS")
echo "$oursN"
if ((CONCURRENT > 1)); then
  echo "== flyvis-swift, node throughput: $CONCURRENT single-thread ranks at once against one alone"
  "$BIN" bench --concurrent "$CONCURRENT"
fi

value() { echo "$1" | awk -v k="$2" -F': ' '$1 ~ k {print $2}' | head -1; }
t_net=$(value "$torch_out" "network_fwd_bwd_ms")
o_net=$(value "$oursN" "network_fwd_bwd_ms")
o_net1=$(value "$ours1" "network_fwd_bwd_ms")
echo "network speedup (1 thread vs PyTorch $THREADS threads): $(awk -v a="$t_net" -v b="$o_net1" 'BEGIN{printf "%.1f", a/b}')"
echo "network speedup: $(awk -v a="$t_net" -v b="$o_net" 'BEGIN{printf "%.1f", a/b}')"
t_it=$(value "$torch_out" "iteration_ms")
o_it=$(value "$oursN" "iteration_ms")
if [[ -n "$o_it" ]]; then
  o_it1=$(value "$ours1" "iteration_ms")
  echo "iteration speedup (1 thread vs PyTorch $THREADS threads): $(awk -v a="$t_it" -v b="$o_it1" 'BEGIN{printf "%.1f", a/b}')"
  echo "iteration speedup: $(awk -v a="$t_it" -v b="$o_it" 'BEGIN{printf "%.1f", a/b}')"
fi

# End to end: flyvis's own train_single against our train-single on the same mock Sintel (the
# full network, 9-frame sequences, checkpoints and their validation included), compared by
# time_trained.h5 over the iterations trained (loss.h5). Rendering is excluded on both sides.
# TRAIN_ITERS=0 skips it (flyvis needs several minutes for 20 iterations on 2 cores).
TRAIN_ITERS="${TRAIN_ITERS:-20}"
if ((TRAIN_ITERS > 0)); then
  MOCK="$FLYVIS_ROOT_DIR/mock-sintel"
  [[ -d "$MOCK/training/flow" ]] || .venv-bench/bin/python scripts/mock_sintel.py "$MOCK"
  run=(task_name=flow ensemble_and_network_id=0001/000 "task.n_iters=$TRAIN_ITERS" task.original_split=false
       task.n_folds=4 task.fold=1 task.dataset.n_frames=9 delete_if_exists=true)
  work="$FLYVIS_ROOT_DIR/training-bench" PY="$PWD/.venv-bench/bin/python"
  rm -rf "$work" && mkdir -p "$work"
  per_iteration() {  # seconds per trained iteration of the member in results root $1
    .venv-bench/bin/python - "$1/results/flow/0001/000" <<'PY'
import sys, h5py
d = sys.argv[1]
with h5py.File(f"{d}/time_trained.h5") as f: t = float(f["data"][()])
with h5py.File(f"{d}/loss.h5") as f: n = len(f["data"][()])
print(f"{t / n:.4f}")
PY
  }
  echo "== end to end: flyvis train_single ($THREADS threads) vs train-single, $TRAIN_ITERS iterations on a mock Sintel"
  if ! (cd "$work" && FLYVIS_ROOT_DIR="$work/flyvis" OMP_NUM_THREADS="$THREADS" \
        "$PY" -m flyvis_cli.training.train_single "${run[@]}" \
        "+task.dataset.sintel_path=$MOCK" "hydra.run.dir=$work/hydra" >"$work/flyvis.log" 2>&1); then
    echo "bench: flyvis train_single failed; see $work/flyvis.log" >&2; exit 1
  fi
  t_train=$(per_iteration "$work/flyvis")
  for n in 1 "$THREADS"; do
    "$BIN" train-single --root "$work/ours$n" --threads "$n" --no-tuning "${run[@]}" "task.dataset.sintel_path=$MOCK" >"$work/ours$n.log" 2>&1 \
      || { echo "bench: train-single failed; see $work/ours$n.log" >&2; exit 1; }
  done
  o_train1=$(per_iteration "$work/ours1")
  o_trainN=$(per_iteration "$work/ours$THREADS")
  echo "pytorch train_single_s_per_it: $t_train"
  echo "ours train_single_s_per_it (1 thread): $o_train1"
  echo "ours train_single_s_per_it ($THREADS threads): $o_trainN"
  grep -h "Finished training:" "$work/ours1.log" | sed 's/^\[[^]]*\] /ours train_single breakdown (1 thread): /'
  grep -h "peak RSS" "$work/ours1.log" | sed 's/.*peak RSS /ours train_single_peak_rss (1 thread): /'
  echo "training speedup (1 thread vs PyTorch $THREADS threads): $(awk -v a="$t_train" -v b="$o_train1" 'BEGIN{printf "%.1f", a/b}')"
  echo "training speedup: $(awk -v a="$t_train" -v b="$o_trainN" 'BEGIN{printf "%.1f", a/b}')"
fi

# The science readout: flyvis's Network.stimulus_response on the reference file's moving edges
# (4 angles x 2 speeds x 2 intensities, rendering cached on both sides: flyvis reads the stimuli
# from the file, we from our cache), and the rendering of one angle-intensity set of the default
# moving edges from scratch (flyvis about 2.5 minutes here). RESPONSES=0 skips it.
if ((${RESPONSES:-1})); then
  member=Tests/Fixtures/flyvis-results-e15/flow/9995/000
  echo "== responses: flyvis stimulus_response ($THREADS threads) vs responses (1 thread)"
  torch_resp=$(.venv-bench/bin/python scripts/bench_responses.py --threads "$THREADS" --member "$member" \
    --responses Tests/Fixtures/flyvis-responses-e15.h5 2>/dev/null | grep '^pytorch')
  echo "$torch_resp"
  ours_resp=$("$BIN" bench --workload responses --member "$member" --threads 1 --repetitions "$REPS" \
    --root "$FLYVIS_ROOT_DIR")
  echo "$ours_resp"
  t_resp=$(value "$torch_resp" "pytorch_responses_ms")
  o_resp=$(value "$ours_resp" "responses_ms")
  t_render=$(value "$torch_resp" "pytorch_render_s")
  o_render=$(value "$ours_resp" "render_s")
  echo "responses speedup (1 thread vs PyTorch $THREADS threads): $(awk -v a="$t_resp" -v b="$o_resp" 'BEGIN{printf "%.1f", a/b}')"
  echo "stimulus rendering speedup: $(awk -v a="$t_render" -v b="$o_render" 'BEGIN{printf "%.0f", a/b}')"
fi
