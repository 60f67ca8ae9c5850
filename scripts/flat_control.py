"""The flat-tree control of a hierarchy grid, measured instead of trained.

CE does not use the hierarchy while it trains, so "CE on a flat tree" is the CE network itself;
only the measurement changes. For every finished CE run of a sweep folder that still has its
final.safetensors (final features, logits and classifier), this script measures the network
twice with the Python package (`nclab.load_tensors`, `nclab.measure`, `nclab.evaluate`):
against the run's own tree and against the flat tree over the same classes. It writes one CSV
row for each into RESULTS_DIR/flat-tree-control.csv:

    run, seed, hierarchy,
    top1_error, top5_error, mistake_severity, hdist@1, hdist@5   (test logits, nclab.evaluate)
    nc1, nc2, nc2_tree, mean_tree_correlation, nc1_coarse        (training features, nclab.measure)

The rows against the run's own tree repeat what the trainer wrote in the last row of its
metrics.csv (a check that final.safetensors is the final network); the flat rows are the
control. On a flat tree every wrong class is at distance 1, so mistake_severity is 1,
hdist@1 = top1_error and hdist@5 = 1 - (1 - top5_error) / 5; the tree correlation and
nc1_coarse are undefined (empty cells); nc2_tree is the one number that needs the features.

    .venv/bin/python scripts/flat_control.py SWEEP_DIR RESULTS_DIR

Runs that are not CE, not finished, measured against a flat tree already, or without
final.safetensors are skipped (and listed). Rows already in the CSV for runs not measured now are
kept: a sweep folder restored on a new machine (scripts/restore-runs.sh) has no final.safetensors
for the runs collected before, and their rows stay as they were measured. Needs Python 3.11
(tomllib), as the repository's .venv has.
"""

import argparse
import csv
import sys
from pathlib import Path

import nclab
from keep_final import finished_runs, tree_of

COLUMNS = ["run", "seed", "hierarchy", "top1_error", "top5_error", "mistake_severity", "hdist@1",
           "hdist@5", "nc1", "nc2", "nc2_tree", "mean_tree_correlation", "nc1_coarse"]


def measure_against(tensors, hierarchy, coarse_depth):
    """One row of COLUMNS (without run and seed) for the final network against `hierarchy`."""
    mistakes = nclab.evaluate(tensors["test.logits"], tensors["test.labels"], hierarchy, k=(1, 5))
    nc = nclab.measure(tensors["train.features"], tensors["train.labels"], tensors["weights"],
                       tensors["bias"], hierarchy=hierarchy, coarse_depth=coarse_depth)
    row = {"hierarchy": hierarchy.source, **{k: mistakes.get(k) for k in COLUMNS[3:8]}}
    row.update({k: nc.get(k) for k in COLUMNS[8:]})
    return row


def ce_runs(sweep):
    """(run directory, config) of every finished CE run with final.safetensors measured against
    a real tree."""
    for run, cfg, _ in finished_runs(sweep):
        if cfg["loss"]["kind"] == "ce" and not cfg["hierarchy"].startswith("flat"):
            yield run, cfg


def cell(v):
    """A CSV cell: empty when undefined, names and integers as they are, floats exactly."""
    if v is None:
        return ""
    if isinstance(v, (str, int)):
        return str(v)
    return repr(float(v))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="a sweep folder (its runs keep final.safetensors)")
    p.add_argument("results", type=Path, help="the grid's folder under results/")
    args = p.parse_args()
    rows = []
    measured = set()
    for run, cfg in ce_runs(args.sweep):
        measured.add(run.name)
        tensors = nclab.load_tensors(run / "final.safetensors")
        k = tensors["weights"].shape[0]
        depth = cfg["analysis"]["coarse_depth"]
        for tree in (tree_of(run, cfg["hierarchy"]), nclab.Hierarchy.builtin(f"flat:{k}")):
            rows.append({"run": run.name, "seed": cfg["seed"], **measure_against(tensors, tree, depth)})
        print(f"measured {run.name} against {cfg['hierarchy']} and flat:{k}")
    skipped = sorted(p.name for p in args.sweep.iterdir() if p.is_dir() and p.name not in measured)
    if skipped:
        print(f"skipped (not a finished CE run on a tree, or no final.safetensors): {', '.join(skipped)}")
    if not rows:
        print(f"no finished CE run with final.safetensors in {args.sweep}", file=sys.stderr)
        return 1
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / "flat-tree-control.csv"
    if out.exists():
        with open(out, newline="") as f:
            kept = [r for r in csv.DictReader(f) if r["run"] not in measured]
        if kept:
            print(f"kept the rows of {len({r['run'] for r in kept})} run(s) not measured now")
        # Each run's rows in the order they were measured (own tree, then flat), runs by name.
        rows = sorted(kept + rows, key=lambda r: r["run"])
    tmp = out.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows([cell(r[c]) for c in COLUMNS] for r in rows)
    tmp.replace(out)
    print(f"wrote {out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
