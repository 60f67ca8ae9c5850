#!/usr/bin/env bash
# Benchmark `nclab measure` against a straightforward NumPy implementation (full S_W,
# numpy.linalg.pinv) on the same .npy files, and against the time it takes just to read the
# features file from the page cache. Prints a table of best-of-R wall times and ratios.
#
#   scripts/bench-measure.sh [--quick]     (--quick: smaller cases, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${BENCH_OUT:-bench-out/measure}
mkdir -p "$OUT"
cargo build --release --quiet --bin nclab
CASES="50000:512:10 50000:2048:100"
[ "${1:-}" = "--quick" ] && CASES="5000:256:10 5000:512:100"

# The features are generated once per case (f32, as networks export them).
"$PY" - "$OUT" $CASES <<'PYEOF'
import os, sys
import numpy as np
out = sys.argv[1]
for case in sys.argv[2:]:
    n, d, k = map(int, case.split(":"))
    base = os.path.join(out, f"n{n}_d{d}_k{k}")
    if os.path.exists(base + "_h.npy"):
        continue
    rng = np.random.default_rng(0)
    means = rng.normal(size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    H = means[y] + 0.5 * rng.normal(size=(n, d)).astype(np.float32)
    np.save(base + "_h.npy", H.astype(np.float32))
    np.save(base + "_y.npy", y.astype(np.int64))
    np.save(base + "_w.npy", (means + 0.1 * rng.normal(size=(k, d))).astype(np.float32))
    np.save(base + "_b.npy", (0.01 * rng.normal(size=k)).astype(np.float32))
PYEOF

# NumPy is run with its default BLAS threading and without the OpenBLAS core override that
# some machines set for old OpenBLAS builds (it slows a current NumPy).
"$PY" - "$OUT" $CASES <<'PYEOF'
import json, os, subprocess, sys, time
out = sys.argv[1]
env_np = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

def best(cmd, repeats, env=None, keep=True):
    times, stdout = [], ""
    for _ in range(repeats):
        t = time.perf_counter()
        sink = subprocess.PIPE if keep else subprocess.DEVNULL
        r = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, text=True, env=env)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
        stdout = r.stdout
    return min(times), stdout

rows = []
for case in sys.argv[2:]:
    n, d, k = map(int, case.split(":"))
    base = os.path.join(out, f"n{n}_d{d}_k{k}")
    h, y, w, b = (base + s for s in ("_h.npy", "_y.npy", "_w.npy", "_b.npy"))
    t_read, _ = best(["cat", h], 5, keep=False)  # also warms the page cache
    t_version, _ = best(["./target/release/nclab", "--version"], 5)
    t_nclab, js = best(["./target/release/nclab", "measure", "--features", h, "--labels", y,
                        "--weights", w, "--bias", b, "--format", "json"], 3)
    t_numpy, js_np = best([sys.executable, "scripts/nc_numpy.py", h, y, w, b], 1, env_np)
    a, r = json.loads(js), json.loads(js_np)
    worst = max(abs(a[m] - r[m]) / max(abs(r[m]), 1e-300) for m in r)
    rows.append((f"N={n} d={d} K={k}", os.path.getsize(h) / 2**20, t_read, t_version, t_nclab, t_numpy, worst))

print(f"{'case':<24}{'file MiB':>9}{'read s':>8}{'start s':>8}{'nclab s':>9}{'numpy s':>9}"
      f"{'numpy/nclab':>13}{'nclab/read':>12}{'max rel diff':>14}")
for name, mib, tr, tv, tn, tp, worst in rows:
    print(f"{name:<24}{mib:>9.0f}{tr:>8.3f}{tv:>8.3f}{tn:>9.3f}{tp:>9.2f}{tp / tn:>12.1f}x{tn / tr:>11.1f}x{worst:>14.1e}")
print("read = `cat FILE > /dev/null` from the page cache; start = `nclab --version` (loading libtorch);"
      " times are the best of several runs")
PYEOF
