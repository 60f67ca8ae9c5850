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
    def order(label):
        kind, _, param = label.partition("-")
        rank = ["ce", "mse", "hxe", "soft"].index(kind) if kind in ("ce", "mse", "hxe", "soft") else 9
        value = float(param) if param.replace(".", "", 1).isdigit() else 0.0
        # As in the headline: ce, ce-flat, mse, HXE by increasing alpha, soft by decreasing beta.
        return (rank, param == "flat", value if kind != "soft" else -value)

    for label, runs in sorted(conditions.items(), key=lambda kv: order(kv[0])):
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


HEADLINE = [
    ("top1_error", "top-1 err"),
    ("mistake_severity", "severity"),
    ("hdist@1", "hdist@1"),
    ("hdist@5", "hdist@5"),
    ("nc1", "NC1"),
    ("nc2", "NC2"),
    ("nc3", "NC3"),
    ("nc2_tree", "nc2_tree"),
    ("mean_tree_correlation", "tree corr."),
    ("nc1_coarse", "nc1_coarse"),
    ("tpt_epoch", "TPT"),
]


def short_label(condition: str) -> str:
    """`hierarchy=fashion-mnist, loss.alpha=0.3, loss.kind=hxe` -> `HXE α=0.3`."""
    keys = dict(part.split("=", 1) for part in condition.split(", ") if "=" in part)
    kind = keys.get("loss.kind", "?")
    if kind == "hxe":
        label = f"HXE α={keys.get('loss.alpha', '?')}"
    elif kind == "soft":
        label = f"soft β={float(keys.get('loss.beta', 'nan')):g}"
    else:
        label = kind.upper()
    if keys.get("hierarchy") == "flat":
        label += " (flat tree)"
    return label


def headline_table(report: Path) -> str:
    """From `nclab report`'s summary.csv and comparisons.csv: each condition's final mean, and
    its difference from the CE baseline where the paired t-test over seeds gives p < 0.05."""
    with open(report / "summary.csv", newline="") as f:
        conditions = list(csv.DictReader(f))
    with open(report / "comparisons.csv", newline="") as f:
        comps = {(r["condition"], r["metric"]): r for r in csv.DictReader(f)}
    out = [
        f"### `{report.name}`\n",
        "| condition | " + " | ".join(h for _, h in HEADLINE) + " |",
        "|---|" + "---|" * len(HEADLINE),
    ]
    def order(c):
        keys = dict(p.split("=", 1) for p in c["condition"].split(", ") if "=" in p)
        kind = ["ce", "mse", "hxe", "soft"].index(keys.get("loss.kind", "ce"))
        flat = keys.get("hierarchy") == "flat"
        # HXE by increasing alpha, soft labels by decreasing beta: both from CE-like to most
        # hierarchical.
        param = float(keys.get("loss.alpha", 0)) - float(keys.get("loss.beta", 0))
        return (kind, flat, param)

    for c in sorted(conditions, key=order):
        cells = []
        for metric, _ in HEADLINE:
            m = c.get(f"{metric}_mean", "")
            if m == "":
                cells.append("–")
                continue
            text = fmt(float(m), 3)
            comp = comps.get((c["condition"], metric))
            if comp and comp["paired_p"] not in ("", None) and float(comp["paired_p"]) < 0.05:
                text += f" ({float(comp['paired_diff']):+.3g}*)"
            cells.append(text)
        out.append(f"| {short_label(c['condition'])} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    # The order of scripts/study.sh: the replications, then the hierarchy grids.
    known = ["replication-mnist-mlp", "replication-fashion-mnist-mlp",
             "replication-cifar10-resnet18", "hierarchy-fashion-mnist-mlp",
             "hierarchy-cifar10-resnet18"]
    grids = sorted((p for p in root.iterdir() if p.is_dir()),
                   key=lambda p: (known.index(p.name) if p.name in known else len(known), p.name))
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
    docs = Path("docs/results")
    reports = [docs / g.name for g in grids if (docs / g.name / "summary.csv").is_file()]
    if reports:
        print("## Headline: final values by condition\n")
        print(
            "Means over 3 seeds at the last epoch, from `nclab report` (docs/results/<grid>/"
            "summary.csv). In brackets: the difference from the CE condition of the same "
            "grid, shown only where the paired t-test over the 3 seeds (a seed fixes the data "
            "subset and the initialisation, so the runs of one seed are pairs; df = 2) gives "
            "p < 0.05 (*); all differences, intervals and p-values (Welch, Mann-Whitney, "
            "paired) are in docs/results/<grid>/summary.md. "
            "Mistake metrics on the test set, NC metrics on the training set.\n"
        )
        for r in reports:
            print(headline_table(r))
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
