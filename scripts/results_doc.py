"""Writes docs/results.md from the committed runs (results/) and their reports (docs/results/).

Every number on that page is filled in here: from each run's summary.json and config.toml, and
from the tables `nclab report` writes for each grid (summary.csv, comparisons.csv, folds.csv in
docs/results/<grid>/, made by `scripts/study.sh report`). Nothing is copied by hand, so the page
cannot drift from the runs: `--check` fails when docs/results.md differs from what this script
writes now (the test suite runs it).

    python3 scripts/results_doc.py            # rewrite docs/results.md
    python3 scripts/results_doc.py --check    # exit 1 if docs/results.md is out of date
"""

import argparse
import csv
import functools
import json
import math
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
REPORTS = REPO / "docs" / "results"
PAGE = REPO / "docs" / "results.md"

# The CPU-scale study: five grids, three seeds each (configs/study/).
CPU_GRIDS = ["replication-mnist-mlp", "replication-fashion-mnist-mlp", "replication-cifar10-resnet18",
             "hierarchy-fashion-mnist-mlp", "hierarchy-cifar10-resnet18"]
# The full-data protocol (configs/study/protocol/) and the GPU runs (results/gpu-*).
PROTOCOL_GRIDS = ["protocol-fashion-mnist-mlp", "protocol-mnist-mlp"]
GPU_GRIDS = ["gpu-hierarchy-cifar10-resnet18"]
# The metrics of the headline tables, with the direction that counts as better.
HEADLINE = [("top1_error", "top-1 error"), ("mistake_severity", "mistake severity"),
            ("hdist@5", "hdist@5"), ("nc1", "NC1"), ("nc2", "NC2"), ("nc3", "NC3"),
            ("mean_tree_correlation", "tree corr.")]
ALPHA = 0.05


# ---- reading ------------------------------------------------------------------------------------

def num(text):
    """A CSV cell as a float (None when empty or not a number)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def runs_of(grid):
    """Every committed run of a grid: (cell name, config, summary), sorted by name (read once:
    callers only read what it returns)."""
    out = []
    for d in sorted((RESULTS / grid).glob("*/")):
        if (d / "summary.json").exists():
            cfg = tomllib.loads((d / "config.toml").read_text())
            out.append((d.name, cfg, json.loads((d / "summary.json").read_text())))
    return out


@functools.cache
def report_of(grid):
    """The tables of a grid's report: summary rows by condition name, comparison rows by
    (condition name, metric), fold rows by condition name."""
    base = REPORTS / grid
    summary = {r["name"]: r for r in read_csv(base / "summary.csv")}
    label_to_name = {r["condition"]: r["name"] for r in summary.values()}
    comps = {}
    for r in read_csv(base / "comparisons.csv"):
        comps[(label_to_name.get(r["condition"], r["condition"]), r["metric"])] = r
    folds = {r["name"]: r for r in read_csv(base / "folds.csv")} if (base / "folds.csv").exists() else {}
    return summary, comps, folds


# ---- formatting ---------------------------------------------------------------------------------

def fmt(v, digits=3):
    """A value with `digits` significant digits ('-' when undefined)."""
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def signed(v, digits=2):
    return "-" if v is None else ("+" if v > 0 else "") + fmt(v, digits)


def stars(p):
    if p is None:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def span(values, digits=3, unit=""):
    """'a to b' over the defined values."""
    vs = [v for v in values if v is not None]
    if not vs:
        return "-"
    lo, hi = min(vs), max(vs)
    return f"{fmt(lo, digits)}{unit}" if lo == hi else f"{fmt(lo, digits)}{unit} to {fmt(hi, digits)}{unit}"


# ---- sections -----------------------------------------------------------------------------------

def what_was_run(grids):
    rows = ["| grid | data (train / test per class) | model | epochs | seeds | conditions | runs |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for g in grids:
        runs = runs_of(g)
        if not runs:
            continue
        cfg = runs[0][1]
        data = cfg["data"]
        per = "all" if data["per_class"] == 0 else str(data["per_class"])
        test = "all" if data.get("test_per_class", 0) == 0 else str(data["test_per_class"])
        model = cfg["model"]
        arch = (f"MLP {len(model['widths'])} x {model['widths'][0]}" if model["kind"] == "mlp"
                else f"ResNet18, width {model['width']}")
        seeds = sorted({c["seed"] for _, c, _ in runs})
        conditions = sorted({name.rsplit("_seed=", 1)[0].removeprefix("loss=") for name, _, _ in runs})
        rows.append(f"| `{g}` | {data['name']}, {per} / {test} | {arch} | {cfg['optim']['epochs']} | "
                    f"{' '.join(map(str, seeds))} | {', '.join(conditions)} | {len(runs)} |")
    return "\n".join(rows)


def headline_table(grid):
    """Condition x metric: the final mean, and against the baseline the paired difference with
    its 95% interval and the BH-adjusted p (stars)."""
    summary, comps, _ = report_of(grid)
    metrics = [(m, t) for m, t in HEADLINE if any(num(r.get(f"{m}_mean")) is not None for r in summary.values())]
    head = "| condition | " + " | ".join(t for _, t in metrics) + " |"
    rows = [head, "| --- |" + " --- |" * len(metrics)]
    for name, r in summary.items():
        cells = []
        for m, _ in metrics:
            mean = num(r.get(f"{m}_mean"))
            c = comps.get((name, m))
            if c is None or num(c.get("paired_diff")) is None:
                cells.append(fmt(mean))
                continue
            d, lo, hi = num(c["paired_diff"]), num(c["paired_ci95_low"]), num(c["paired_ci95_high"])
            p = num(c.get("p_bh"))
            cells.append(f"{fmt(mean)} ({signed(d)} [{signed(lo)}, {signed(hi)}]{stars(p)})")
        rows.append(f"| {name} ({r['runs']} runs) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def significant(grid):
    """The comparisons of the grid's family whose BH-adjusted p is below ALPHA."""
    _, comps, _ = report_of(grid)
    out = []
    for (name, m), c in comps.items():
        p = num(c.get("p_bh"))
        if c.get("family") == "true" and p is not None and p < ALPHA and m in dict(HEADLINE):
            out.append((name, m, num(c["paired_diff"]), num(c.get("p")), p))
    return out


