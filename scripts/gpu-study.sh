#!/usr/bin/env bash
# The hierarchy grid on the full CIFAR-10 training set, one round of runs per call on one GPU:
#
#   scripts/gpu-study.sh          (run on a machine with an NVIDIA GPU and PyTorch 2.11)
#
# The conditions of configs/study/gpu-hierarchy-cifar10-resnet18.toml (CE, MSE, HXE
# 0.1/0.3/0.6, soft labels 4/10/30), seed after seed. Each call trains the next JOBS (8) runs
# that have no finished result in RESULTS yet (seed 0's conditions first, then seed 1's, ...),
# all at once on the GPU, as whole runs within BUDGET_S seconds:
# 1. The study's size is fixed by its first call and kept in RESULTS/sizing.txt, so that
#    every seed trains the same network for the same epochs: the first call measures a
#    training step of ResNet18 with JOBS runs at once (bench_step epoch mode, 100 batches, the
#    trainer's own epoch loop; the slowest of the runs) at width 64, then 32, then 16, and
#    keeps the widest at which a run gets at least 60 epochs within the budget (E epochs *
#    step time * 391 steps * (1 + ANALYSIS_SHARE) + START_S); E is the largest multiple of 3
#    that fits, at most MAX_EPOCHS. A later call measures its step at the kept width and
#    trains fewer runs at once if a round would not fit.
# 2. For each seed among the runs to train, a grid (that seed, those conditions, the kept
#    width and epochs) in RUNS, trained by `nclab sweep`, the sweeps side by side; all are
#    stopped at BUDGET_S + 60 s at the latest.
# 3. Each run's small files (config.toml, metrics.csv, metrics.jsonl, summary.json, train.log)
#    are copied into RESULTS/<cell>/, the call's log into RESULTS/calls.log.
#    final.safetensors stays in RUNS (100 MB a run at width 64).
# (The first call, before this scheme, sized on the median run's step and ran 7% over its
# budget: the runs of a sweep also share the GPU with each other's analyses.)
#
# Needs no Rust toolchain: NCLAB_BIN (target/release) holds nclab, nclab-train and
# examples/bench_step; libtorch comes from PYTHON's (python3) PyTorch; CIFAR-10 from
# $NCLAB_DATA/cifar10. Knobs: BUDGET_S (420), JOBS (8), MAX_EPOCHS (350), ANALYSIS_SHARE
# (0.15), START_S (20), GRID, RESULTS (results/gpu-hierarchy-cifar10-resnet18),
# RUNS (runs/gpu-hierarchy-cifar10-resnet18).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=${NCLAB_BIN:-target/release}
PYTHON=${PYTHON:-python3}
export NCLAB_DATA=${NCLAB_DATA:-data}
BUDGET_S=${BUDGET_S:-420}
JOBS=${JOBS:-8}
MAX_EPOCHS=${MAX_EPOCHS:-350}
ANALYSIS_SHARE=${ANALYSIS_SHARE:-0.15}
START_S=${START_S:-20}
GRID=${GRID:-configs/study/gpu-hierarchy-cifar10-resnet18.toml}
RESULTS=${RESULTS:-results/gpu-hierarchy-cifar10-resnet18}
RUNS=${RUNS:-runs/gpu-hierarchy-cifar10-resnet18}
started=$(date +%s)
left() { echo $(( BUDGET_S - ($(date +%s) - started) )); }

for b in nclab nclab-train examples/bench_step; do
    [[ -x "$BIN/$b" ]] || { echo "gpu-study: $BIN/$b not found (set NCLAB_BIN)" >&2; exit 1; }
done
[[ -f "$NCLAB_DATA/cifar10/data_batch_1.bin" || -f "$NCLAB_DATA/cifar10/cifar-10-batches-bin/data_batch_1.bin" ]] \
    || { echo "gpu-study: CIFAR-10 not found under $NCLAB_DATA/cifar10" >&2; exit 1; }
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
    || { echo "gpu-study: $PYTHON cannot import torch" >&2; exit 1; }
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$RESULTS" "$RUNS"
log="$RESULTS/calls.log"
say() { echo "$*" | tee -a "$log"; }

# The next JOBS (seed, condition) pairs without a finished run, as "seed label" lines.
labels=$(sed -n 's/^label = "\(.*\)"$/\1/p' "$GRID")
todo=$(for ((seed = 0; seed < 1000; seed++)); do
    for l in $labels; do
        grep -qs '"status": "finished"' "$RESULTS/loss=${l}_seed=$seed/summary.json" || echo "$seed $l"
    done
done | head -n "$JOBS")
n=$(wc -l <<<"$todo")
say "gpu-study call of $(date -u +%FT%TZ): $n run(s) to train: $(tr '\n' ',' <<<"$todo" | sed 's/,$//; s/,/, /g')"
say "machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); $("$PYTHON" -c 'import torch; print("PyTorch", torch.__version__)')"

