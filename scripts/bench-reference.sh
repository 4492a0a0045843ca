#!/usr/bin/env bash
# Times our network and training iteration against flyvis 1.2.0 (PyTorch, CPU) on this
# machine, in one run, and prints the speedups as machine-readable lines:
#   network speedup: X      (forward + backward of 40 frames, batch 4)
#   iteration speedup: Y    (a whole training iteration: steady state, forward, decoder,
#                            loss, backward with the penalty lane, Adam, penalty step)
# both for our binary with $THREADS threads, plus the 1-thread figures for comparison.
# The PyTorch side runs in its own virtualenv (.venv-bench), created on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${THREADS:-$(nproc)}"
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
