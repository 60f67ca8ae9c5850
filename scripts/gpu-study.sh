#!/usr/bin/env bash
# The hierarchy grid on the full CIFAR-10 training set, sized to fit one call on one GPU:
#
#   scripts/gpu-study.sh          (run on a machine with an NVIDIA GPU and PyTorch 2.11)
#
# Trains one seed of every condition of configs/study/gpu-hierarchy-cifar10-resnet18.toml
# (CE, MSE, HXE 0.1/0.3/0.6, soft labels 4/10/30) as whole runs within BUDGET_S seconds:
# 1. picks the seed: the first one with no results in RESULTS yet (or SEED);
# 2. measures a training step of ResNet18 with JOBS runs at once on the GPU (bench_step epoch
#    mode on 100 batches, the trainer's own epoch loop) at width 64, then 32, then 16, and
#    keeps the widest for which every condition gets at least 60 epochs in the budget
#    (rounds of JOBS runs; each run E epochs * step time * 391 steps * (1 + ANALYSIS_SHARE)
#    + START_S); E is the largest multiple of 3 that fits, at most MAX_EPOCHS;
# 3. writes that grid (width, epochs, seed) beside the runs and trains it with `nclab sweep`
#    (JOBS cells at once), stopped at BUDGET_S + 60 s at the latest;
# 4. copies each run's small files (config.toml, metrics.csv, metrics.jsonl, summary.json,
#    train.log) into RESULTS/<cell>/, and the sizing and the sweep's table into
#    RESULTS/seed<N>.log. final.safetensors stays in RUNS (100 MB a run at width 64).
#
# Needs no Rust toolchain: NCLAB_BIN (target/release) holds nclab, nclab-train and
# examples/bench_step; libtorch comes from PYTHON's (python3) PyTorch; CIFAR-10 from
# $NCLAB_DATA/cifar10. Knobs: BUDGET_S (420), JOBS (8), SEED, MAX_EPOCHS (350), GRID,
# ANALYSIS_SHARE (0.15), START_S (20), RESULTS (results/gpu-hierarchy-cifar10-resnet18),
# RUNS (runs/gpu-hierarchy-cifar10-resnet18).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=${NCLAB_BIN:-target/release}
PYTHON=${PYTHON:-python3}
export NCLAB_DATA=${NCLAB_DATA:-data}
BUDGET_S=${BUDGET_S:-420}
MAX_EPOCHS=${MAX_EPOCHS:-350}
ANALYSIS_SHARE=${ANALYSIS_SHARE:-0.15}
START_S=${START_S:-20}
RESULTS=${RESULTS:-results/gpu-hierarchy-cifar10-resnet18}
RUNS=${RUNS:-runs/gpu-hierarchy-cifar10-resnet18}
GRID=${GRID:-configs/study/gpu-hierarchy-cifar10-resnet18.toml}
started=$(date +%s)

for b in nclab nclab-train examples/bench_step; do
    [[ -x "$BIN/$b" ]] || { echo "gpu-study: $BIN/$b not found (set NCLAB_BIN)" >&2; exit 1; }
done
[[ -f "$NCLAB_DATA/cifar10/data_batch_1.bin" || -f "$NCLAB_DATA/cifar10/cifar-10-batches-bin/data_batch_1.bin" ]] \
    || { echo "gpu-study: CIFAR-10 not found under $NCLAB_DATA/cifar10" >&2; exit 1; }
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
    || { echo "gpu-study: $PYTHON cannot import torch" >&2; exit 1; }
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

conditions=$(grep -c '^\[\[variants.loss\]\]' "$GRID")
JOBS=${JOBS:-$conditions}
rounds=$(( (conditions + JOBS - 1) / JOBS ))
seed=${SEED:-0}
while [[ -z "${SEED:-}" && -e "$RESULTS/loss=ce_seed=$seed/summary.json" ]]; do seed=$((seed + 1)); done
mkdir -p "$RESULTS" "$RUNS"
log="$RESULTS/seed$seed.log"
say() { echo "$*" | tee -a "$log"; }
: >"$log"
say "gpu-study: seed $seed, $conditions conditions, $JOBS runs at once ($rounds round(s)), budget $BUDGET_S s"
say "machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); $("$PYTHON" -c 'import torch; print("PyTorch", torch.__version__)')"

# ms per step of JOBS runs at once at width W (median over the runs): 100 steps, after 100 warm-up steps.
step_ms() {
    local w=$1 dir i pids=()
    dir=$(mktemp -d)
    for ((i = 0; i < JOBS; i++)); do
        "$BIN/examples/bench_step" resnet18 --width "$w" --epoch 12800 --epochs 2 --batch 128 \
            --device cuda --precision bf16 --channels-last >"$dir/$i" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    cat "$dir"/* >>"$log"
    sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$dir"/* | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'
    rm -rf "$dir"
}

width="" epochs=0
for w in 64 32 16; do
    ms=$(step_ms "$w")
    [[ -n "$ms" ]] || { say "gpu-study: the step probe at width $w failed"; exit 1; }
    left=$(( BUDGET_S - ($(date +%s) - started) ))
    epochs=$(awk -v left="$left" -v r="$rounds" -v ms="$ms" -v a="$ANALYSIS_SHARE" -v s0="$START_S" -v cap="$MAX_EPOCHS" 'BEGIN {
        e = int((left / r - s0) / (ms / 1000 * 391 * (1 + a))); e -= e % 3; if (e > cap) e = cap - cap % 3; print e }')
    say "width $w: $ms ms a step with $JOBS at once -> $epochs epochs fit in the $left s left"
    if (( epochs >= 60 )); then width=$w; break; fi
done
[[ -n "$width" ]] || { say "gpu-study: not even width 16 fits 60 epochs in $BUDGET_S s; give it more time"; exit 1; }

grid="$RUNS/grid-seed$seed.toml"
sed -e "s|^base = \"\\.\\./|base = \"$REPO/configs/|" -e "s|^width = .*|width = $width|" \
    -e "s|^epochs = [0-9][0-9]*$|epochs = $epochs|" -e "s|^seed = \\[.*\\]|seed = [$seed]|" "$GRID" >"$grid"
say "grid: $grid (width $width, $epochs epochs, decays at $((epochs / 3)) and $((2 * epochs / 3)), seed $seed)"

left=$(( BUDGET_S - ($(date +%s) - started) + 60 ))
timeout --kill-after=10 "$left" "$BIN/nclab" sweep "$grid" --out "$RUNS" --jobs "$JOBS" 2>&1 | tee -a "$log"
sweep_status=${PIPESTATUS[0]}
pkill -f nclab-train 2>/dev/null
[[ $sweep_status -eq 124 || $sweep_status -eq 137 ]] && say "gpu-study: the sweep ran past the budget and was stopped; unfinished runs keep their rows so far"

for d in "$RUNS"/loss=*_seed="$seed"; do
    [[ -d "$d" ]] || continue
    dst="$RESULTS/$(basename "$d")"
    mkdir -p "$dst"
    for f in config.toml metrics.csv metrics.jsonl summary.json train.log; do
        [[ -f "$d/$f" ]] && cp "$d/$f" "$dst/"
    done
done
say "gpu-study: results of seed $seed in $RESULTS ($(( $(date +%s) - started )) s in all)"
exit "$sweep_status"