# ms per step of N runs at once at width W: the slowest run's, 100 steps after 100 warm-up steps.
step_ms() {
    local w=$1 n=$2 dir i pids=()
    dir=$(mktemp -d)
    for ((i = 0; i < n; i++)); do
        "$BIN/examples/bench_step" resnet18 --width "$w" --epoch 12800 --epochs 2 --batch 128 \
            --device cuda --precision bf16 --channels-last >"$dir/$i" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    cat "$dir"/* >>"$log"
    sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$dir"/* | sort -g | tail -1
    rm -rf "$dir"
}
# epochs that fit: EPOCHS_FIT MS SECONDS (a multiple of 3, at most MAX_EPOCHS)
epochs_fit() {
    awk -v ms="$1" -v left="$2" -v a="$ANALYSIS_SHARE" -v s0="$START_S" -v cap="$MAX_EPOCHS" 'BEGIN {
        e = int((left - s0) / (ms / 1000 * 391 * (1 + a))); e -= e % 3; if (e > cap) e = cap - cap % 3; print e }'
}

sizing="$RESULTS/sizing.txt"
if [[ -f "$sizing" ]]; then
    width=$(sed -n 's/^width \([0-9]*\)$/\1/p' "$sizing")
    epochs=$(sed -n 's/^epochs \([0-9]*\)$/\1/p' "$sizing")
    say "study size (from $sizing): width $width, $epochs epochs"
    while ((n > 0)); do
        ms=$(step_ms "$width" "$n")
        fit=$(epochs_fit "${ms:-1e9}" "$(left)")
        say "width $width: $ms ms a step with $n at once -> $fit epochs fit in the $(left) s left"
        ((fit >= epochs)) && break
        n=$((n - 1))
    done
    ((n > 0)) || { say "gpu-study: not one run of $epochs epochs fits in $BUDGET_S s"; exit 1; }
    todo=$(head -n "$n" <<<"$todo")
else
    width=""
    for w in 64 32 16; do
        ms=$(step_ms "$w" "$n")
        [[ -n "$ms" ]] || { say "gpu-study: the step probe at width $w failed"; exit 1; }
        epochs=$(epochs_fit "$ms" "$(left)")
        say "width $w: $ms ms a step with $n at once -> $epochs epochs fit in the $(left) s left"
        if ((epochs >= 60)); then width=$w; break; fi
    done
    [[ -n "$width" ]] || { say "gpu-study: not even width 16 fits 60 epochs in $BUDGET_S s"; exit 1; }
    printf 'width %s\nepochs %s\n' "$width" "$epochs" >"$sizing"
    say "study size: width $width, $epochs epochs (decays at $((epochs / 3)) and $((2 * epochs / 3))), kept in $sizing"
fi

# One grid per seed: that seed, its conditions to train, the study's width and epochs.
pids=()
for seed in $(cut -d' ' -f1 <<<"$todo" | sort -un); do
    want=" $(awk -v s="$seed" '$1 == s {print $2}' <<<"$todo" | tr '\n' ' ')"
    count=$(wc -w <<<"$want")
    grid="$RUNS/grid-seed$seed.toml"
    sed -e "s|^base = \"\\.\\./|base = \"$REPO/configs/|" -e "s|^width = .*|width = $width|" \
        -e "s|^epochs = [0-9][0-9]*$|epochs = $epochs|" -e "s|^seed = \\[.*\\]|seed = [$seed]|" "$GRID" |
        awk -v want="$want" '
            function flush() { if (inblock && index(want, " " label " ")) printf "%s", block; block = ""; label = "" }
            /^\[\[variants.loss\]\]/ { flush(); inblock = 1; block = $0 "\n"; next }
            inblock { block = block $0 "\n"; if ($0 ~ /^label = /) { split($0, q, "\""); label = q[2] }; next }
            { print }
            END { flush() }' >"$grid"
    say "seed $seed: $count run(s):$want-> $grid"
    timeout --kill-after=10 $(( $(left) + 60 )) "$BIN/nclab" sweep "$grid" --out "$RUNS" --jobs "$count" \
        >"$RUNS/sweep-seed$seed.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
pkill -f nclab-train 2>/dev/null
cat "$RUNS"/sweep-seed*.log >>"$log"
grep -h -E "^(cell|loss=|throughput)" "$RUNS"/sweep-seed*.log
[[ $status -eq 124 || $status -eq 137 ]] && say "gpu-study: a sweep ran past the budget and was stopped; unfinished runs keep their rows so far"

while read -r seed l; do
    d="$RUNS/loss=${l}_seed=$seed"
    [[ -d "$d" ]] || continue
    dst="$RESULTS/$(basename "$d")"
    mkdir -p "$dst"
    for f in config.toml metrics.csv metrics.jsonl summary.json train.log; do
        [[ -f "$d/$f" ]] && cp "$d/$f" "$dst/"
    done
done <<<"$todo"
rm -f "$RUNS"/sweep-seed*.log
say "gpu-study: results in $RESULTS ($(( $(date +%s) - started )) s in all)"
exit "$status"
