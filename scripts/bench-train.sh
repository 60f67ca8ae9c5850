#!/usr/bin/env bash
# Training-step benchmark, nclab (tch) against PyTorch, side by side.
#
# ms per training step (forward + CE loss + backward + SGD step with momentum 0.9 and weight
# decay 5e-4) at batch 128 on a fixed random batch, for
#   mlp        784 -> 1024 -> 1024 -> 1024 -> 10
#   resnet18   width 16 and 64, 3 x 32 x 32 -> 10
# with THREADS intra-op threads (default 2) on the CPU. nclab: crates/nclab-train/examples/bench_step.rs
# (release build); PyTorch: scripts/bench_train.py with the same models, from the .venv whose
# libtorch nclab links against. The two run in turn (nclab, PyTorch, nclab, ...), ROUNDS times
# per model; each run times STEPS steps after WARMUP warm-up steps and reports the median wall
# time of a step and the process CPU time per step. The ratio nclab / PyTorch is taken per
# round (the two runs of a round are adjacent in time, so a slow drift of the machine's load
# cancels) and its median over rounds is shown, for wall and for CPU time.
#
# Environment knobs: ROUNDS (3), THREADS (2), WARMUP (2), STEPS_MLP (30), STEPS_R16 (10),
# STEPS_R64 (4), MODELS ("mlp r16 r64"), PYTHON (.venv/bin/python), BENCH_DEVICE (cpu),
# NCLAB_MODE (fresh: Sgd::backward_step, gradients returned by autograd as PyTorch's
# zero_grad(set_to_none=True) does; accumulate: zero_grad + backward + step into .grad),
# NCLAB_MALLOC (tuned: nclab_train::malloc::tune_malloc_for_training, for training processes;
# default: glibc's defaults).
# Both processes use the same libtorch (and OpenMP runtime, libgomp) from the venv, with the
# same OMP_WAIT_POLICY, PASSIVE unless set: on a machine that other jobs share, libgomp's
# default spin-waiting makes 2-thread steps swing between 1x and 15x their time (a spinning
# thread waits for a partner whose core is taken); PASSIVE keeps them stable. On a dedicated
# machine set OMP_WAIT_POLICY=ACTIVE. Rounds in turn keep the comparison fair.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2}
MODELS=${MODELS:-"mlp r16 r64"}
PYTHON=${PYTHON:-.venv/bin/python}
DEVICE=${BENCH_DEVICE:-cpu}
MODE=${NCLAB_MODE:-fresh}
MALLOC=${NCLAB_MALLOC:-tuned}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export LIBTORCH=${LIBTORCH:-$PWD/.libtorch}

[[ -x "$PYTHON" ]] || { echo "bench-train: $PYTHON not found (run 'make setup')" >&2; exit 1; }
cargo build --release --quiet -p nclab-train --example bench_step
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_step"
[[ -x "$BIN" ]] || { echo "bench-train: $BIN was not built" >&2; exit 1; }

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# the KEY=... field of a bench line
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

declare -A ROW
for m in $MODELS; do
    case $m in
        mlp) args=(mlp); steps=${STEPS_MLP:-30}; label="mlp 3x1024" ;;
        r16) args=(resnet18 --width 16); steps=${STEPS_R16:-10}; label="resnet18 w16" ;;
        r64) args=(resnet18 --width 64); steps=${STEPS_R64:-4}; label="resnet18 w64" ;;
        *) echo "bench-train: unknown model $m (mlp, r16, r64)" >&2; exit 1 ;;
    esac
    common=(--steps "$steps" --warmup "$WARMUP" --threads "$THREADS" --device "$DEVICE" --batch 128)
    ours=() theirs=() ratios=() ours_cpu=() theirs_cpu=() cpu_ratios=()
    for ((r = 1; r <= ROUNDS; r++)); do
        a=$("$BIN" "${args[@]}" "${common[@]}" --mode "$MODE" --malloc "$MALLOC"); echo "  $a" >&2
        b=$("$PYTHON" scripts/bench_train.py "${args[@]}" "${common[@]}"); echo "  $b" >&2
        ours+=("$(field median_ms <<<"$a")"); theirs+=("$(field median_ms <<<"$b")")
        ours_cpu+=("$(field cpu_ms <<<"$a")"); theirs_cpu+=("$(field cpu_ms <<<"$b")")
        ratios+=("$(awk -v x="${ours[-1]}" -v y="${theirs[-1]}" 'BEGIN {print x / y}')")
        cpu_ratios+=("$(awk -v x="${ours_cpu[-1]}" -v y="${theirs_cpu[-1]}" 'BEGIN {print x / y}')")
    done
    med() { printf '%s\n' "$@" | median; }
    ROW[$m]=$(awk -v l="$label" -v a="$(med "${ours[@]}")" -v b="$(med "${theirs[@]}")" \
        -v r="$(med "${ratios[@]}")" -v ac="$(med "${ours_cpu[@]}")" -v bc="$(med "${theirs_cpu[@]}")" \
        -v rc="$(med "${cpu_ratios[@]}")" -v s="$steps" -v n="$ROUNDS" \
        'BEGIN {printf "| %-13s | %9.1f | %9.1f | %6.3f | %9.1f | %9.1f | %6.3f | %2d x %-3d |", l, a, b, r, ac, bc, rc, n, s}')
done

echo
echo "Training step at batch 128, $THREADS threads, device $DEVICE, nclab mode $MODE, nclab malloc $MALLOC, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo "(wall: median over rounds of each run's median step; ratio: median over rounds of the"
echo " round's nclab/torch; cpu: process CPU time per step, median over rounds, and its ratio)"
echo "| model         | nclab wall ms | torch wall ms | ratio | nclab cpu ms | torch cpu ms | cpu ratio | rounds x steps |" | sed 's/ wall ms/ wall/g; s/ cpu ms/ cpu/g'
echo "|---------------|----------:|----------:|-------:|----------:|----------:|-------:|----------|"
for m in $MODELS; do echo "${ROW[$m]}"; done