def lost_significance(grid):
    """Comparisons with a raw paired p below ALPHA that BH takes above it."""
    _, comps, _ = report_of(grid)
    n = 0
    for c in comps.values():
        raw, bh = num(c.get("paired_p")), num(c.get("p_bh"))
        if c.get("family") == "true" and raw is not None and raw < ALPHA and (bh is None or bh >= ALPHA):
            n += 1
    return n


def harm_bounds(grid, metric="top1_error"):
    _, comps, _ = report_of(grid)
    return {name: num(c.get("harm_bound")) for (name, m), c in comps.items() if m == metric}


def folds_table(grids):
    rows = ["| grid | condition | stable TPT epoch | NC1 fold, epoch 1 to end | NC1 fold, stable TPT to end "
            "| NC1 fold across decay 1 | across decay 2 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for g in grids:
        _, _, folds = report_of(g)
        for name, r in folds.items():
            rows.append(f"| `{g}` | {name} | {fmt(num(r.get('stable_tpt_epoch_mean')), 3)} | "
                        f"{fmt(num(r.get('nc1_fold_total')))} | {fmt(num(r.get('nc1_fold_after_stable_tpt')))} | "
                        f"{fmt(num(r.get('nc1_fold_decay1')))} | {fmt(num(r.get('nc1_fold_decay2')))} |")
    return "\n".join(rows)


def unfinished(grid):
    """Cells of a grid with a run directory but no summary (stopped before their end)."""
    return sorted(d.name for d in (RESULTS / grid).glob("*/") if not (d / "summary.json").exists())


def runs_table(grid):
    """One row per committed run (the full-data and GPU grids: one seed, no statistics)."""
    rows = ["| run | status | epochs | wall time | TPT epoch | test acc. | NC1 | NC2 | NC3 | NC4 | mistake severity |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, _, s in runs_of(grid):
        f = s.get("final", {})
        rows.append(f"| {name} | {s['status']} | {s['epochs']} | {s['wall_time_s'] / 3600:.2f} h | "
                    f"{s.get('tpt_epoch') or '-'} | {fmt(f.get('test_acc'), 4)} | {fmt(f.get('nc1'))} | "
                    f"{fmt(f.get('nc2'))} | {fmt(f.get('nc3'))} | {fmt(f.get('nc4'))} | "
                    f"{fmt(f.get('mistake_severity'))} |")
    return "\n".join(rows)


def flat_control_table(grid):
    """The CE networks of a grid measured against their tree and the flat tree
    (results/<grid>/flat-tree-control.csv, from scripts/flat_control.py); None without it."""
    path = RESULTS / grid / "flat-tree-control.csv"
    if not path.exists():
        return None
    rows = ["| run | measured against | top-1 error | mistake severity | hdist@1 | hdist@5 | NC2 | "
            "nc2_tree | tree corr. | NC1 coarse |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in read_csv(path):
        rows.append(f"| {r['run']} | `{r['hierarchy']}` | " + " | ".join(
            fmt(num(r[k]), 4) for k in ("top1_error", "mistake_severity", "hdist@1", "hdist@5", "nc2",
                                         "nc2_tree", "mean_tree_correlation", "nc1_coarse")) + " |")
    return "\n".join(rows)


# ---- the page -----------------------------------------------------------------------------------

def facts():
    """The numbers the prose quotes, each computed once."""
    cpu_runs = [r for g in CPU_GRIDS for r in runs_of(g)]
    fold_rows = [r for g in CPU_GRIDS for r in report_of(g)[2].values()]
    finals = [s["final"] for _, _, s in cpu_runs]
    hier = [g for g in CPU_GRIDS if g.startswith("hierarchy")]
    return {
        "n_runs": len(cpu_runs),
        "n_tpt": sum(s.get("tpt_epoch") is not None for _, _, s in cpu_runs),
        "fold_total": span([num(r.get("nc1_fold_total")) for r in fold_rows], 3, "x"),
        "fold_tpt": span([num(r.get("nc1_fold_after_stable_tpt")) for r in fold_rows], 3, "x"),
        "fold_decay": span([num(r.get(f"nc1_fold_decay{k}")) for r in fold_rows for k in (1, 2)], 3, "x"),
        "final_nc1": span([f.get("nc1") for f in finals], 2),
        "final_nc2": span([f.get("nc2") for f in finals], 2),
        "nc4_zero": sum(f.get("nc4") == 0 for f in finals),
        "sig": {g: significant(g) for g in CPU_GRIDS},
        "lost": {g: lost_significance(g) for g in CPU_GRIDS},
        "harm": {g: harm_bounds(g) for g in hier},
        "hier": hier,
        "min_sign_flip": min(num(c.get("sign_flip_p")) or 1.0 for g in CPU_GRIDS
                             for c in report_of(g)[1].values()),
        "protocol_folds": [(g, n, num(r.get("nc1_fold_total")), num(r.get("nc1_fold_after_stable_tpt")),
                            num(report_of(g)[0][n].get("train_acc_mean")),
                            num(report_of(g)[0][n].get("stable_tpt_epoch_mean")))
                           for g in PROTOCOL_GRIDS if runs_of(g) for n, r in report_of(g)[2].items()],
    }


def full_data_folds(folds):
    """The NC1 folds of the full-data runs as a clause per condition, and the verdict they give
    on 'orders of magnitude during TPT' (a 10x fall from the stable TPT epoch or more)."""
    parts, tpt_folds = [], []
    for g, n, total, after_tpt, train_acc, stable_tpt in folds:
        if stable_tpt is None:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1, but its training error was never 0 "
                         f"when checked (training accuracy {fmt(train_acc, 6)} at the end), so it has "
                         "no TPT to measure from")
        elif after_tpt is None:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1; from its stable TPT (epoch "
                         f"{fmt(stable_tpt)}) the fold is undefined (a value missing or not positive)")
        else:
            tpt_folds.append(after_tpt)
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1, {fmt(after_tpt)}x from the stable TPT")
    if not tpt_folds:
        return "; ".join(parts), ". **Differs** at the subsets' scale;"
    if max(tpt_folds) < 10:
        verdict = (", no run falls 10x from its stable TPT: the picture is the same; a fall of "
                   "orders of magnitude over the whole run is not one during TPT. **Differs** at "
                   "this scale;")
    else:
        verdict = (f", a run falls {fmt(max(tpt_folds))}x from its stable TPT. **Differs** on the "
                   "subsets, **agrees** at full data for that condition;")
    return "; ".join(parts), verdict


def literature(f):
    """Papyan et al. 2020 and Bertinetto et al. 2020, point by point."""
    def sig(metric):
        return [(g, n, d) for g in f["hier"] for n, m, d, _, _ in f["sig"][g] if m == metric]
    sev, hd5, top1 = sig("mistake_severity"), sig("hdist@5"), sig("top1_error")
    full, full_verdict = full_data_folds(f["protocol_folds"])
    harms = [b for g in f["harm"].values() for b in g.values() if b is not None]
    lines = [
        "**Papyan, Han and Donoho (2020)**, *Prevalence of neural collapse during the terminal phase "
        "of deep learning training*:",
        "",
        f"- *NC1 falls by orders of magnitude during TPT.* Here, from epoch 1 NC1 falls {f['fold_total']}, "
        f"but from the stable TPT epoch to the end only {f['fold_tpt']}, and across a learning-rate decay "
        f"{f['fold_decay']}. At full data (one seed so far: {full or 'none finished'}){full_verdict} "
        "whether it holds at the published scale (larger "
        "networks, full CIFAR-10, more seeds) these runs cannot say.",
        f"- *The means and classifiers approach a simplex ETF (NC2, NC3 -> 0).* Final NC2 here spans "
        f"{f['final_nc2']}: **differs** (far from an ETF at the end of the CPU-scale runs).",
        f"- *NC4: the network decides like the nearest class mean.* NC4 is exactly 0 at the end in "
        f"{f['nc4_zero']} of {f['n_runs']} runs: **agrees**.",
        "",
        "**Bertinetto et al. (2020)**, *Making better mistakes*:",
        "",
        "(Only the hierarchy grids count here: HXE and soft labels against CE.)",
        "",
        "- *HXE and soft labels lower the severity of mistakes.* Significant after Benjamini-Hochberg "
        f"in {len(sev)} comparison(s)"
        + (": " + "; ".join(f"{n} on `{g}` ({signed(d)})" for g, n, d in sev) if sev else "")
        + ". " + ("**Agrees** where significant, **cannot say** elsewhere (three seeds)." if sev
                  else "**Cannot say** with three seeds at this scale."),
        f"- *Top-k predictions become hierarchically closer (hdist@k for k > 1).* hdist@5 lower after "
        f"Benjamini-Hochberg in {len(hd5)} comparison(s): " + ("**agrees**." if hd5 else "**cannot say**."),
        f"- *At a cost in top-1 accuracy.* Top-1 error differs significantly after Benjamini-Hochberg in "
        f"{len(top1)} comparison(s); the 95% intervals still allow increases of up to "
        f"{span(harms, 2)} (the largest worsening each condition's interval allows). **Cannot say**: "
        "the intervals are too wide to rule out the cost the paper reports.",
    ]
    return "\n".join(lines)


def page():
    f = facts()
    sig_lines = []
    for g in CPU_GRIDS:
        for name, m, d, p, pbh in f["sig"][g]:
            sig_lines.append(f"| `{g}` | {name} | {m} | {signed(d, 3)} | {fmt(p, 2)} | {fmt(pbh, 2)} |")
    sig_table = "\n".join(["| grid | condition | metric | paired difference | p | p (BH) |",
                           "| --- | --- | --- | --- | --- | --- |"] + sig_lines)
    protocol = [g for g in PROTOCOL_GRIDS if runs_of(g)]
    gpu = [g for g in GPU_GRIDS if runs_of(g)]
    parts = [
        "# Do hierarchical losses change neural collapse? The study",
        "",
        "<!-- Written by scripts/results_doc.py from results/ and docs/results/: do not edit by hand;",
        "     rerun `python3 scripts/results_doc.py` after `scripts/study.sh report`. -->",
        "",
        f"This page answers the question nclab exists for with the runs committed under "
        f"[`results/`](../results): {f['n_runs']} runs of the CPU-scale study (five grids, subsets of "
        "100-500 images per class, three seeds), the full-data runs of the published protocol "
        "finished so far, and the GPU runs. Each grid's report (`nclab report`) is in "
        "[`docs/results/<grid>/`](results). Differences are paired over seeds (a seed fixes the "
        "subset, the initialisation and the batch order) and called significant only when their "
        f"Benjamini-Hochberg adjusted p-value, within the grid's family (every condition x metric "
        f"against the grid's CE baseline), is below {ALPHA}.",
        "",
        "## In short",
        "",
        f"- **Collapse happens under every loss, but weakly at this scale.** The training error reached "
        f"0 in {f['n_tpt']} of {f['n_runs']} runs and NC4 ended at exactly 0 in {f['nc4_zero']}. NC1 "
        f"falls {f['fold_total']} from epoch 1 to the end, but only {f['fold_tpt']} from the stable TPT "
        f"epoch (the first from which the training error stays 0) and {f['fold_decay']} across each "
        f"learning-rate decay; the final NC1 spans {f['final_nc1']} and NC2 {f['final_nc2']}, not the "
        "orders-of-magnitude collapse of the published protocol.",
        f"- **What survives the correction for multiple comparisons** ({sum(len(v) for v in f['sig'].values())} "
        f"differences in the headline metrics; {sum(f['lost'].values())} comparisons with a raw paired "
        "p below 0.05 lose it after Benjamini-Hochberg):",
        "",
        sig_table,
        "",
        f"- **Three seeds limit what can be shown.** The exact sign-flip test over three pairs cannot go "
        f"below p = {fmt(f['min_sign_flip'], 2)}; only the paired t-test, which assumes normal "
        "differences, reaches significance.",
        "- **Top-1 error, \"no worse\"?** Absence of a significant difference is not evidence of none: "
        "for each hierarchical condition the largest increase in top-1 error its 95% paired interval "
        "still allows is "
        + "; ".join(f"`{g}`: {span(list(h.values()), 2)}" for g, h in f["harm"].items()) + ".",
        "",
        "## What was run",
        "",
        what_was_run(CPU_GRIDS + protocol + gpu),
        "",
        "The protocol of each grid (SGD, learning rates, schedules, analyses) is in "
        "[docs/study.md](study.md) and [docs/protocol.md](protocol.md).",
        "",
        "## Headline tables (CPU-scale study)",
        "",
        "Each cell: the mean over seeds at the last epoch, then (against the grid's CE baseline) the "
        "paired mean difference, its 95% t interval, and stars for the Benjamini-Hochberg adjusted "
        "p-value (* < 0.05, ** < 0.01, *** < 0.001). Raw, Holm and BH p-values, the Welch and "
        "sign-flip tests and the \"no worse than\" bounds are in each grid's `comparisons.csv`.",
        "",
    ]
    for g in CPU_GRIDS:
        parts += [f"### `{g}`", "", headline_table(g), ""]
    parts += [
        "## Collapse during the terminal phase",
        "",
        "How many times NC1 falls (start value / end value, mean over seeds) over three spans: from "
        "epoch 1, from the stable TPT epoch, and across each learning-rate decay. A fold near 1 means "
        "no further collapse.",
        "",
        folds_table(CPU_GRIDS),
        "",
    ]
    parts += ["## The published protocol at full data", ""]
    if protocol:
        parts += [
            "The full training sets (60,000 images), MLP 3 x 1024, 350 epochs (decays at 117 and 233), "
            "one thread per run: about 83 minutes a run on this machine, so each grid of 5 seeds is "
            "days of CPU. **This part of the study is incomplete**: the runs finished so far are "
            "below, one seed each, without statistics. A run's wall time is the time it ran, summed "
            "over its resumes (not the time it was stopped), while it shared the machine's two "
            "cores with other work (builds, tests): a measure of that day, not of the run; TPT epoch '-' means the training error "
            "was never 0 when checked (at every analysis epoch, and after every epoch whose running "
            "training accuracy reached `tpt_check`, docs/config.md).",
            "",
        ]
        for g in protocol:
            parts += [f"### `{g}`", "", runs_table(g), ""]
            control = flat_control_table(g)
            if control:
                parts += ["The flat-tree control, measured instead of trained: each finished CE "
                          "network (its final features and logits) against the grid's tree and "
                          "against the flat tree (`scripts/flat_control.py`, docs/study.md). Against "
                          "the flat tree every mistake has severity 1 and the tree correlation and "
                          "NC1 coarse are undefined (-), whatever the network.", "", control, ""]
    if gpu:
        parts += ["## GPU runs (CIFAR-10, ResNet18)", "",
                  "The full CIFAR-10 training set on one GPU (the machine, the commands and the "
                  "CPU-against-CUDA check are in [`results/gpu/`](../results/gpu)), one seed of "
                  "each condition, no statistics.", ""]
        for g in gpu:
            parts += [f"### `{g}`", "", runs_table(g), ""]
            if unfinished(g):
                parts += [f"Stopped before the end (the GPU time ran out), not shown: "
                          f"{', '.join(unfinished(g))}.", ""]
    parts += ["## Against the literature", "", literature(f), "",
              "## Reproducing", "",
              "```sh",
              "scripts/study.sh run        # train the five CPU-scale grids (resumable)",
              "scripts/study.sh collect    # copy finished runs' text files into results/",
              "scripts/study.sh report     # nclab report for each grid -> docs/results/<grid>/",
              "python3 scripts/results_doc.py   # this page",
              "```", ""]
    return "\n".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if the page is out of date")
    p.add_argument("--page", type=Path, default=PAGE, help="the page (default docs/results.md)")
    args = p.parse_args()
    text = page()
    if args.check:
        if not args.page.exists() or args.page.read_text() != text:
            print(f"{args.page} is out of date with results/ and docs/results/: "
                  "run `python3 scripts/results_doc.py`", file=sys.stderr)
            return 1
        print(f"{args.page} is up to date")
        return 0
    args.page.write_text(text)
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
