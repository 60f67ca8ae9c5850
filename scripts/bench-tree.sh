#!/usr/bin/env bash
# What a hierarchy adds to `nclab measure` at many classes: for each K, the wall time and peak
# memory (/usr/bin/time -v) of one measurement without and with `--hierarchy`, and their
# difference (the tree metrics: nc2_tree's target, mean_tree_correlation, nc1_coarse, the K x K
# distance matrices).
#
#   scripts/bench-tree.sh [K ...]            (default: 1000 4000 8000)
#
# Data (made once, under bench-out/tree/, by the .venv's NumPy, seed K): a random tree with K
# leaves under K/10 internal nodes (node i hangs under a random earlier one, each leaf under a
# random internal node, every internal node with at least one leaf), class means N(0, 1) in
# d = 64 dimensions, two samples per class at the mean plus N(0, 0.09) noise.
# Environment: PYTHON (.venv/bin/python), D (64).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
D=${D:-64}
OUT=bench-out/tree
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 4000 8000)
mkdir -p "$OUT"
cargo build --release --quiet --bin nclab

"$PY" - "$OUT" "$D" "${SIZES[@]}" <<'PYEOF'
import os, sys
import numpy as np
out, d = sys.argv[1], int(sys.argv[2])
for k in map(int, sys.argv[3:]):
    base = f"{out}/k{k}_d{d}"
    if os.path.exists(base + "_y.npy"):
        continue
    r = np.random.default_rng(k)
    internal = max(k // 10, 1)
    lines = [f"n{r.integers(0, i)} n{i}" for i in range(1, internal)]
    parent = [f"n{i}" for i in range(internal)]  # the first `internal` leaves fill every node
    parent += [f"n{r.integers(0, internal)}" for _ in range(k - internal)]
    lines += [f"{p} leaf{j}" for j, p in enumerate(parent)]
    with open(base + "_tree.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    means = r.normal(size=(k, d))
    y = np.tile(np.arange(k), 2)
    np.save(base + "_h.npy", (means[y] + 0.3 * r.normal(size=(2 * k, d))).astype(np.float32))
    np.save(base + "_y.npy", y.astype(np.int64))
PYEOF

# One measurement: "wall_s peak_MB".
measure() {
    local log
    log=$(mktemp)
    if ! /usr/bin/time -v target/release/nclab measure "$@" --format json >/dev/null 2>"$log"; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    rm -f "$log"
    echo "$wall $((rss / 1024))"
}

printf '%-7s %10s %10s %12s %12s %10s\n' K flat_s tree_s flat_MiB tree_MiB tree-flat_s
for k in "${SIZES[@]}"; do
    base="$OUT/k${k}_d${D}"
    read -r fw fm < <(measure --features "${base}_h.npy" --labels "${base}_y.npy")
    read -r tw tm < <(measure --features "${base}_h.npy" --labels "${base}_y.npy" --hierarchy "${base}_tree.txt")
    awk -v k="$k" -v fw="$fw" -v tw="$tw" -v fm="$fm" -v tm="$tm" \
        'BEGIN { printf "%-7d %10.2f %10.2f %12d %12d %10.2f\n", k, fw, tw, fm, tm, tw - fw }'
done
