#!/usr/bin/env bash
# Benchmark `nclab evaluate --crm` on random logits (f32) with a generated 1,000-leaf tree of
# depth 6, for several N at K = 1,000, against a vectorised NumPy implementation of the same
# metrics (which also checks the values). Prints wall times, the time per 100k samples (flat
# when the cost is linear in N) and the largest difference to NumPy.
#
#   scripts/bench-evaluate.sh [--quick]     (--quick: N = 10k and 20k only)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${BENCH_OUT:-bench-out/evaluate}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$OUT"
cargo build --release --quiet --bin nclab
NCLAB="$TARGET/release/nclab"
SIZES="50000 100000 200000"
[ "${1:-}" = "--quick" ] && SIZES="10000 20000"

"$PY" - "$OUT" "$NCLAB" $SIZES <<'PYEOF'
import json, os, subprocess, sys, time
import numpy as np

out, nclab, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
K, DEPTH = 1000, 6
LEVELS = [1, 4, 12, 40, 150, 400, K]  # nodes per depth 0..6; every leaf at depth 6
rng = np.random.default_rng(0)

# A random tree: each node of depth l+1 gets a random parent of depth l, every parent at
# least one child. anc[l][i] = index at depth l of the ancestor of leaf i.
parents = []
for l in range(DEPTH):
    n_up, n_down = LEVELS[l], LEVELS[l + 1]
    par = np.concatenate([np.arange(n_up), rng.integers(0, n_up, n_down - n_up)])
    rng.shuffle(par)
    parents.append(par)
name = lambda l, i: f"c{i}" if l == DEPTH else f"n{l}_{i}"
tree = os.path.join(out, "tree.txt")
with open(tree, "w") as f:
    for l, par in enumerate(parents):
        for child, p in enumerate(par):
            f.write(f"{name(l, p)} {name(l + 1, child)}\n")
anc = [None] * (DEPTH + 1)
anc[DEPTH] = np.arange(K)
for l in range(DEPTH - 1, -1, -1):
    anc[l] = parents[l][anc[l + 1]]
# The classes are the leaves in order of first appearance in the file: c0..c999 in that
# order only if every leaf edge is listed by child index, which the loop above does.
# d(a, b) = DEPTH - (deepest depth where the ancestors agree).
D = np.full((K, K), float(DEPTH))
for l in range(1, DEPTH + 1):
    D[anc[l][:, None] == anc[l][None, :]] = DEPTH - l
maxd = D.max()

def reference(z, y, ks, crm):
    """Vectorised NumPy mistake metrics (same definitions as nclab-core)."""
    n = len(y)
    kmax = max(ks)
    best = np.cumsum(1 - np.sort(D, axis=1)[:, :kmax] / maxd, axis=1)  # K x kmax
    res = {f"top{k}_error": 0.0 for k in ks}
    res.update({f"{m}@{k}": 0.0 for m in ("hdist", "hprecision", "hmap") for k in ks})
    sev_sum, sev_n = 0.0, 0
    for s in range(0, n, 10000):
        zz = z[s:s + 10000].astype(np.float64)
        yy = y[s:s + 10000]
        if crm:
            p = np.exp(zz - zz.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            score = -(p @ D)
        else:
            score = zz
        top = np.argsort(-score, axis=1, kind="stable")[:, :kmax]
        dist = D[yy[:, None], top]
        wrong1 = top[:, 0] != yy
        sev_sum += dist[wrong1, 0].sum(); sev_n += wrong1.sum()
        prec = np.cumsum(1 - dist / maxd, axis=1) / best[yy]
        for k in ks:
            res[f"top{k}_error"] += (~(top[:, :k] == yy[:, None]).any(1)).sum()
            res[f"hdist@{k}"] += dist[:, :k].mean(1).sum()
            res[f"hprecision@{k}"] += prec[:, k - 1].sum()
            res[f"hmap@{k}"] += prec[:, :k].mean(1).sum()
    res = {k: v / n for k, v in res.items()}
    res["mistake_severity"] = sev_sum / sev_n
    return res

def best_time(cmd, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(r.stderr)
    return min(times), r.stdout

t_start, _ = best_time([nclab, "--version"], 3)
rows = []
for n in sizes:
    lp, yp = os.path.join(out, f"logits_{n}.npy"), os.path.join(out, f"labels_{n}.npy")
    if not os.path.exists(lp):
        r = np.random.default_rng(n)
        y = r.integers(0, K, n)
        z = (3.0 * r.normal(size=(n, K))).astype(np.float32)
        z[np.arange(n), y] += 9.0  # a classifier that is right most of the time
        np.save(lp, z); np.save(yp, y.astype(np.int64))
    z, y = np.load(lp), np.load(yp)
    subprocess.run(["cat", lp], stdout=subprocess.DEVNULL, check=True)  # page cache
    cmd = [nclab, "evaluate", "--logits", lp, "--labels", yp, "--hierarchy", tree,
           "--k", "1,5", "--crm", "--format", "json"]
    t_nclab, stdout = best_time(cmd, 2)
    got = json.loads(stdout)
    t = time.perf_counter()
    ref_plain = reference(z, y, [1, 5], False)
    ref_crm = reference(z, y, [1, 5], True)
    t_np = time.perf_counter() - t
    diff = max(max(abs(got[k] - v) for k, v in ref_plain.items()),
               max(abs(got["crm"][k] - v) for k, v in ref_crm.items()))
    rows.append((n, t_nclab, t_np, diff, got["top1_error"], got["crm"]["top1_error"],
                 got["hdist@5"], got["crm"]["hdist@5"]))

print(f"K = {K}, tree of depth {DEPTH} ({sum(LEVELS)} nodes), logits f32, cores: {os.cpu_count()}")
print(f"process start (`nclab --version`, loads libtorch): {t_start:.2f} s")
print(f"{'N':>8}{'nclab s':>9}{'s/100k':>8}{'numpy s':>9}{'max |diff|':>12}"
      f"{'top1':>8}{'top1 crm':>9}{'hdist@5':>9}{'crm':>7}")
for n, tn, tp, diff, a, b, c, d in rows:
    print(f"{n:>8}{tn:>9.2f}{(tn - t_start) / n * 1e5:>8.2f}{tp:>9.2f}{diff:>12.1e}{a:>8.4f}{b:>9.4f}{c:>9.3f}{d:>7.3f}")
print("s/100k = (nclab - start) per 100k samples; nclab = best of 2 runs of `nclab evaluate --crm --k 1,5` (plain and CRM metrics, reading"
      " the file); numpy = the same metrics, vectorised, on arrays already in memory")
PYEOF
