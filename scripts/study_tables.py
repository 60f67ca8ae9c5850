#!/usr/bin/env python3
"""Tables for docs/results.md that `nclab report` does not make: collapse from the first to
the last analysis epoch, the start of the terminal phase, and the cost of each grid.

Reads only results/ (each run's config.toml, metrics.csv and summary.json, as
`scripts/study.sh collect` copies them) and results/wall-times.tsv; standard library only.

    python3 scripts/study_tables.py [RESULTS_DIR]   > docs/results/tables.md

Every number printed is a run's own value or a mean/min/max over the seeds of a condition.
"""

import csv
import json
import statistics
import sys
from pathlib import Path


def read_run(cell: Path):
    with open(cell / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    summary = json.loads((cell / "summary.json").read_text())
    return rows, summary


def value(row, key):
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


def label_of(cell_name: str) -> str:
    """`loss=hxe-0.3_seed=1` -> `hxe-0.3`."""
    parts = dict(p.split("=", 1) for p in cell_name.split("_") if "=" in p)
    return parts.get("loss", cell_name)


def fmt(v, digits=4):
    if v is None:
        return "–"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def grid_table(grid: Path) -> str:
    conditions = {}
    for cell in sorted(p for p in grid.iterdir() if (p / "summary.json").is_file()):
        conditions.setdefault(label_of(cell.name), []).append(read_run(cell))
    out = [
        f"### `{grid.name}`\n",
        "| loss | runs | NC1 first | NC1 last | NC1 fold | NC2 last | NC3 last | NC4 last "
        "| TPT epoch (min-max) | TPT before 1st decay | test acc | wall s/run | outside steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, runs in conditions.items():
        first = [value(rows[0], "nc1") for rows, _ in runs]
        last = [value(rows[-1], "nc1") for rows, _ in runs]
        folds = [a / b for a, b in zip(first, last) if a is not None and b]
        tpts = [s["tpt_epoch"] for _, s in runs if s.get("tpt_epoch") is not None]
        before = sum(1 for _, s in runs if s.get("reached_tpt_before_first_decay"))
        tpt = (
            f"{statistics.fmean(tpts):.1f} ({min(tpts)}-{max(tpts)})"
            if len(tpts) == len(runs)
            else f"{len(tpts)} of {len(runs)} reached"
        )
        out.append(
            "| "
            + " | ".join(
                [
                    label,
                    str(len(runs)),
                    fmt(mean(first)),
                    fmt(mean(last)),
                    f"{statistics.fmean(folds):.1f}x" if folds else "–",
                    fmt(mean(value(rows[-1], "nc2") for rows, _ in runs)),
                    fmt(mean(value(rows[-1], "nc3") for rows, _ in runs)),
                    fmt(mean(value(rows[-1], "nc4") for rows, _ in runs)),
                    tpt,
                    f"{before} of {len(runs)}",
                    fmt(mean(value(rows[-1], "test_acc") for rows, _ in runs)),
                    f"{statistics.fmean(s['wall_time_s'] for _, s in runs):.0f}",
                    f"{100 * statistics.fmean(s.get('overhead_share', 0) for _, s in runs):.1f}%",
                ]
            )
            + " |"
        )
    return "\n".join(out) + "\n"


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    grids = sorted(p for p in root.iterdir() if p.is_dir())
    print("<!-- made by scripts/study_tables.py from results/; do not edit -->\n")
    print("## Collapse from the first to the last analysis epoch\n")
    print(
        "Means over the seeds of each condition. NC fold: mean over runs of NC1 at the first "
        "analysis epoch (epoch 1) divided by NC1 at the last. TPT epoch: the first epoch whose "
        "training error is 0 (docs/run-directory.md). Outside steps: share of the run's wall "
        "time not spent in training steps (analysis, data, checkpoints, start-up).\n"
    )
    for g in grids:
        print(grid_table(g))
    wall = root / "wall-times.tsv"
    if wall.is_file():
        print("## Wall time of each grid\n")
        print("| grid | cells | wall time | cells side by side |\n|---|---|---|---|")
        for line in wall.read_text().splitlines():
            name, seconds, jobs, _ = line.split("\t")
            cells = sum(1 for p in (root / name).iterdir() if p.is_dir()) if (root / name).is_dir() else 0
            print(f"| `{name}` | {cells} | {int(seconds) / 60:.1f} min | {jobs} |")
        print()


if __name__ == "__main__":
    main()
