"""Compares the last rows of two run directories' metrics.csv, metric by metric.

    python3 scripts/compare_runs.py RUN_A RUN_B [--rtol 1e-3] [--atol 1e-4] [--tol NAME=RTOL ...]

Prints each numeric column of both runs side by side with the relative difference
|a - b| / max(|a|, |b|), and marks a column as a mismatch when |a - b| > rtol * max(|a|, |b|) + atol
(per-column rtol with --tol). `epoch`, `lr` and `elapsed_s` are not compared. Exits 1 on any
mismatch, 2 on unreadable input. Standard library only (it runs where only Python is)."""

import argparse
import csv
import math
import sys

SKIP = {"epoch", "lr", "elapsed_s"}


def last_row(run):
    path = f"{run}/metrics.csv"
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"compare_runs: cannot read {path}: {e}")
    if not rows:
        sys.exit(f"compare_runs: {path} has no rows")
    return rows[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--tol", action="append", default=[], metavar="NAME=RTOL")
    ap.add_argument("--labels", default="a,b", help="column titles of the two runs")
    args = ap.parse_args()
    per = {}
    for t in args.tol:
        name, _, value = t.partition("=")
        per[name] = float(value)
    ra, rb = last_row(args.a), last_row(args.b)
    la, lb = args.labels.split(",")
    print(f"{'metric':<24} {la:>14} {lb:>14} {'rel diff':>10} {'rtol':>8}")
    bad = []
    for name in ra:
        if name in SKIP or name not in rb:
            continue
        sa, sb = ra[name], rb[name]
        if sa == "" and sb == "":
            print(f"{name:<24} {'-':>14} {'-':>14}")
            continue
        try:
            x, y = float(sa), float(sb)
        except ValueError:
            print(f"{name:<24} {sa:>14} {sb:>14} {'MISMATCH':>10}")
            bad.append(name)
            continue
        scale = max(abs(x), abs(y))
        rel = abs(x - y) / scale if scale > 0 else 0.0
        rtol = per.get(name, args.rtol)
        ok = math.isfinite(x) and math.isfinite(y) and abs(x - y) <= rtol * scale + args.atol
        mark = "" if ok else "  MISMATCH"
        print(f"{name:<24} {x:>14.7g} {y:>14.7g} {rel:>10.2e} {rtol:>8.0e}{mark}")
        if not ok:
            bad.append(name)
    if bad:
        print(f"compare_runs: {len(bad)} metric(s) differ beyond tolerance: {', '.join(bad)}")
        sys.exit(1)
    print("compare_runs: every metric agrees within tolerance")


if __name__ == "__main__":
    main()
