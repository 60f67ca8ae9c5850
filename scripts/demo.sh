#!/usr/bin/env bash
# The main job of `make demo`: train the MNIST MLP at CPU scale with cross-entropy
# (configs/mnist-mlp-ce-cpu.toml) into a fresh run directory, then show neural collapse:
# NC1-NC4 at the first and the last analysis epochs, and the epoch at which the training
# error first reached 0 (the start of the terminal phase, TPT).
#
#   scripts/demo.sh [--set KEY=VALUE ...]     extra arguments go to `nclab train`
#
# Environment: NCLAB_DATA (data root, default ./data), DEMO_OUT (run directory, default
# runs/demo/mnist-mlp-ce-cpu-<date>-<time>), NCLAB (the binary, default target/release/nclab).
set -euo pipefail
cd "$(dirname "$0")/.."

export NCLAB_DATA="${NCLAB_DATA:-data}"
nclab="${NCLAB:-${CARGO_TARGET_DIR:-target}/release/nclab}"
config=configs/mnist-mlp-ce-cpu.toml
out="${DEMO_OUT:-runs/demo/mnist-mlp-ce-cpu-$(date +%Y%m%d-%H%M%S)}"

[ -x "$nclab" ] || { echo "demo: $nclab not found; run 'make demo' (it builds it)" >&2; exit 1; }
[ -f "$NCLAB_DATA/mnist/train-images-idx3-ubyte" ] || ./scripts/fetch-data.sh mnist

echo "demo: training $config into $out"
"$nclab" train "$config" --out "$out" "$@"

csv="$out/metrics.csv"
summary="$out/summary.json"
# The NC1-NC4 columns of the first and last rows, the TPT epoch from summary.json, and the
# verdict: collapse is visible when NC1 fell at least 10x and NC4 ended at most 0.01.
awk -F, -v tpt="$(sed -n 's/^ *"tpt_epoch": *\([0-9a-z]*\).*/\1/p' "$summary")" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
NR == 2 { for (m in col) first[m] = $col[m] }
{ for (m in col) last[m] = $col[m] }
END {
    printf "\n%-8s %12s %12s\n", "metric", "epoch " first["epoch"], "epoch " last["epoch"]
    n = split("nc1 nc2 nc3 nc4 train_acc test_acc", ms, " ")
    for (j = 1; j <= n; j++) printf "%-8s %12.4g %12.4g\n", ms[j], first[ms[j]], last[ms[j]]
    printf "TPT epoch (training error first 0): %s\n", tpt
    ratio = (last["nc1"] > 0) ? first["nc1"] / last["nc1"] : "inf"
    ok = (ratio >= 10 && last["nc4"] <= 0.01)
    printf "NC1 fell %.1fx, final NC4 = %.4g: collapse %s\n", ratio, last["nc4"], ok ? "visible" : "NOT visible"
    exit ok ? 0 : 1
}' "$csv"
echo "demo: the whole run (metrics.csv, summary.json, final.safetensors) is in $out"
