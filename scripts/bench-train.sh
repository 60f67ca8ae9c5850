#!/usr/bin/env bash
# Training-step benchmark, nclab (tch) against PyTorch, side by side.
#
# ms per training step (forward + CE loss + backward + SGD step with momentum 0.9 and weight
# decay 5e-4) at batch 128 on a fixed random batch, for
#   mlp        784 -> 1024 -> 1024 -> 1024 -> 10
#   resnet18   width 16 and 64, 3 x 32 x 32 -> 10
# with THREADS intra-op threads (default 2) on the CPU. nclab: crates/nclab/examples/bench_step.rs
# (release build); PyTorch: scripts/bench_train.py with the same models, from the .venv whose
# libtorch nclab links against. The two run in turn (nclab, PyTorch, nclab, ...), ROUNDS times
# per model; each run times STEPS steps after WARMUP warm-up steps and reports its median; the
# table shows the median over rounds of those medians and the ratio nclab / PyTorch.
#
# Environment knobs: ROUNDS (3), THREADS (2), WARMUP (2), STEPS_MLP (30), STEPS_R16 (10),
# STEPS_R64 (4), MODELS ("mlp r16 r64"), PYTHON (.venv/bin/python), BENCH_DEVICE (cpu),
# NCLAB_MODE (fresh: Sgd::backward_step, gradients returned by autograd as PyTorch's
# zero_grad(set_to_none=True) does; accumulate: zero_grad + backward + step into .grad).
# Both processes use the same libtorch (and OpenMP runtime) from the venv. On a machine that
# other jobs share, 2-thread timings swing widely (OpenMP threads wait on each other when a
# core is taken); rounds in turn keep the comparison fair, the min column shows the spread.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2}
MODELS=${MODELS:-"mlp r16 r64"}
PYTHON=${PYTHON:-.venv/bin/python}
DEVICE=${BENCH_DEVICE:-cpu}
MODE=${NCLAB_MODE:-fresh}
export LIBTORCH=${LIBTORCH:-$PWD/.libtorch}

[[ -x "$PYTHON" ]] || { echo "bench-train: $PYTHON not found (run 'make setup')" >&2; exit 1; }
cargo build --release --quiet -p nclab --example bench_step
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_step"
[[ -x "$BIN" ]] || { echo "bench-train: $BIN was not built" >&2; exit 1; }

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# the median_ms=... and min_ms=... fields of a bench line
field() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'; }
minfield() { sed -n 's/.*min_ms=\([0-9.]*\).*/\1/p'; }

declare -A ROW
for m in $MODELS; do
    case $m in
        mlp) args=(mlp); steps=${STEPS_MLP:-30}; label="mlp 3x1024" ;;
        r16) args=(resnet18 --width 16); steps=${STEPS_R16:-10}; label="resnet18 w16" ;;
        r64) args=(resnet18 --width 64); steps=${STEPS_R64:-4}; label="resnet18 w64" ;;
        *) echo "bench-train: unknown model $m (mlp, r16, r64)" >&2; exit 1 ;;
    esac
    common=(--steps "$steps" --warmup "$WARMUP" --threads "$THREADS" --device "$DEVICE" --batch 128)
    ours=() theirs=() ours_min=() theirs_min=()
    for ((r = 1; r <= ROUNDS; r++)); do
        line=$("$BIN" "${args[@]}" "${common[@]}" --mode "$MODE"); echo "  $line" >&2; ours+=("$(field <<<"$line")"); ours_min+=("$(minfield <<<"$line")")
        line=$("$PYTHON" scripts/bench_train.py "${args[@]}" "${common[@]}"); echo "  $line" >&2; theirs+=("$(field <<<"$line")"); theirs_min+=("$(minfield <<<"$line")")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    amin=$(printf '%s\n' "${ours_min[@]}" | sort -g | head -1)
    bmin=$(printf '%s\n' "${theirs_min[@]}" | sort -g | head -1)
    ROW[$m]=$(awk -v l="$label" -v a="$a" -v b="$b" -v am="$amin" -v bm="$bmin" -v s="$steps" -v r="$ROUNDS" \
        'BEGIN {printf "| %-13s | %10.1f | %10.1f | %6.3f | %8.1f | %8.1f | %6.3f | %2d x %-3d |", l, a, b, a / b, am, bm, am / bm, r, s}')
done

echo
echo "Training step at batch 128, $THREADS threads, device $DEVICE, nclab mode $MODE"
echo "(median: over rounds of per-run medians; min: fastest single step)"
echo "| model         | nclab (ms) | torch (ms) | ratio  | nclab min | torch min | ratio  | rounds x steps |"
echo "|---------------|-----------:|-----------:|-------:|---------:|---------:|-------:|----------|"
for m in $MODELS; do echo "${ROW[$m]}"; done
