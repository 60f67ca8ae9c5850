"""Compares the last rows of two run directories' metrics.csv, metric by metric.

    python3 scripts/compare_runs.py RUN_A RUN_B [--noise RUN_C] [--rtol 1e-3] [--atol 1e-4]
                                    [--tol NAME=RTOL ...] [--labels A,B[,C]]

Prints each numeric column of both runs side by side with the relative difference
|a - b| / max(|a|, |b|), and marks a column as a mismatch when |a - b| > rtol * max(|a|, |b|) + atol
(per-column rtol with --tol). With --noise, a third run (typically RUN_A again with another
thread count) is shown too, with its relative difference from RUN_A: the spread that rounding
alone produces, to read the first difference against. `epoch`, `lr` and `elapsed_s` are not
compared. Exits 1 on any mismatch, 2 on unreadable input. Standard library only (it runs where
only Python is)."""

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


def relative(x, y):
    """|x - y| / max(|x|, |y|), 0 when both are 0."""
    scale = max(abs(x), abs(y))
    return abs(x - y) / scale if scale > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--tol", action="append", default=[], metavar="NAME=RTOL")
    ap.add_argument("--noise", help="a third run, shown with its difference from the first")
    ap.add_argument("--labels", default="a,b,c", help="column titles of the runs")
    args = ap.parse_args()
    per = {}
    for t in args.tol:
        name, _, value = t.partition("=")
        per[name] = float(value)
    ra, rb = last_row(args.a), last_row(args.b)
    rc = last_row(args.noise) if args.noise else None
    la, lb, lc = (args.labels.split(",") + ["a", "b", "c"])[:3]
    extra = f" {lc:>14} {'noise':>10}" if rc else ""
    print(f"{'metric':<24} {la:>14} {lb:>14} {'rel diff':>10} {'rtol':>8}{extra}")
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
        rel = relative(x, y)
        rtol = per.get(name, args.rtol)
        ok = math.isfinite(x) and math.isfinite(y) and abs(x - y) <= rtol * max(abs(x), abs(y)) + args.atol
        mark = "" if ok else "  MISMATCH"
        noise = ""
        if rc is not None:
            try:
                z = float(rc.get(name, ""))
                noise = f" {z:>14.7g} {relative(x, z):>10.2e}"
            except ValueError:
                noise = f" {'-':>14} {'-':>10}"
        print(f"{name:<24} {x:>14.7g} {y:>14.7g} {rel:>10.2e} {rtol:>8.0e}{noise}{mark}")
        if not ok:
            bad.append(name)
    if bad:
        print(f"compare_runs: {len(bad)} metric(s) differ beyond tolerance: {', '.join(bad)}")
        sys.exit(1)
    print("compare_runs: every metric agrees within tolerance")


if __name__ == "__main__":
    main()
