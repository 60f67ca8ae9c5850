#!/usr/bin/env bash
# The K >> d engine at scale: `nclab measure` (all metrics, with the classifier) on synthetic
# collapse-like features, K = 10,000 classes in d = 1,024 dimensions (the Full route, d x d),
# for N = 50,000, 100,000 and 200,000 samples: wall time and peak memory (/usr/bin/time -v),
# and the time per 10,000 samples, which stays flat when the time grows linearly in N.
#
#   scripts/bench-scale.sh [N ...]           (default: 50000 100000 200000)
#
# Data (made once, f32 .npy under bench-out/scale/, by the .venv's NumPy, seed 0): class means
# with entries N(0, 9/d) (norm about 3), labels uniform over the classes (every class at
# least once), features = mean + N(0, 0.25/d) noise per coordinate (within-class spread about
# 0.5, a sixth of the distance between means: a network near collapse), W = means + N(0,
# 0.0025/d), b ~ N(0, 1e-4). Environment: PYTHON (.venv/bin/python), K (10000), D (1024).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
K=${K:-10000}
D=${D:-1024}
OUT=bench-out/scale
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(50000 100000 200000)
mkdir -p "$OUT"
cargo build --release --quiet --bin nclab

"$PY" - "$OUT" "$K" "$D" "${SIZES[@]}" <<'PYEOF'
import os, sys
import numpy as np
out, k, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
means = (3.0 / np.sqrt(d) * rng.normal(size=(k, d))).astype(np.float32)
if not os.path.exists(f"{out}/w_k{k}_d{d}.npy"):
    np.save(f"{out}/w_k{k}_d{d}.npy", (means + 0.05 / np.sqrt(d) * rng.normal(size=(k, d))).astype(np.float32))
    np.save(f"{out}/b_k{k}.npy", (0.01 * rng.normal(size=k)).astype(np.float32))
for n in map(int, sys.argv[4:]):
    base = f"{out}/n{n}_k{k}_d{d}"
    if os.path.exists(base + "_h.npy"):
        continue
    r = np.random.default_rng(n)
    y = r.integers(0, k, size=n)
    y[: min(k, n)] = np.arange(min(k, n))
    h = np.lib.format.open_memmap(base + "_h.npy", mode="w+", dtype=np.float32, shape=(n, d))
    for s in range(0, n, 10000):
        e = min(n, s + 10000)
        h[s:e] = means[y[s:e]] + (0.5 / np.sqrt(d)) * r.normal(size=(e - s, d)).astype(np.float32)
    h.flush()
    del h
    np.save(base + "_y.npy", y.astype(np.int64))
PYEOF

printf '%-9s %9s %12s %14s   %s\n' N wall_s peak_MB s_per_10k nc1
for n in "${SIZES[@]}"; do
    base="$OUT/n${n}_k${K}_d${D}"
    log=$(mktemp)
    /usr/bin/time -v target/release/nclab measure --features "${base}_h.npy" --labels "${base}_y.npy" \
        --weights "$OUT/w_k${K}_d${D}.npy" --bias "$OUT/b_k${K}.npy" --format json >"$log.json" 2>"$log"
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    nc1=$(sed -n 's/.*"nc1": \([^,]*\),/\1/p' "$log.json")
    awk -v n="$n" -v w="$wall" -v r="$rss" -v c="$nc1" 'BEGIN { printf "%-9d %9.1f %12.0f %14.2f   %s\n", n, w, r / 1024, w / n * 10000, c }'
    rm -f "$log" "$log.json"
done
