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
import collections
import csv
import functools
import json
import math
import re
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple, Optional

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


def condition_of(cell):
    """A run directory's condition: `loss=hxe-0.6_seed=2` -> `hxe-0.6`."""
    return cell.rsplit("_seed=", 1)[0].removeprefix("loss=")


# The loss kinds that use the tree (docs/losses-and-hierarchies.md): the conditions that
# Bertinetto et al.'s claims are about.
HIERARCHICAL = ("hxe", "soft")


def flat_loss_tree(cfg):
    """Whether a run's loss has a flat tree of its own (`loss.hierarchy = "flat"`): its soft
    labels are then label smoothing, whatever tree the run is measured on."""
    own = cfg["loss"].get("hierarchy")
    return own is not None and (own == "flat" or own.startswith("flat:"))


def hierarchical(grid):
    """The conditions of a grid trained with a hierarchical loss on the grid's tree."""
    return {condition_of(cell) for cell, cfg, _ in runs_of(grid)
            if cfg["loss"]["kind"] in HIERARCHICAL and not flat_loss_tree(cfg)}


def contrast_args(grid):
    """The `nclab report` arguments of a grid's contrasts: each label-smoothing control
    `ls-mM` against the soft labels of its mass, `--contrast soft-mM:ls-mM`, once both have runs
    (soft-mM minus ls-mM, paired by seed, is what the tree adds to soft targets).
    scripts/study.sh and the test of the committed reports both take them from here."""
    names = {condition_of(cell) for cell, _, _ in runs_of(grid)}
    out = []
    for ls in sorted(smoothing(grid)):
        soft = "soft-m" + ls.removeprefix("ls-m")
        if soft in names:
            out += ["--contrast", f"{soft}:{ls}"]
    return out


def smoothing(grid):
    """The label-smoothing controls of a grid: soft labels whose loss has the flat tree."""
    return {condition_of(cell) for cell, cfg, _ in runs_of(grid)
            if cfg["loss"]["kind"] == "soft" and flat_loss_tree(cfg)}


@functools.cache
def report_of(grid):
    """The tables of a grid's report: summary rows by condition name, comparison rows by
    (condition name, metric), fold rows by condition name."""
    base = REPORTS / grid
    summary = {r["name"]: r for r in read_csv(base / "summary.csv")}
    label_to_name = {r["condition"]: r["name"] for r in summary.values()}
    comps = {}
    for r in read_csv(base / "comparisons.csv"):
        # A contrast between two conditions (`--contrast`) is not a comparison with CE:
        # contrasts_of reads those.
        if r.get("contrast") == "true":
            continue
        comps[(label_to_name.get(r["condition"], r["condition"]), r["metric"])] = r
    folds = {r["name"]: r for r in read_csv(base / "folds.csv")} if (base / "folds.csv").exists() else {}
    return summary, comps, folds


@functools.cache
def contrasts_of(grid):
    """The contrast rows of a grid's report (`nclab report --contrast`), by (condition name,
    against name, metric)."""
    base = REPORTS / grid
    names = {r["condition"]: r["name"] for r in read_csv(base / "summary.csv")}
    return {(names.get(r["condition"], r["condition"]), names.get(r["baseline"], r["baseline"]),
             r["metric"]): r
            for r in read_csv(base / "comparisons.csv") if r.get("contrast") == "true"}


# ---- formatting ---------------------------------------------------------------------------------

def fmt(v, digits=3):
    """A value with `digits` significant digits ('-' when undefined)."""
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def ceil_sig(v, digits=2):
    """A positive bound rounded up to `digits` significant digits (0.00646 -> 0.0065)."""
    unit = 10 ** (math.floor(math.log10(v)) - digits + 1)
    return math.ceil(v / unit) * unit


def signed(v, digits=2):
    return "-" if v is None else ("+" if v > 0 else "") + fmt(v, digits)


def interval(lo, hi, digits=2):
    """'[lo, hi]' with two significant digits, or up to four where two would print distinct ends
    the same ('[+0.45, +0.45]' becomes '[+0.448, +0.452]')."""
    while digits < 4 and lo != hi and signed(lo, digits) == signed(hi, digits):
        digits += 1
    return f"[{signed(lo, digits)}, {signed(hi, digits)}]"


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


def table(header, rows):
    """A Markdown table: the header cells, then one list of cells per row."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


# ---- sections -----------------------------------------------------------------------------------

def what_was_run(grids):
    rows = []
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
        conditions = sorted({condition_of(name) for name, _, _ in runs})
        rows.append([f"`{g}`", f"{data['name']}, {per} / {test}", arch, cfg["optim"]["epochs"],
                     " ".join(map(str, seeds)), ", ".join(conditions), len(runs)])
    return table(["grid", "data (train / test per class)", "model", "epochs", "seeds", "conditions", "runs"],
                 rows)


def headline_table(grid):
    """Condition x metric: the final mean, and against the baseline the paired difference with
    its 95% interval and the BH-adjusted p (stars)."""
    summary, comps, _ = report_of(grid)
    metrics = [(m, t) for m, t in HEADLINE if any(num(r.get(f"{m}_mean")) is not None for r in summary.values())]
    rows = []
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
            # Every seed's difference the same: no spread, so no t interval to give.
            spread = "on every seed" if lo == hi == d else interval(lo, hi)
            cells.append(f"{fmt(mean)} ({signed(d)} {spread}{stars(p)})")
        rows.append([f"{name} ({r['runs']} runs)", *cells])
    return table(["condition", *(t for _, t in metrics)], rows)


def significant(grid, headline_only=True):
    """The comparisons of the grid's family whose BH-adjusted p is below ALPHA:
    (condition, metric, paired difference, raw p, BH p)."""
    _, comps, _ = report_of(grid)
    out = []
    for (name, m), c in comps.items():
        p = num(c.get("p_bh"))
        if c.get("family") == "true" and p is not None and p < ALPHA and (m in dict(HEADLINE) or not headline_only):
            out.append((name, m, num(c["paired_diff"]), num(c.get("p")), p))
    return out


# The family's metrics (every condition x these against the baseline, docs/report.md) by what
# they measure, for the full-data summary.
THEMES = [
    ("Mistakes", [("top1_error", "top-1 error"), ("top5_error", "top-5 error"), ("hdist@1", "hdist@1"),
                  ("hdist@5", "hdist@5"), ("mistake_severity", "mistake severity")]),
    ("Collapse", [("nc1", "NC1"), ("nc2", "NC2"), ("nc3", "NC3 (W M^T against the ETF)"), ("nc4", "NC4")]),
    ("The tree in the geometry", [("mean_tree_correlation", "tree corr."), ("nc2_tree", "nc2_tree"),
                                  ("nc1_coarse", "NC1 coarse")]),
]


# Reported beside the family, with their raw p: Papyan et al.'s own NC3, which the study's
# family (fixed before the full-data runs) does not hold.
OUTSIDE = [("self_duality", "self-duality (Papyan et al.'s NC3)")]


def raw_significant(grid, metric):
    """The comparisons on `metric` whose raw paired p is below ALPHA, as `significant` returns
    them (no adjusted p: the metric is outside the family)."""
    return [(name, m, num(c["paired_diff"]), num(c.get("p")), None)
            for (name, m), c in report_of(grid)[1].items()
            if m == metric and (num(c.get("p")) or 1.0) < ALPHA]


def by_metric(found, conditions=None, metrics=HEADLINE):
    """Significant differences grouped per metric, in the order of `metrics`:
    (metric title, [(condition, difference)] lower, [...] higher); `found` as `significant`
    returns it, restricted to `conditions` when given."""
    out = []
    for m, title in metrics:
        rows = [(n, d) for n, mm, d, _, _ in found if mm == m and (conditions is None or n in conditions)]
        out.append((title, [r for r in rows if r[1] < 0], [r for r in rows if r[1] > 0]))
    return out


# Differences smaller than this many images are also given as a count of images.
FEW_IMAGES = 50


# The metrics compared by factor as well as by difference (`nclab report`'s RATIO_METRICS): the
# In-short sentences give their paired ratio to CE ('0.018 times CE's', the geometric mean over
# seeds of the ratio).
RATIO_METRICS = ("nc1", "nc1_coarse")


def factors_of(grid):
    """{(condition, metric title): paired ratio to the baseline} of the RATIO_METRICS."""
    titles = dict(m for _, ms in THEMES for m in ms)
    return {(name, titles[m]): num(c.get("paired_ratio"))
            for (name, m), c in report_of(grid)[1].items()
            if m in RATIO_METRICS and num(c.get("paired_ratio")) is not None}


def effects_sentence(found, conditions=None, metrics=HEADLINE, counts=None, factors=None, notes=None):
    """'NC1 lower under a (-0.02), b (-0.03); hdist@5 ...; mistake severity: no significant
    difference' from `by_metric`; with `conditions` (two or more), a direction every one of them
    takes is said as 'lower under all three (-0.03 to -0.02)'. `counts`: {metric title: (N,
    what)} for metrics that are shares of N images: a difference of fewer than FEW_IMAGES of
    them is also given as a count ('-0.00097, about 10 of 10000 test images'). `factors`:
    {(condition, metric title): ratio to the baseline}, given instead of the difference where
    there is one ('0.018 times CE's'). `notes`: {metric title: text} put after that metric's
    clause."""
    def value(title, n, d):
        r = (factors or {}).get((n, title))
        return f"{fmt(r, 2)} times CE's" if r is not None else signed(d)

    def listed(title, rows):
        if conditions is not None and len(conditions) > 1 and {n for n, _ in rows} == set(conditions):
            who = "both" if len(rows) == 2 else f"all {count_word(len(rows))}"
            rs = [(factors or {}).get((n, title)) for n, _ in rows]
            if all(r is not None for r in rs):
                lo, hi = min(rs), max(rs)
                return f"{who} ({span(rs, 2)} times CE's)"
            ds = [d for _, d in rows]
            lo, hi = min(ds), max(ds)
            return f"{who} ({signed(lo)})" if signed(lo) == signed(hi) else f"{who} ({signed(lo)} to {signed(hi)})"
        def count(d):
            n, what = (counts or {}).get(title, (None, None))
            if n is None or abs(d) * n >= FEW_IMAGES:
                return ""
            return f", about {round(abs(d) * n)} of {n} {what}"
        return ", ".join(f"{n} ({value(title, n, d)}{count(d)})" for n, d in rows)
    parts = []
    for title, lower, higher in by_metric(found, conditions, metrics):
        said = (([f"lower under {listed(title, lower)}"] if lower else [])
                + ([f"higher under {listed(title, higher)}"] if higher else []))
        parts.append((f"{title} " + " and ".join(said) if said else f"{title}: no significant difference")
                     + (notes or {}).get(title, ""))
    return "; ".join(parts)


def one_condition(found, name, metrics, factors=None):
    """One condition's significant differences: 'NC1 0.018 times CE's, NC2 -0.18; no significant
    difference in top-1 error, NC4' (`factors` as `effects_sentence` takes them)."""
    diffs = {m: d for n, m, d, _, _ in found if n == name}

    def value(m, title):
        r = (factors or {}).get((name, title))
        return f"{fmt(r, 2)} times CE's" if r is not None else signed(diffs[m])
    said = [f"{title} {value(m, title)}" for m, title in metrics if m in diffs]
    rest = [title for m, title in metrics if m not in diffs]
    return "; ".join(([", ".join(said)] if said else [])
                     + ([f"no significant difference in {', '.join(rest)}"] if rest else []))


def data_sizes(grid):
    """(training images, test images) of a grid's data, from the banner of a run's train.log
    ('N = 60000 train, 10000 test'); None when no run has one."""
    for cell, _, _ in runs_of(grid):
        log = RESULTS / grid / cell / "train.log"
        m = re.search(r"N = (\d+) train, (\d+) test", log.read_text()) if log.exists() else None
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def lr_factors(grid):
    """Conditions trained at a learning rate other than CE's: {condition: lr / CE's lr}."""
    lrs = {condition_of(cell): cfg["optim"]["lr"] for cell, cfg, _ in runs_of(grid)}
    base = lrs.get("ce")
    return {n: lr / base for n, lr in lrs.items() if base and lr != base and n != "ce"}


def lost_significance(grid):
    """Headline comparisons with a raw p below ALPHA that BH takes above it."""
    _, comps, _ = report_of(grid)
    n = 0
    for (_, m), c in comps.items():
        raw, bh = num(c.get("p")), num(c.get("p_bh"))
        if (c.get("family") == "true" and m in dict(HEADLINE) and raw is not None and raw < ALPHA
                and (bh is None or bh >= ALPHA)):
            n += 1
    return n


class Cost(NamedTuple):
    """What a condition's paired 95% interval says about a rise in top-1 error."""
    grid: str
    condition: str
    diff: float
    low: Optional[float]
    high: Optional[float]
    harm_bound: Optional[float]

    @property
    def has_interval(self):
        return self.low is not None and self.low != self.high

    @property
    def is_constant(self):
        """Every seed's difference is the same (low == high): the t-test is undefined, so
        there is no interval, nor a bound from it."""
        return self.low is not None and self.low == self.high


def top1_cost(grid):
    """A Cost per hierarchical condition of the grid with a paired top-1 difference."""
    _, comps, _ = report_of(grid)
    return [Cost(grid, name, num(c["paired_diff"]), num(c["paired_ci95_low"]), num(c["paired_ci95_high"]),
                 num(c.get("harm_bound")))
            for (name, m), c in comps.items()
            if m == "top1_error" and name in hierarchical(grid) and num(c.get("paired_diff")) is not None]


def folds_table(grids):
    rows = [[f"`{g}`", name, fmt(num(report_of(g)[0][name].get("tpt_epoch_mean")), 3),
             fmt(num(r.get("stable_tpt_epoch_mean")), 3),
             *(fmt(num(r.get(f"nc1_fold_{span}")))
               for span in ("total", "after_tpt", "after_stable_tpt", "decay1", "decay2"))]
            for g in grids for name, r in report_of(g)[2].items()]
    return table(["grid", "condition", "TPT epoch", "stable TPT epoch", "NC1 fold, epoch 1 to end",
                  "NC1 fold, TPT to end", "NC1 fold, stable TPT to end", "NC1 fold across decay 1",
                  "across decay 2"], rows)


def unfinished(grid):
    """Cells of a grid with a run directory but no summary (stopped before their end)."""
    return sorted(d.name for d in (RESULTS / grid).glob("*/") if not (d / "summary.json").exists())


def runs_table(grid):
    """One row per committed run (the full-data and GPU grids: one seed, no statistics)."""
    rows = [[name, s["status"], s["epochs"], f"{s['wall_time_s'] / 3600:.2f} h", s.get("tpt_epoch") or "-",
             fmt(s.get("final", {}).get("test_acc"), 4),
             *(fmt(s.get("final", {}).get(m)) for m in ("nc1", "nc2", "nc3", "nc4", "mistake_severity"))]
            for name, _, s in runs_of(grid)]
    return table(["run", "status", "epochs", "wall time", "TPT epoch", "test acc.", "NC1", "NC2", "NC3", "NC4",
                  "mistake severity"], rows)


def flat_control_table(grid):
    """The CE networks of a grid measured against their tree and the flat tree
    (results/<grid>/flat-tree-control.csv, from scripts/flat_control.py); None without it."""
    path = RESULTS / grid / "flat-tree-control.csv"
    if not path.exists():
        return None
    rows = [[r["run"], f"`{r['hierarchy']}`", *(fmt(num(r[k]), 4) for k in (
                "top1_error", "mistake_severity", "hdist@1", "hdist@5", "nc2", "nc2_tree",
                "mean_tree_correlation", "nc1_coarse"))]
            for r in read_csv(path)]
    return table(["run", "measured against", "top-1 error", "mistake severity", "hdist@1", "hdist@5", "NC2",
                  "nc2_tree", "tree corr.", "NC1 coarse"], rows)


# ---- the page -----------------------------------------------------------------------------------

# A fall of NC1 by at least this factor from the stable TPT epoch to the end counts as "an order of
# magnitude during TPT" (Papyan et al. report several).
ORDER = 10.0


def decay_epochs(cfg):
    """The first epochs at a decayed learning rate: floor(E/3) + 1 and floor(2E/3) + 1 for the
    step schedule (docs/config.md), none for the others."""
    e = cfg["optim"]["epochs"]
    return [e // 3 + 1, 2 * e // 3 + 1] if cfg["optim"]["schedule"] == "step" else []


def seeds_of(grid):
    return sorted({c["seed"] for _, c, _ in runs_of(grid)})


def count_word(n):
    return {0: "no", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
            8: "eight", 9: "nine", 10: "ten"}.get(n, str(n))


def plural(n, noun):
    """'one seed', 'three seeds', '8 comparisons'."""
    return f"{count_word(n)} {noun}{'' if n == 1 else 's'}"


def spans_or_is(values, digits, where):
    """'spans a to b', or 'is a <where>' when every value is the same."""
    text = span(values, digits)
    return f"spans {text}" if " to " in text else f"is {text} {where}"


def condition_rows(grids, name):
    """(grid, fold row, summary row) of condition `name` in each grid that has it."""
    return [(g, report_of(g)[2].get(name, {}), report_of(g)[0][name]) for g in grids if name in report_of(g)[0]]


def facts():
    """The numbers the prose quotes, each computed once."""
    cpu_runs = [r for g in CPU_GRIDS for r in runs_of(g)]
    # ce-flat is the CE network again (docs/study.md): its folds are CE's, so it is not counted twice.
    fold_rows = [r for g in CPU_GRIDS for n, r in report_of(g)[2].items() if n != "ce-flat"]
    finals = [s["final"] for _, _, s in cpu_runs]
    hier = [g for g in CPU_GRIDS if g.startswith("hierarchy")]
    protocol = [g for g in PROTOCOL_GRIDS if runs_of(g)]
    protocol_hier = [g for g in protocol if hierarchical(g) and report_of(g)[1]]
    per_class = [c["data"]["per_class"] for _, c, _ in cpu_runs]
    # Runs that end with the same training loss, NC1, NC2 and test accuracy are one network
    # trained again (ce-flat is CE; the hierarchy grids' CE is the replication grids').
    networks = {tuple(s["final"].get(m) for m in ("train_loss", "nc1", "nc2", "test_acc"))
                for _, _, s in cpu_runs}
    return {
        "n_runs": len(cpu_runs),
        "n_networks": len(networks),
        "per_class": f"{min(per_class)}-{max(per_class)}",
        "cpu_seeds": len({c["seed"] for _, c, _ in cpu_runs}),
        "n_tpt": sum(s.get("tpt_epoch") is not None for _, _, s in cpu_runs),
        "fold_total": span([num(r.get("nc1_fold_total")) for r in fold_rows], 3, "x"),
        "fold_first_tpt": span([num(r.get("nc1_fold_after_tpt")) for r in fold_rows], 3, "x"),
        "fold_tpt": span([num(r.get("nc1_fold_after_stable_tpt")) for r in fold_rows], 3, "x"),
        "min_fold_total": min(num(r.get("nc1_fold_total")) or 0 for r in fold_rows),
        # TPT as Papyan et al. date it (the first epoch with zero training error) starts no later
        # than the stable TPT, so its fall is the larger: the fair test of their claim.
        "max_fold_tpt": max(num(r.get("nc1_fold_after_tpt")) or 0 for r in fold_rows),
        "fold_decay": span([num(r.get(f"nc1_fold_decay{k}")) for r in fold_rows for k in (1, 2)], 3, "x"),
        "final_nc1": span([f.get("nc1") for f in finals], 2),
        "final_nc2": span([f.get("nc2") for f in finals], 2),
        "nc4_zero": sum(f.get("nc4") == 0 for f in finals),
        "sig": {g: significant(g) for g in CPU_GRIDS},
        "sig_other": sum(m not in dict(HEADLINE) for g in CPU_GRIDS
                         for _, m, *_ in significant(g, headline_only=False)),
        "lost": {g: lost_significance(g) for g in CPU_GRIDS},
        "cost": {g: top1_cost(g) for g in hier + protocol_hier},
        "hier": hier,
        # The grids where a hierarchical loss meets CE: Bertinetto et al.'s claims are judged on them.
        "evidence": hier + protocol_hier,
        "sig_full": {g: significant(g) for g in protocol},
        "full_seeds": {g: seeds_of(g) for g in protocol},
        "min_sign_flip": min(num(c.get("sign_flip_p")) or 1.0 for g in CPU_GRIDS
                             for c in report_of(g)[1].values()),
        "ce": condition_rows(CPU_GRIDS, "ce"),
        "ce_full": condition_rows(protocol, "ce"),
        "protocol": protocol,
        "protocol_folds": [(g, n, r, report_of(g)[0][n]) for g in protocol for n, r in report_of(g)[2].items()],
    }


def verdict(values, agree, differ):
    """'agrees' when `agree` holds for every defined value, 'differs' when `differ` does,
    'mixed' otherwise ('cannot say' without values)."""
    vs = [v for v in values if v is not None]
    if not vs:
        return "**cannot say**"
    if all(agree(v) for v in vs):
        return "**agrees**"
    if all(differ(v) for v in vs):
        return "**differs**"
    return "**mixed**"


def full_data_folds(folds):
    """The NC1 folds of the full-data runs, a clause per condition (means over its runs)."""
    parts = []
    for g, n, fold, summary in folds:
        total, after_tpt = num(fold.get("nc1_fold_total")), num(fold.get("nc1_fold_after_stable_tpt"))
        train_acc, tpt = num(summary.get("train_acc_mean")), num(summary.get("tpt_epoch_mean"))
        stable_tpt, stable_n = num(summary.get("stable_tpt_epoch_mean")), int(summary["stable_tpt_epoch_n"] or 0)
        runs = int(summary["runs"])
        # Runs of an older nclab record no stable TPT: the report dates it from the analyses,
        # which can only be later than the trainer's own check.
        dated = sum("stable_tpt_epoch" not in summ and condition_of(cell) == n
                    for cell, _, summ in runs_of(g))
        which = f"mean epoch {fmt(stable_tpt, 4)}" + (
            f", {dated} of its runs dated from the analysis epochs (an upper bound: analyses are "
            "spaced, so such a date can only be late)" if dated else "") + (
            f", in {stable_n} of its {runs} runs; the "
            + ("other" if runs - stable_n == 1 else "others") + " never stable" if stable_n < runs else "")
        if stable_tpt is None and tpt is not None:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1, and no stable TPT (its training "
                         f"error first reached 0 at epoch {fmt(tpt)} but not for good; training "
                         f"accuracy {fmt(train_acc, 6)} at the end)")
        elif stable_tpt is None:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1, and no stable TPT (its training "
                         f"error was never 0 when checked; training accuracy {fmt(train_acc, 6)} at the end)")
        elif after_tpt is None:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1; from its stable TPT ({which}) "
                         "undefined (a value missing or not positive)")
        else:
            parts.append(f"`{g}` {n}: {fmt(total)}x from epoch 1, {fmt(after_tpt)}x from its stable TPT "
                         f"({which})")
    return "; ".join(parts)


def papyan(f):
    """Papyan, Han and Donoho (2020), point by point. Their claims are about CE networks, so the
    CE runs judge them; the other losses are in the tables above."""
    # TPT as the paper dates it (the first epoch with zero training error) judges the claim;
    # the stable TPT (zero for good) beside it.
    ce_cpu = [num(r.get("nc1_fold_after_tpt")) for _, r, _ in f["ce"]]
    ce_full = [num(r.get("nc1_fold_after_tpt")) for _, r, _ in f["ce_full"]]
    stable_cpu = [num(r.get("nc1_fold_after_stable_tpt")) for _, r, _ in f["ce"]]
    stable_full = [num(r.get("nc1_fold_after_stable_tpt")) for _, r, _ in f["ce_full"]]
    nc1 = verdict(ce_cpu + ce_full, lambda v: v >= ORDER, lambda v: v < ORDER)
    nearest = max(((v, g) for (g, _, _), v in zip(f["ce"] + f["ce_full"], ce_cpu + ce_full) if v is not None),
                  default=None)
    nc23 = {m: [num(r.get(f"{m}_fold_after_stable_tpt")) for _, r, _ in f["ce"] + f["ce_full"]]
            for m in ("nc2", "nc3")}
    nc23_final = {m: [num(s.get(f"{m}_mean")) for _, _, s in f["ce"] + f["ce_full"]] for m in ("nc2", "nc3")}
    nc4 = [num(s.get("nc4_mean")) for _, _, s in f["ce"] + f["ce_full"]]
    full = full_data_folds(f["protocol_folds"])
    full_seeds = "; ".join(f"`{g}` {seeds_so_far(g)}" for g, _, _ in f["ce_full"])
    # Where CE's TPT starts only after the last decay, TPT is the last learning-rate phase alone.
    late = []
    for g, _, s in f["ce_full"]:
        cfg = runs_of(g)[0][1]
        stable, last = num(s.get("stable_tpt_epoch_mean")), decay_epochs(cfg)[-1]
        epochs = cfg["optim"]["epochs"]
        if stable is not None and stable >= last:
            late.append(f"On `{g}` CE's training error stays at 0 only from epoch {fmt(stable, 4)} (mean), "
                        f"after the last learning-rate decay (epoch {last}): its TPT there is the last "
                        f"phase alone, about {round(epochs - stable)} epochs at the smallest rate, so "
                        "the full-data fall measures that phase.")
    return [
        "**Papyan, Han and Donoho (2020)**, *Prevalence of neural collapse during the terminal phase "
        "of deep learning training*. Their claims are about networks trained with CE, so the CE "
        "runs judge them here (the other losses are in the tables above).",
        "",
        f"- *NC1 falls by orders of magnitude during TPT.* The paper's TPT starts at the first epoch "
        f"with zero training error: from it to the end, CE's NC1 falls {span(ce_cpu, 3, 'x')} in the "
        "CPU-scale grids"
        + (f" and {span(ce_full, 3, 'x')} at full data ({full_seeds})" if ce_full else "")
        + f"; from the stable TPT epoch (zero training error for good), {span(stable_cpu, 3, 'x')}"
        + (f" and {span(stable_full, 3, 'x')}" if ce_full else "")
        + f". A fall of at least {fmt(ORDER)}x (one order of magnitude, this page's threshold) counts "
        f"as agreement: {nc1}"
        + (f" (no CE condition falls {fmt(ORDER)}x during TPT on average; the nearest, "
           f"{fmt(nearest[0], 3)}x on `{nearest[1]}`)." if nc1 == "**differs**" and nearest else ".")
        + f" Over the whole run the falls are larger, from epoch 1, when the network is near random "
        f"(every condition, CPU scale: {f['fold_total']}), which is not the paper's claim. At full "
        f"data, per condition (means over its runs): {full or 'none finished'}."
        + "".join(" " + x for x in late),
        f"- *The class means and the classifier approach a simplex ETF during TPT (NC2, NC3 -> 0).* "
        "Measured by NC2 and nclab's NC3 (W M^T against the ETF; the classifier's alignment with "
        "the means alone is self-duality, above). "
        f"From the stable TPT epoch to the end CE's NC2 falls {span(nc23['nc2'], 3, 'x')} and NC3 "
        f"{span(nc23['nc3'], 3, 'x')} (above 1: still falling), to final values of "
        f"{span(nc23_final['nc2'], 2)} (NC2) and {span(nc23_final['nc3'], 2)} (NC3), where 0 is an "
        "exact ETF. In direction: "
        + verdict(nc23["nc2"] + nc23["nc3"], lambda v: v > 1, lambda v: v <= 1)
        + "; whether they would reach 0 with longer training these runs **cannot say**.",
        f"- *NC4: the network decides like the nearest class mean.* CE's final NC4 (the share of "
        f"training images where the two disagree, mean per grid) {spans_or_is(nc4, 2, 'in every grid')}; every value "
        f"below 0.01 counts as agreement: "
        + verdict(nc4, lambda v: v < 0.01, lambda v: v >= 0.01) + ".",
    ]


def muller(f):
    """Müller, Kornblith and Hinton (2019), point by point, on the label-smoothing controls of
    the full-data grids against CE: the tight clusters, their equal distances, and the
    similarities between classes that label smoothing erases."""
    controls = [(g, n) for g in f["protocol"] for n in sorted(smoothing(g)) if (n, "nc1") in report_of(g)[1]]
    if not controls:
        return []

    def said(metric, title, better):
        """Per control: '{title} {diff} [{interval}]{stars}' (or the ratio for NC1), and whether
        it is significant in the `better` direction, the other, or neither."""
        parts, sides = [], []
        for g, n in controls:
            c = report_of(g)[1][(n, metric)]
            d, lo, hi = (num(c.get(k)) for k in ("paired_diff", "paired_ci95_low", "paired_ci95_high"))
            p = num(c.get("p_bh"))
            rlo, rhi = num(c.get("paired_ratio_ci95_low")), num(c.get("paired_ratio_ci95_high"))
            value = (f"{fmt(num(c.get('paired_ratio')), 2)} times CE's [{fmt(rlo, 2)}, {fmt(rhi, 2)}]{stars(p)}"
                     if metric == "nc1" else f"{signed(d)} {interval(lo, hi)}{stars(p)}")
            means = report_of(g)[0]
            ends = (f", {fmt(num(means[n].get(f'{metric}_mean')), 3)} against CE's "
                    f"{fmt(num(means['ce'].get(f'{metric}_mean')), 3)}" if "ce" in means else "")
            parts.append(f"{title} {value} ({n} on `{g}`, {plural(int(c['n_pairs']), 'pair')}{ends})")
            sig = p is not None and p < ALPHA
            sides.append(None if not sig else (d < 0) == (better == "lower"))
        return "; ".join(parts), sides

    def judge(sides):
        if all(s is True for s in sides):
            return "**agrees**"
        if all(s is False for s in sides):
            return "**differs**"
        if all(s is None for s in sides):
            return "**cannot say** (no significant difference)"
        return "**mixed**"

    nc1, nc1_sides = said("nc1", "NC1", "lower")
    nc2, nc2_sides = said("nc2", "NC2", "lower")
    hd5, hd5_sides = said("hdist@5", "hdist@5", "higher")
    tree, tree_sides = said("mean_tree_correlation", "tree correlation", "lower")
    erased = judge(hd5_sides)
    geometry = judge(tree_sides)
    seeds = "; ".join(f"`{g}` {seeds_so_far(g)}" for g in f["protocol"])
    return [
        "**Müller, Kornblith and Hinton (2019)**, *When does label smoothing help?*: label "
        "smoothing against CE, on the full-data control (label smoothing with the mass of a "
        f"soft-label condition on the true class, measured on the grid's tree; {seeds}). Stars: "
        "Benjamini-Hochberg within the grid's family, as above.",
        "",
        "- *Label smoothing draws each class's penultimate features into a tight cluster.* "
        f"{nc1}: {judge(nc1_sides)}.",
        "- *The clusters are about equally far apart.* Measured by NC2, the distance of the class "
        f"means from a simplex ETF (equal norms and angles; 0 is an ETF): {nc2}: in direction, "
        f"{judge(nc2_sides)}.",
        "- *The similarities between classes are erased.* In the predictions, a top five less "
        f"ordered by the tree means a higher hdist@5: {hd5}: {erased}. In the geometry, class means "
        f"less ordered by the tree mean a lower tree correlation: {tree}: {geometry}.",
    ]


def bertinetto(f):
    """Bertinetto et al. (2020), point by point, on the grids where HXE and soft labels meet CE:
    the CPU-scale hierarchy grids and the full-data grids."""
    def sig(metric):
        return [(g, n, d) for g in f["evidence"] for n, m, d, _, _ in {**f["sig"], **f["sig_full"]}[g]
                if m == metric and n in hierarchical(g)]

    def direction(found):
        """'lower' significant differences agree, 'higher' ones differ."""
        if not found:
            return "**cannot say**"
        return verdict([d for _, _, d in found], lambda d: d < 0, lambda d: d > 0)

    def per_scale(found):
        """'(8 at CPU scale, 7 at full data)'."""
        cpu = sum(g in f["hier"] for g, _, _ in found)
        return f"({cpu} at CPU scale, {len(found) - cpu} at full data)" if f["sig_full"] else ""

    sev, hd5, top1 = sig("mistake_severity"), sig("hdist@5"), sig("top1_error")
    # Mistake severity's point estimates per scale, and at full data the largest reduction the
    # intervals allow (relative to CE's mean).
    sev_rows = {g: [c for (n, m), c in report_of(g)[1].items()
                    if m == "mistake_severity" and n in hierarchical(g) and num(c.get("paired_diff")) is not None]
                for g in f["evidence"]}
    def estimates(grids):
        ds = [num(c["paired_diff"]) for g in grids for c in sev_rows[g]]
        return sum(d < 0 for d in ds), sum(d > 0 for d in ds), len(ds)
    full = [g for g in f["evidence"] if g not in f["hier"]]
    cpu_low, cpu_high, cpu_n = estimates(f["hier"])
    full_low, full_high, full_n = estimates(full)
    lows = [num(c["paired_ci95_low"]) for g in full for c in sev_rows[g] if num(c.get("paired_ci95_low")) is not None]
    ce_sev = [num(report_of(g)[0]["ce"].get("mistake_severity_mean")) for g in full]
    sev_detail = (f" The point estimates are lower in {cpu_low} of {cpu_n} conditions at CPU scale"
                  + (f" and higher in {full_high} of {full_n} at full data, where the intervals allow a "
                     f"reduction of at most {fmt(-min(lows), 2)} ({fmt(-100 * min(lows) / ce_sev[0], 2)}% of "
                     f"CE's {fmt(ce_sev[0], 3)}; {fmt(-100 * min(lows) / (ce_sev[0] - 1), 2)}% of its "
                     "excess over 1, the least distance between two classes)"
                     if full_n and lows and len(full) == 1 else "")
                  + ".")
    # Unadjusted intervals wholly on one side of 0 (none survives the correction when sev is empty).
    sides = {side: [(g, name, num(c["paired_ci95_low"]), num(c["paired_ci95_high"]))
                    for g in f["evidence"] for (name, m), c in report_of(g)[1].items()
                    if m == "mistake_severity" and name in hierarchical(g)
                    and num(c.get("paired_ci95_low")) is not None
                    and (num(c["paired_ci95_low"]) > 0 if side == "above" else num(c["paired_ci95_high"]) < 0)]
             for side in ("above", "below")}
    for side, word in (("above", "against the paper's claim"), ("below", "in its direction")):
        if sides[side]:
            sev_detail += (" Before the correction, " + "; ".join(
                f"{name} on `{g}` has an interval wholly {side} 0 ([{signed(lo)}, {signed(hi)}])"
                for g, name, lo, hi in sides[side]) + f", {word}.")
    for g in full:
        v = image_verdicts(g)["mistake_severity"]
        found = [(word, sorted(n for n in v[key] if n in hierarchical(g)))
                 for key, word in (("kept", "stays clear of 0"), ("lost", "no longer clears 0"),
                                   ("open", "is not known yet to stay clear of 0"))]
        said = [f"{', '.join(names)}: {word}" for word, names in found if names]
        if said:
            sev_detail += (f" With what a new sample of test images would add (on `{g}`, "
                           "[below](#what-another-test-set-would-add)), the significant severity "
                           "difference of " + "; ".join(said) + ".")
    costs = [c for cs in f["cost"].values() for c in cs]
    exact = [c for c in costs if c.is_constant]
    significant_top1 = {(g, n) for g, n, _ in top1}
    above = [c for c in costs if c.has_interval and c.low > 0 and (c.grid, c.condition) not in significant_top1]
    bounds = [c for c in costs if c.has_interval and c.harm_bound is not None]
    below = [c for c in bounds if c.harm_bound <= 0]
    def listed(found):
        """'a (+0.1), b (-0.2) on `g1`; c (+0.3) on `g2`' from (grid, condition, difference)."""
        grids = dict.fromkeys(g for g, _, _ in found)
        return "; ".join(", ".join(f"{n} ({signed(d)})" for gg, n, d in found if gg == g) + f" on `{g}`"
                         for g in grids)

    def named(cs):
        return listed([(c.grid, c.condition, None) for c in cs]).replace(" (-)", "")
    scales = f"the CPU-scale hierarchy grids ({count_word(f['cpu_seeds'])} seeds)" + "".join(
        f" and the full-data grid `{g}` ({seeds_so_far(g)})" for g in f["sig_full"] if g in f["evidence"])
    up, down = [r for r in top1 if r[2] > 0], [r for r in top1 if r[2] < 0]
    others = f"the other {len(costs) - len(top1)} condition-grid pairs"
    lr = {(g, n): x for g in f["evidence"] for n, x in lr_factors(g).items()}
    confounded = [f"{n} trains at {fmt(lr[(g, n)], 4)}x CE's learning rate" for g, n, _ in up if (g, n) in lr]
    caveat = (" (" + "; ".join(confounded) + ", so its cost may be the step size's)") if confounded else ""
    if up and not down:
        top1_verdict = (f"**Agrees only in part**: a cost survives the correction under {listed(up)}{caveat}; "
                        f"in {others} none does.")
    elif up:
        top1_verdict = (f"**Agrees only in part**: a cost survives the correction under {listed(up)}{caveat}, "
                        f"a gain under {listed(down)}, and neither in {others}.")
    elif down:
        top1_verdict = f"**Differs**: where the difference survives the correction it is a gain ({listed(down)})."
    else:
        top1_verdict = ("**Cannot say** after the correction: no significant cost, and intervals too "
                        "wide to rule out the one the paper reports.")
    for g in full:
        v = image_verdicts(g)["top1_error"]
        lost = sorted(n for n in v["lost"] if n in hierarchical(g))
        open_ = sorted(n for n in v["open"] if n in hierarchical(g))
        if lost:
            top1_verdict += (f" On `{g}`, the top-1 differences of {', '.join(lost)} no longer clear 0 "
                             "once the sampling of the test images is added.")
        if open_:
            top1_verdict += (f" On `{g}`, whether the top-1 differences of {', '.join(open_)} stay clear "
                             "of 0 once the sampling of the test images is added is not known yet: only "
                             "a bound of that term (larger in expectation) is known so far, and with it their intervals "
                             "include 0.")
    return [
        f"**Bertinetto et al. (2020)**, *Making better mistakes*: HXE and soft labels against CE, on {scales}.",
        "",
        "- *HXE and soft labels lower the severity of mistakes.* Significant after Benjamini-Hochberg "
        f"in {plural(len(sev), 'comparison')}" + (f": {listed(sev)}" if sev else "") + ": " + direction(sev)
        + ("." if sev else ": no difference survives the correction at either scale.") + sev_detail,
        f"- *Top-k predictions become hierarchically closer (hdist@k for k > 1).* hdist@5 differs "
        f"after Benjamini-Hochberg in {plural(len(hd5), 'comparison')} {per_scale(hd5)}, "
        f"{sum(d < 0 for _, _, d in hd5)} of them lower: " + direction(hd5) + ".",
        f"- *At a cost in top-1 accuracy.* Top-1 error differs after Benjamini-Hochberg in "
        f"{plural(len(top1), 'comparison')}" + (f" ({listed(top1)})" if top1 else "") + ". "
        + (f"Before the correction only, {plural(len(above), 'other condition')} "
           f"{'has' if len(above) == 1 else 'have'} a 95% interval wholly above 0 ("
           + "; ".join(f"{c.condition} on `{c.grid}`: [{signed(c.low)}, {signed(c.high)}]" for c in above)
           + "), in the direction of the paper's small cost. " if above else "")
        + "The largest worsening each condition's interval allows is "
        + span([c.harm_bound for c in bounds if c.harm_bound > 0], 2)
        + (f" (for {named(below)} the unadjusted interval ends below 0, at "
           f"{', '.join(signed(c.harm_bound) for c in below)})" if below else "")
        + (f"; {named(exact)}: every seed's difference is the same, so there is no interval" if exact else "")
        + ". " + top1_verdict,
    ]


def scales_table(f):
    """Each condition run at both scales: the CPU-scale grids (subsets, mean over seeds) beside
    the full-data grid (its seeds so far)."""
    rows = []
    for pg in f["protocol"]:
        dataset = runs_of(pg)[0][1]["data"]["name"]
        cpu = [g for g in CPU_GRIDS if runs_of(g)[0][1]["data"]["name"] == dataset]
        for name in report_of(pg)[0]:
            # The first CPU-scale grid with the condition (the grids share their CE runs).
            here = condition_rows(cpu, name)[:1]
            if not here:
                continue
            for g, folds, s in here + condition_rows([pg], name):
                per = runs_of(g)[0][1]["data"]["per_class"] or "all"
                rows.append([name, f"`{g}`", per, s["runs"], fmt(num(s.get("test_acc_mean")), 4),
                             *(fmt(num(s.get(f"{m}_mean"))) for m in
                               ("nc1", "nc2", "nc3", "nc4", "mistake_severity", "hdist@5")),
                             fmt(num(folds.get("nc1_fold_after_tpt"))),
                             fmt(num(folds.get("nc1_fold_after_stable_tpt")))])
    if not rows:
        return None
    return table(["condition", "grid", "images per class", "runs", "test acc.", "NC1", "NC2", "NC3", "NC4",
                  "mistake severity", "hdist@5", "NC1 fold, TPT to end", "NC1 fold, stable TPT to end"],
                 rows)


def spans_sentence(grids):
    """The analysis epochs each decay fold spans, per grid (the same for every condition of a grid)."""
    out = []
    for g in grids:
        folds = next(iter(report_of(g)[2].values()), None)
        if folds:
            out.append(f"`{g}` " + ", ".join(
                f"{folds.get(f'decay{k}_from_epoch')}-{folds.get(f'decay{k}_to_epoch')}" for k in (1, 2)))
    return "; ".join(out)


def in_short(f):
    weak = f["max_fold_tpt"] < ORDER
    sig_rows = [[f"`{g}`", name, m, signed(d, 3), fmt(p, 2), fmt(pbh, 2)]
                for g in CPU_GRIDS for name, m, d, p, pbh in f["sig"][g]]

    def no_worse(costs):
        """The bounds of the conditions with an interval and no significant rise, then those
        with a significant rise, those whose interval ends below 0 and those without one."""
        risen = {(g, n) for g, found in {**f["sig"], **f["sig_full"]}.items()
                 for n, m, d, _, _ in found if m == "top1_error" and d > 0}
        bounds = [c for c in costs if c.has_interval and c.harm_bound is not None]
        text = span([c.harm_bound for c in bounds if c.harm_bound > 0 and (c.grid, c.condition) not in risen], 2)
        notes = [f"{c.condition}: a rise of {signed(c.diff, 2)} that survives the correction, up to "
                 f"{fmt(c.harm_bound, 2)}" for c in bounds if (c.grid, c.condition) in risen]
        notes += [f"{c.condition}: the interval ends below 0, at {signed(c.harm_bound, 2)}"
                  for c in bounds if c.harm_bound <= 0]
        notes += [f"{c.condition}: every seed's difference is {signed(c.diff, 2)}, no interval"
                  for c in costs if c.is_constant]
        return text + (" (" + "; ".join(notes) + ")" if notes else "")

    full = full_data_bullet(f) + floor_bullet(f["protocol"]) + terminal_phase_bullet(f["protocol"])
    lead = lead_sentence(f["protocol"])
    return [
        "## In short",
        "",
    ] + ([
        "At full data (the training protocol of Papyan, Han and Donoho 2020: " + protocol_words(f["protocol"])
        + ", with an MLP in place of their convolutional networks; the stronger evidence"
        + ("; provisional while its seeds land" if any(cells_left(g) for g in f["protocol"]) else "")
        + "), then at CPU scale." + names_key(CPU_GRIDS + f["protocol"]), "",
    ] + ([lead, ""] if lead else []) + [
    ] + full + [""] if full else []) + [
        "- **"
        + ("In the CPU-scale study, every run reaches zero training error" if f["n_tpt"] == f["n_runs"] else
           f"In the CPU-scale study, {f['n_tpt']} of {f['n_runs']} runs reach zero training error")
        + (" and NC1 falls under every loss" if f["min_fold_total"] > 1 else "")
        + (f", but during TPT NC1 falls less than {fmt(ORDER)}x in every condition.** " if weak else ".** ")
        + f"The training error reached 0 in {f['n_tpt']} of {f['n_runs']} runs and NC4 ended at exactly "
        f"0 in {f['nc4_zero']}. NC1 falls {f['fold_total']} from epoch 1 to the end, but only "
        f"{f['fold_first_tpt']} from the first epoch with zero training error (where Papyan et al. "
        f"start TPT) to the end, {f['fold_tpt']} from the stable TPT epoch, and {f['fold_decay']} over each "
        f"learning-rate phase that a decay starts; the final NC1 of a run spans {f['final_nc1']} and its "
        f"NC2 {f['final_nc2']}.",
        f"- **What survives the correction for multiple comparisons (CPU scale).** "
        f"{sum(len(v) for v in f['sig'].values())} differences in the headline metrics of the CPU-scale "
        "grids are significant after Benjamini-Hochberg (below; "
        f"{f['sig_other']} more in the family's other metrics, such as `nc2_tree` and `top5_error`, are in "
        f"each grid's `comparisons.csv`); {sum(f['lost'].values())} headline comparisons with a raw p "
        "below 0.05 lose it after the correction:",
        "",
        table(["grid", "condition", "metric", "paired difference", "p", "p (BH)"], sig_rows),
        "",
        f"- **{count_word(f['cpu_seeds']).capitalize()} seeds limit what can be shown.** The exact "
        f"sign-flip test over {count_word(f['cpu_seeds'])} pairs cannot go below p = "
        f"{fmt(f['min_sign_flip'], 2)}, so every significant result above rests on the paired "
        f"t-test and its assumption of normal differences, with {f['cpu_seeds'] - 1} degrees of freedom.",
        "- **Top-1 error, \"no worse\"?** Absence of a significant difference is not evidence of none: "
        "the largest increase in top-1 error each hierarchical condition's 95% paired interval "
        "still allows is "
        + "; ".join(f"`{g}`: {no_worse(cs)}" for g, cs in f["cost"].items()) + "."
        + images_note(f["cost"]),
    ]


def images_note(costs):
    """' These bounds cover the seeds only: ...' for the grids whose test predictions bound
    or estimate what a new sample of test images adds to top-1 error ('' without)."""
    said = []
    for g in costs:
        rows = test_image_rows(g) if g in PROTOCOL_GRIDS else []
        widths = [cells["top1_error"][2] for name, _, _, cells in rows if name in hierarchical(g)]
        if widths:
            exact = all(cells["top1_error"][4] for name, _, _, cells in rows if name in hierarchical(g))
            said.append(f"on `{g}` a new sample of test images adds a half-width of "
                        + (f"{span(widths, 2)}" if exact else f"up to {fmt(max(widths), 2)}")
                        + " to each")
    if not said:
        return ""
    return (" These bounds cover the seeds only; " + "; ".join(said)
            + " ([what another test set would add](#what-another-test-set-would-add)).")


# The loss kinds in words.
KIND_NAMES = {"ce": "CE", "mse": "MSE", "hxe": "HXE", "soft": "soft labels"}


def lead_sentence(grids):
    """The answer in one sentence, from the first full-data grid with hierarchical conditions:
    what the hierarchical losses do to NC1, to the geometry (soft labels), to hdist@5, and how
    large their top-1 differences are; every number from the grid's report ('' without one)."""
    for g in grids:
        hier = hierarchical(g)
        if not hier or not report_of(g)[1]:
            continue
        found = significant(g, headline_only=False)
        kinds = {condition_of(cell): cfg["loss"]["kind"] for cell, cfg, _ in runs_of(g)}
        diffs = lambda m, names: [d for n, mm, d, _, _ in found if mm == m and n in names]
        said = []
        factors = factors_of(g)
        nc1 = [factors[(n, "NC1")] for n in hier if (n, "NC1") in factors and n in
               {n for n, mm, d, _, _ in found if mm == "nc1" and d < 0}]
        if nc1:
            said.append(f"tighten the classes (NC1 {span(nc1, 2)} times CE's)")
        soft = {n for n in hier if kinds.get(n) == "soft"}
        nc2 = [d for d in diffs("nc2", soft) if d > 0]
        tree = [d for d in diffs("mean_tree_correlation", soft) if d > 0]
        if nc2 and len(nc2) == len(soft):
            toward = len(tree) == len(soft)
            closer = {n for n, mm, d, _, _ in found if mm == "nc2_tree" and n in soft and d < 0}
            farther = sorted(n for n, mm, d, _, _ in found if mm == "nc2_tree" and n in soft and d > 0)
            same = sorted(soft - closer - set(farther))
            target = ("" if closer else
                      ", though not nearer the tree's target geometry (`nc2_tree` "
                      + " and ".join(([f"higher under {', '.join(farther)}"] if farther else [])
                                     + ([f"unchanged under {', '.join(same)}"] if same else []))
                      + ")")
            said.append("soft labels move the class means off the simplex ETF"
                        + (" into an order nearer the tree's" if toward else "")
                        + f" (NC2 {signed(min(nc2))} to {signed(max(nc2))}"
                        + (f", tree correlation {signed(min(tree))} to {signed(max(tree))}" if toward else "")
                        + ")" + (target if toward else ""))
        hd5 = diffs("hdist@5", hier)
        if hd5 and all(d < 0 for d in hd5) and len(hd5) == len(hier):
            fl = floor_of(g)
            on = [n for n in (fl.on if fl else []) if n in hier]
            said.append(f"every one lowers hdist@5 ({signed(min(hd5))} to {signed(max(hd5))})"
                        + (f", {' and '.join(sorted({KIND_NAMES.get(kinds[n], kinds[n]) for n in on}))} to within "
                           f"{fmt(100 * ON_FLOOR, 1)}% of the floor the tree allows" if on else ""))
        sev = diffs("mistake_severity", hier)
        if not sev:
            said.append("none lowers the severity of top-1 mistakes significantly")
        else:
            lower = sorted(n for n, mm, d, _, _ in found if mm == "mistake_severity" and n in hier and d < 0)
            higher = sorted(n for n, mm, d, _, _ in found if mm == "mistake_severity" and n in hier and d > 0)
            kept = set(image_verdicts(g)["mistake_severity"]["kept"])
            beyond = ", beyond what another test set could move" if set(lower + higher) <= kept else ""
            said.append("the severity of top-1 mistakes is "
                        + " and ".join(([f"lower under {', '.join(lower)}"] if lower else [])
                                       + ([f"higher under {', '.join(higher)}, against Bertinetto et al.'s claim"]
                                          if higher else []))
                        + f" ({', '.join(signed(d) for d in sorted(sev))} on CE's "
                        + fmt(num(report_of(g)[0]["ce"].get("mistake_severity_mean")), 3) + f"{beyond})")
        top1 = diffs("top1_error", hier)
        sizes = data_sizes(g)
        if sizes:
            v = image_verdicts(g)["top1_error"]
            largest = max((abs(d) for d in top1), default=None)
            d_of = {n: d for n, mm, d, _, _ in found if mm == "top1_error" and n in hier}
            comps = report_of(g)[1]
            def just(n):
                """', only just' when the widened interval's end nearer 0 lies within a tenth of
                its half-width of 0."""
                c = comps.get((n, "top1_error")) or {}
                lo, hi = num(c.get("widened_ci95_low")), num(c.get("widened_ci95_high"))
                if lo is None or hi is None:
                    return ""
                return ", only just" if min(abs(lo), abs(hi)) < 0.1 * (hi - lo) / 2 else ""
            def moves(names):
                """'up under a (+0.1) and down under b (-0.2)'."""
                up = [f"{n} ({signed(d_of[n])}{just(n) if n in v['kept'] else ''})"
                      for n in sorted(names) if d_of.get(n, 0) > 0]
                down = [f"{n} ({signed(d_of[n])}{just(n) if n in v['kept'] else ''})"
                        for n in sorted(names) if d_of.get(n, 0) < 0]
                return " and ".join(([f"up under {', '.join(up)}"] if up else [])
                                    + ([f"down under {', '.join(down)}"] if down else []))
            verdicts = [(moves(names), words) for names, words in (
                (v["kept"], "beyond what another test set could move"),
                (v["open"], "not yet shown to outlast another test set"),
                (v["lost"], "within what another test set could move")) if moves(names)]
            notes = "; ".join(f"{names}, {words}" for names, words in verdicts)
            biggest = max(d_of, key=lambda n: abs(d_of[n]), default=None)
            control = "the step-size control " if biggest in lr_factors(g) else ""
            said.append("their top-1 error changes " + (
                f"by {round(largest * sizes[1])} of {sizes[1]:,} test images at the most "
                f"(the largest point estimate, under {control}{biggest})"
                + (f": {notes}" if notes else "")
                if largest is not None else "by no significant amount"))
        if said:
            per = collections.Counter(condition_of(cell) for cell, _, _ in runs_of(g))
            lo, hi = min(per.values()), max(per.values())
            seeds = f"{lo}" if lo == hi else f"{lo} to {hi}"
            control = "".join(control_sentence(g, n, found, factors) for n in sorted(smoothing(g)))
            return (f"**The answer so far, at full data (`{g}`, {seeds} seeds per condition, "
                    "provisional):** the hierarchical losses " + "; ".join(said) + "." + control)
    return ""


def control_sentence(grid, name, found, factors):
    """' Label smoothing with the mass of soft-m0.5 on the true class (ls-m0.5, 2 seeds: soft
    targets without the tree), against CE: NC1: 0.2 times CE's (soft-m0.5: 0.066 times CE's), ...':
    the control's geometry beside that of the soft labels with the same mass (`ls-mM` and
    `soft-mM`), each significant difference after the correction, or its absence."""
    mass = name.removeprefix("ls-m")
    twin = f"soft-m{mass}"
    per = collections.Counter(condition_of(cell) for cell, _, _ in runs_of(grid))
    diffs = {(n, m): d for n, m, d, _, _ in found}

    def value(n, m, title):
        if (n, m) not in diffs:
            return "no significant difference"
        r = factors.get((n, title))
        return f"{fmt(r, 2)} times CE's" if r is not None else signed(diffs[(n, m)])
    parts = []
    for m, title in [("nc1", "NC1"), ("nc2", "NC2"), ("mean_tree_correlation", "tree correlation")]:
        beside = f" ({twin}: {value(twin, m, title)})" if per.get(twin) else ""
        parts.append(f"{title}: {value(name, m, title)}{beside}")
    said = (f" Label smoothing with the same mass on the true class ({name}, "
            f"{plural(per[name], 'seed')} so far: soft targets without the tree), against CE: "
            + "; ".join(parts) + ".")
    rows = contrasts_of(grid)
    tree = []
    for m, title in [("nc1", "NC1"), ("nc2", "NC2"), ("mean_tree_correlation", "tree correlation"),
                     ("hdist@5", "hdist@5")]:
        r = rows.get((twin, name, m))
        d, lo, hi = (num(r.get(k)) if r else None for k in ("paired_diff", "paired_ci95_low", "paired_ci95_high"))
        if d is not None and lo is not None and hi is not None:
            tree.append(f"{title} {signed(d)} {interval(lo, hi)}{stars(num(r.get('p_bh')))}")
    if tree:
        pairs = {int(r["n_pairs"]) for (a, b, _), r in rows.items() if (a, b) == (twin, name) and r.get("n_pairs")}
        family = sum(r.get("family") == "true" for r in rows.values())
        said += (f" What the tree adds, {twin} minus {name} paired by seed ("
                 + (f"{plural(max(pairs), 'pair')}; " if pairs else "")
                 + f"stars: Benjamini-Hochberg over the {family} tests of the contrasts' family, one per "
                 "metric of the grid's family and contrast): " + ", ".join(tree) + ".")
    return said


def protocol_words(grids):
    """'all training images, 350 epochs of SGD, the learning rate divided by 10 from epochs 117
    and 234', from the first full-data grid's config."""
    cfg = runs_of(grids[0])[0][1]
    return (f"all training images, {cfg['optim']['epochs']} epochs of SGD, the learning rate divided "
            f"by 10 from epochs {' and '.join(map(str, decay_epochs(cfg)))}")


def names_key(grids):
    """' Names: hxe-A is ...': what the condition names stand for, for those present."""
    names = {condition_of(cell) for g in grids for cell, _, _ in runs_of(g)}
    said = []
    if any(re.fullmatch(r"hxe-[\d.]+", n) for n in names):
        said.append("`hxe-A` is HXE with alpha A")
    if any(n.endswith("-lr") for n in names):
        said.append("`-lr` the same loss at a learning rate scaled so that its gradient norm at "
                    "initialisation matches CE's (the step-size control)")
    if any(re.fullmatch(r"soft-[\d.]+", n) for n in names):
        said.append("`soft-B` soft labels with beta B (CPU scale)")
    if any(re.fullmatch(r"soft-m[\d.]+", n) for n in names):
        said.append("`soft-mM` soft labels whose targets put mass M on the true class, on average "
                    "over the classes (beta chosen for it on the tree)")
    if any(re.fullmatch(r"ls-m[\d.]+", n) for n in names):
        said.append("`ls-mM` label smoothing with mass M on the true class (the soft-label loss on "
                    "the flat tree, measured on the grid's tree: the control for soft targets "
                    "without the tree; Müller et al.'s epsilon is (1 - M) K / (K - 1), 5/9 for "
                    "M = 0.5 and 10 classes)")
    if "ce-flat" in names:
        said.append("`ce-flat` CE trained again and measured against the flat tree (the control for "
                    "the tree metrics, CPU scale)")
    if not said:
        return ""
    return (" Names: " + ", ".join(said) + " ([What was run](#what-was-run) and [the full-data "
            "section](#the-published-protocol-at-full-data) list each condition's config).")


def full_data_bullet(f):
    """The In-short bullet on what differs from CE at full data after the correction: the
    hierarchical losses by theme, then the other losses for comparison."""
    out = []
    for g, found in f["sig_full"].items():
        comps = [c for (_, m), c in report_of(g)[1].items() if c.get("family") == "true"]
        pairs = [int(c["n_pairs"]) for c in comps if c.get("n_pairs")]
        if not pairs:
            continue
        every = significant(g, headline_only=False)
        hier = sorted(hierarchical(g))
        others = sorted({n for (n, _) in report_of(g)[1]} - set(hier))
        lr = lr_factors(g)
        out.append(f"- **At full data (`{g}`, {seeds_so_far(g)}), against CE after Benjamini-Hochberg "
                   "within the grid's family:**")
        if hier:
            named = [f"{n} (at {fmt(lr[n], 4)}x CE's learning rate: the step-size control)" if n in lr else n
                     for n in hier]
            out.append(f"  - the hierarchical losses ({', '.join(named)}):")
            sizes = data_sizes(g)
            counts = ({"top-1 error": (sizes[1], "test images"), "top-5 error": (sizes[1], "test images"),
                       "NC4": (sizes[0], "training images")} if sizes else None)
            groups = {"open": [], "lost": [], "kept": []}
            for m, title in IMAGE_METRICS:
                v = image_verdicts(g)[m]
                for key in groups:
                    names = sorted(n for n in v[key] if n in hier)
                    if names:
                        groups[key].append(f"{title} ({', '.join(names)})")
            def listed(items):
                return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]
            said = (([f"not known yet for {listed(groups['open'])}"] if groups["open"] else [])
                    + ([f"no for {listed(groups['lost'])}"] if groups["lost"] else [])
                    + ([f"yes for {listed(groups['kept'])}"] if groups["kept"] else []))
            caveat = ({"Mistakes": ". Whether these differences outlast a new sample of test images: "
                       + "; ".join(said) + " ([below](#what-another-test-set-would-add))"}
                      if groups["open"] or groups["lost"] else {})
            out += [f"    - *{theme}:* {effects_sentence(every, hier, metrics, counts, factors_of(g))}"
                    f"{caveat.get(theme, '')}." for theme, metrics in THEMES]
            for m, title in OUTSIDE:
                if any(mm == m for _, mm in report_of(g)[1]):
                    out.append(f"    - *Outside the family, raw paired p < {ALPHA}, not adjusted:* "
                               f"{effects_sentence(raw_significant(g, m), hier, [(m, title)])}. The "
                               "two NC3s answer different questions: nclab's `nc3` compares W M^T "
                               "with the simplex ETF, so it rises whenever the class means leave the "
                               "ETF, even while the classifier lines up with them; self-duality "
                               "measures that alignment alone (docs/metrics.md).")
        controls = smoothing(g)
        for n in others:
            what = ("label smoothing (soft targets without the tree), the control for the soft "
                    "labels" if n in controls else "not a hierarchical loss")
            out.append(f"  - {n}, {what}, for comparison: "
                       f"{one_condition(every, n, [m for _, ms in THEMES for m in ms], factors_of(g))}.")
        out.append(
            f"  - Paired over the seeds each condition shares with CE ({span(pairs, 3)} pairs), on one "
            "fixed test set: the intervals and p-values cover the variation between seeds, not the "
            "sampling of the test images. The exact sign-flip test cannot go below p = "
            + " and ".join(f"{fmt(2 / 2 ** n, 3)} with {plural(n, 'pair')}" for n in sorted(set(pairs)))
            + ", so these rest on the paired t-test"
            + (", and they may change as the other seeds land." if "so far" in seeds_so_far(g) else ".")
            + test_images_sentence(g))
    return out


def protocol_config(grid):
    """A full-data grid's sweep config (configs/study/protocol/): (its path, its contents)."""
    path = REPO / "configs" / "study" / "protocol" / f"{grid.removeprefix('protocol-')}.toml"
    return path, tomllib.loads(path.read_text())


def cells_left(grid):
    """The cells of a full-data grid's config with no committed run (`loss=ce_seed=4`)."""
    cfg = protocol_config(grid)[1]
    done = {name for name, _, _ in runs_of(grid)}
    return [cell for v in cfg["variants"]["loss"] for s in cfg["axes"]["seed"]
            if (cell := f"loss={v['label']}_seed={s}") not in done]


def seeds_so_far(grid):
    """'seeds 0 1 2 of 5 so far' (the seeds every condition has), with the conditions that have
    more ('seeds 0 1 2 of 5 so far, and 3 of ce'); 'all five seeds' once every planned cell has a
    run."""
    planned = protocol_config(grid)[1]["axes"]["seed"]
    if not cells_left(grid):
        return f"all {count_word(len(planned))} seeds"
    by_condition = {}
    for cell, cfg, _ in runs_of(grid):
        by_condition.setdefault(condition_of(cell), set()).add(cfg["seed"])
    # A control added later (label smoothing) is said apart, so that it does not hide how far
    # the other conditions have come.
    controls = {c: by_condition.pop(c) for c in sorted(smoothing(grid)) if len(by_condition) > 1}
    said_apart = "".join(f"; {c}, the control: seed{'s' if len(seeds) > 1 else ''} "
                         f"{' '.join(map(str, sorted(seeds)))}" for c, seeds in controls.items())
    common = sorted(set.intersection(*by_condition.values()))
    # The conditions with more seeds, grouped by the seeds they have beyond the common ones.
    beyond = {}
    for c, seeds in sorted(by_condition.items()):
        if seeds - set(common):
            beyond.setdefault(" ".join(map(str, sorted(seeds - set(common)))), []).append(c)
    extra = [f"{more} of {', '.join(cs)}" for more, cs in beyond.items()]
    text = (f"seed{'s' if len(common) > 1 else ''} {' '.join(map(str, common))} of {len(planned)} so far"
            if common else f"no seed of all {len(planned)} in every condition yet")
    return text + (f", and {'; '.join(extra)}" if extra else "") + said_apart


def grid_plan(grid):
    """The conditions a full-data grid's config asks for (configs/study/protocol/), with their loss
    settings, learning rate and how many of their seeds are committed."""
    path, cfg = protocol_config(grid)
    base_lr = tomllib.loads((path.parent / cfg["base"]).read_text())["optim"]["lr"]
    seeds = cfg["axes"]["seed"]
    done = {name for name, _, _ in runs_of(grid)}
    rows = []
    for v in cfg["variants"]["loss"]:
        loss = v.get("loss", {})
        settings = ", ".join(f"{k} {x}" for k, x in loss.items())
        lr = v.get("optim.lr", v.get("optim", {}).get("lr", base_lr))
        lr_text = f"{lr:g}" + (f" ({lr / base_lr:.3f} x {base_lr:g})" if lr != base_lr and "hxe" in str(loss) else "")
        n = sum(f"loss={v['label']}_seed={s}" in done for s in seeds)
        rows.append([v["label"], settings, lr_text, f"{n} of {len(seeds)}"])
    return f"`{path.relative_to(REPO)}`", table(["condition", "loss", "learning rate", "seeds committed"], rows)


def lower_first(text):
    """A sentence continued after a colon: its first letter in lower case."""
    return text[:1].lower() + text[1:]


def stable_tpt_sentence(runs):
    """Which runs record their stable TPT epoch, and how the others' is dated."""
    old = [name for name, _, s in runs if "stable_tpt_epoch" not in s]
    if not old:
        return "Every run records its stable TPT epoch (the trainer checks every epoch)."
    if len(old) == len(runs):
        return (f"None of the {len(runs)} runs records its stable TPT epoch (they predate the trainer's "
                "check of every epoch); the report dates it from the analysis epochs (the first of the "
                "final streak of analysed epochs with zero training error, known to the spacing of the "
                "analysis schedule; docs/report.md).")
    others = f"the other, {old[0]}, run by an older nclab, is" if len(old) == 1 else \
        "the others, run by an older nclab, are"
    return (f"{len(runs) - len(old)} of {len(runs)} runs record their stable TPT epoch (the trainer "
            f"checks every epoch); {others} dated by the report from the analysis epochs (the first "
            "of the final streak of analysed epochs with zero training error, known to the spacing "
            "of the analysis schedule; docs/report.md).")


# A condition whose mean hdist@5 is within this share of the floor counts as on it.
ON_FLOOR = 0.01


class Floor(NamedTuple):
    """hdist@5 against its floor on a grid's tree: the tree, the floor, (condition, mean
    hdist@5) sorted by the mean, the conditions within ON_FLOOR of it, and over their runs the
    largest gap and the share of test images it allows above the floor (both rounded up)."""
    tree: str
    floor: float
    rows: list
    on: list
    most: Optional[float]
    share: Optional[float]


def floor_of(grid):
    """The grid's Floor (summary.csv's hdist@5_floor, equal class counts); None when the report
    gives none or the grid's runs use more than one tree."""
    summary = report_of(grid)[0]
    rows = [(name, num(r.get("hdist@5_mean")), num(r.get("hdist@5_floor")))
            for name, r in summary.items()]
    rows = [(name, m, fl) for name, m, fl in rows if m is not None and fl]
    trees = {cfg["hierarchy"] for _, cfg, _ in runs_of(grid)}
    floors = {fl for _, _, fl in rows}
    if not rows or len(trees) != 1 or len(floors) != 1:
        return None
    (tree,), (floor,) = trees, floors
    rows = sorted(((name, m) for name, m, _ in rows), key=lambda r: r[1])
    on = [name for name, m in rows if (m - floor) / floor <= ON_FLOOR]
    most = share = None
    if on:
        # Tree distances are whole numbers: an image whose top five sums to more than the
        # nearest five adds at least 1/5 to hdist@5, so a run g above the floor has at most 5 g
        # of its images there (the largest over the runs, rounded up).
        gap = max(s["final"]["hdist@5"] - floor for cell, _, s in runs_of(grid)
                  if condition_of(cell) in on)
        most, share = ceil_sig(gap), ceil_sig(500 * gap)
    return Floor(tree, floor, rows, on, most, share)


def above(fl, name, m):
    return f"{name} +{fmt(m - fl.floor, 2)} ({fmt(100 * (m - fl.floor) / fl.floor, 2)}%)"


def floor_sentence(grid):
    """The paragraph on hdist@5 and its floor under a full-data grid's runs."""
    fl = floor_of(grid)
    if fl is None:
        return None
    text = (f"hdist@5 cannot fall below {fmt(fl.floor, 4)} on the `{fl.tree}` tree: the value of the "
            "ranking that lists the classes nearest the true one first, with every class equally "
            "frequent, as in this test set (docs/losses-and-hierarchies.md, \"The floor of "
            f"`hdist@k`\"). The mean hdist@5 of each condition over its runs so far lies above it "
            f"by {', '.join(above(fl, name, m) for name, m in fl.rows)}.")
    if fl.on:
        text += (f" Within {fmt(100 * ON_FLOOR, 1)}% of the floor: {', '.join(fl.on)}. Tree distances "
                 "are whole numbers, so a test image whose top five sums to more distance than the "
                 "true class and its four nearest classes has an hdist@5 at least 1/5 above the least its "
                 "class allows: in each of "
                 f"these runs at most {fmt(fl.share, 2)}% of the test images do. On hdist@5 they have "
                 f"almost nothing left to gain: at most {fmt(fl.most, 2)} (the largest of any of their runs), "
                 "whatever the model.")
    return text


# A change of hdist@5 over the terminal phase smaller than this counts as none.
STEADY = 0.02


class Course(NamedTuple):
    """A condition's hdist@5 from the last analysis before the first decay to the end (means
    over its runs at each analysis epoch): (hdist@5, top-5 error, top-1 error) at that epoch
    and at the end, the peak of hdist@5 after it with its epoch, and the largest distance of
    hdist@5 from its value at that epoch."""
    before: tuple
    after: tuple
    peak: float
    peak_epoch: int
    largest_move: float


@functools.cache
def before_and_after(grid):
    """The epoch of the last analysis before the first decay (folds.csv's decay1_from_epoch),
    the decay epochs, and a Course per condition from its runs' metrics.csv (the epochs every
    run of the condition has); None without a decay."""
    folds = next(iter(report_of(grid)[2].values()), {})
    start = folds.get("decay1_from_epoch")
    if not start:
        return None
    start = int(start)
    keys = ("hdist@5", "top5_error", "top1_error")
    curves = {}
    for cell, _, _ in runs_of(grid):
        rows = {int(r["epoch"]): r for r in read_csv(RESULTS / grid / cell / "metrics.csv")}
        values = {e: [num(r.get(k)) for k in keys] for e, r in rows.items() if e >= start}
        if start in values and all(v is not None for vs in values.values() for v in vs):
            curves.setdefault(condition_of(cell), []).append(values)
    courses = {}
    for c, runs in sorted(curves.items()):
        epochs = sorted(set.intersection(*(set(r) for r in runs)))
        mean = {e: [sum(r[e][i] for r in runs) / len(runs) for i in range(3)] for e in epochs}
        h = {e: v[0] for e, v in mean.items()}
        peak_epoch = max(epochs, key=lambda e: h[e])
        courses[c] = Course(tuple(mean[start]), tuple(mean[epochs[-1]]), h[peak_epoch], peak_epoch,
                            max(abs(v - h[start]) for v in h.values()))
    cfg = runs_of(grid)[0][1]
    return start, decay_epochs(cfg), courses


def terminal_phase_table(grid):
    """hdist@5, top-5 and top-1 error at the last analysis before the first decay, hdist@5's
    peak after it and its largest move, and the values at the end, per condition."""
    found = before_and_after(grid)
    if not found:
        return None
    start, _, courses = found
    rows = [[c, fmt(k.before[0], 4), f"{fmt(k.peak, 4)} ({k.peak_epoch})", fmt(k.after[0], 4),
             fmt(k.largest_move, 2), f"{fmt(k.before[1], 2)} → {fmt(k.after[1], 2)}",
             f"{fmt(k.before[2], 3)} → {fmt(k.after[2], 3)}"] for c, k in courses.items()]
    return table(["condition", f"hdist@5, epoch {start}", "highest from then on (epoch)", "at the end",
                  f"largest move from epoch {start}", f"top-5 error, epoch {start} → end",
                  f"top-1 error, epoch {start} → end"], rows)


def ordinal(n):
    return {1: "first", 2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")


def terminal_phase_bullet(grids):
    """The In-short bullet on CE's hdist@5 after the first decay against the other conditions'
    (grids with hierarchical conditions: on a flat tree hdist@5 follows the top-5 error alone)."""
    out = []
    for g in (g for g in grids if hierarchical(g)):
        found = before_and_after(g)
        fl = floor_of(g)
        if not found or "ce" not in found[2] or fl is None:
            continue
        start, decays, courses = found
        ce = courses["ce"]
        (hb, t5b, t1b), (ha, t5a, t1a) = ce.before, ce.after
        if ha <= fl.floor or ce.peak < hb + STEADY:
            continue
        # The learning-rate phase of the peak: 1 before the first decay, k + 1 after the k-th.
        phase = 1 + sum(ce.peak_epoch >= d for d in decays)
        bounds = ([1] + decays + [None])[phase - 1:phase + 1]
        span = f"epochs {bounds[0]}-{bounds[1] - 1}" if bounds[1] else f"epochs {bounds[0]} on"
        back = (f", then falls back to {fmt(ha, 3)} by the end" if ha < ce.peak - STEADY / 2
                else f" and ends at {fmt(ha, 3)}")
        share = (ha - hb) / (ha - fl.floor)
        steady = [c for c, k in courses.items() if c != "ce" and k.largest_move < STEADY]
        moving = [(c, k) for c, k in courses.items() if c != "ce" and k.largest_move >= STEADY]
        out.append(
            f"- **At full data, CE's hdist@5 grows after the first learning-rate decay (`{g}`).** "
            f"At epoch {start}, the last analysis before the decay at epoch {decays[0]}, it is "
            f"{fmt(hb, 3)}; it peaks at {fmt(ce.peak, 3)} at epoch {ce.peak_epoch}, in the "
            f"{ordinal(phase)} learning-rate phase ({span}){back}. Its top-5 error goes from "
            f"{fmt(t5b, 2)} to {fmt(t5a, 2)} and its top-1 error from {fmt(t1b, 3)} to {fmt(t1a, 3)} "
            f"over the same span. Net, {fmt(100 * share, 2)}% of its final excess over the floor "
            f"({fmt(fl.floor, 4)}) appears after epoch {start}. "
            + (f"Within {fmt(STEADY, 1)} of their epoch-{start} value throughout: {', '.join(steady)}"
               + ("; the largest move of the others: " + ", ".join(f"{c} {fmt(k.largest_move, 2)}"
                                                                 for c, k in moving) if moving else "")
               + " (table in the full-data section)." if steady else ""))
    return out


def ceiling_sentence(grid):
    """The sentence on mean_tree_correlation against its ceiling on a grid's tree (summary.csv's
    mean_tree_correlation_ceiling); None without one tree and one ceiling."""
    rows = [(name, num(r.get("mean_tree_correlation_mean")), num(r.get("mean_tree_correlation_ceiling")))
            for name, r in report_of(grid)[0].items()]
    rows = [(name, m, c) for name, m, c in rows if m is not None and c]
    ceilings = {c for _, _, c in rows}
    if not rows or len(ceilings) != 1:
        return None
    (ceiling,) = ceilings
    shares = ", ".join(f"{name} {fmt(m, 3)} ({fmt(100 * m / ceiling, 2)}%)"
                       for name, m, _ in sorted(rows, key=lambda r: -r[1]))
    return (f"The tree correlation cannot exceed {fmt(ceiling, 3)} on this tree: its distances tie, "
            "so cosines that do not tie reach at most the correlation of ranking the class pairs in "
            f"the tree's order (docs/metrics.md). The means of each condition, and their share of "
            f"it: {shares}.")


def floor_bullet(grids):
    """The In-short bullet on the full-data grids whose hierarchical conditions reach the floor of
    hdist@5 (on a flat tree hdist@5 is the rescaled top-5 error: no hierarchy result)."""
    reached = [(g, fl) for g in grids if hierarchical(g) and (fl := floor_of(g)) and fl.on]
    if not reached:
        return []
    parts = []
    for g, fl in reached:
        rest = [(name, m) for name, m in fl.rows if name not in fl.on]
        parts.append(f"on `{g}` ({fl.tree} tree, floor {fmt(fl.floor, 4)}), "
                     f"{', '.join(fl.on)} end within {fmt(100 * ON_FLOOR, 1)}% of it (so at most "
                     f"{fmt(fl.share, 2)}% of each run's test images can sit above the least hdist@5 "
                     "their class allows), the others above it (by the excess, and its share of the "
                     "floor): " + ", ".join(above(fl, name, m) for name, m in rest))
    return [f"- **At full data, hdist@5 comes within {fmt(100 * ON_FLOOR, 1)}% of its floor under "
            "some losses.** No ranking of the classes can have hdist@5 below the floor of the tree "
            "(docs/losses-and-hierarchies.md): " + "; ".join(parts) + ". The hdist@5 of the "
            f"conditions within {fmt(100 * ON_FLOOR, 1)}% of the floor (" + ", ".join(sorted({n for _, fl in reached for n in fl.on}))
            + "), the clearest effect of the hierarchical losses here, has almost nothing left to "
            "gain: in nearly every test image their top five holds the true class and its nearest "
            "classes in the tree."]


# ---- the test images ----------------------------------------------------------------------------

# Each finished run's predictions image by image (scripts/keep_final.py), where its
# final.safetensors was still there to read them from.
PREDICTIONS = "test_predictions.csv"
# The normal distribution's 97.5% quantile: the test sets hold thousands of images.
# The metrics that are means over test images, so that a second sample of images moves them.
IMAGE_METRICS = [("top1_error", "top-1 error"), ("top5_error", "top-5 error"), ("hdist@1", "hdist@1"),
                 ("hdist@5", "hdist@5"), ("mistake_severity", "mistake severity")]


def image_values(path):
    """A test_predictions.csv as {metric: [per-image value]}: top-1 and top-k error 0 or 1
    (k the ranks the file has: min(5, K)), hdist@1, hdist@5; and the labels and top-1
    predictions, under "label" and "rank1"."""
    rows = read_csv(path)
    ranks = [k for k in (rows[0] if rows else {}) if k.startswith("rank")]
    need = {"label", "rank1", "hdist@1", "hdist@5"}
    if not rows or not need <= rows[0].keys():
        raise ValueError(f"{path}: not a test_predictions.csv (needs a header with "
                         f"{', '.join(sorted(need))} and a row per test image; scripts/keep_final.py)")
    out = {"label": [], "rank1": [], "top1_error": [], "top5_error": [], "hdist@1": [], "hdist@5": []}
    for line, r in enumerate(rows, start=2):
        try:
            hdist1, hdist5 = float(r["hdist@1"]), float(r["hdist@5"])
        except (TypeError, ValueError):
            raise ValueError(f"{path}, line {line}: hdist@1 and hdist@5 must be numbers") from None
        out["label"].append(r["label"])
        out["rank1"].append(r["rank1"])
        out["top1_error"].append(float(r["rank1"] != r["label"]))
        out["top5_error"].append(float(all(r[k] != r["label"] for k in ranks)))
        out["hdist@1"].append(hdist1)
        out["hdist@5"].append(hdist5)
    return out


@functools.cache
def image_runs(grid):
    """{condition: {seed: {metric: [per-image values]}}} over the runs that have their test
    predictions."""
    found, first = {}, None
    for cell, cfg, _ in runs_of(grid):
        path = RESULTS / grid / cell / PREDICTIONS
        if path.exists():
            values = image_values(path)
            first = first or (path, values["label"])
            if values["label"] != first[1]:
                raise ValueError(f"{path} and {first[0]} do not list the same test images in the same "
                                 "order (their label columns differ): the images cannot be paired")
            found.setdefault(condition_of(cell), {})[cfg["seed"]] = values
    return found


@functools.cache
def test_image_rows(grid):
    """Per condition with predictions (and CE with them): (condition, its seeds with
    predictions, CE's, {metric: (paired difference over seeds, seeds' half-width, test images'
    half-width, the half-width of the interval widened by both, whether the images' term is an
    estimate rather than a bound, BH p)}), all from the
    report's comparisons.csv (`nclab report` computes the test images' term from the runs'
    test_predictions.csv: an estimate from the seeds both conditions have predictions for, when
    they are two or more; a bound from all their runs otherwise; docs/report.md)."""
    found = image_runs(grid)
    if "ce" not in found:
        return []
    ce = found["ce"]
    _, comps, _ = report_of(grid)
    rows = []
    for name, runs in sorted(found.items()):
        if name == "ce":
            continue
        cells = {}
        for m, _ in IMAGE_METRICS:
            c = comps.get((name, m)) or {}
            d, hi = num(c.get("paired_diff")), num(c.get("paired_ci95_high"))
            seeds = hi - d if d is not None and hi is not None else None
            images = num(c.get("test_images_half_width"))
            if images is None:
                raise ValueError(f"{grid}: comparisons.csv has no test-image term for {name}'s {m}, "
                                 "though both it and CE have test predictions: run `scripts/study.sh report` "
                                 "with an nclab that computes it")
            lo, hi = num(c.get("widened_ci95_low")), num(c.get("widened_ci95_high"))
            both = (hi - lo) / 2 if lo is not None and hi is not None else None
            cells[m] = (d, seeds, images, both, c.get("test_images_estimated") == "true",
                        num(c.get("p_bh")))
        rows.append((name, sorted(runs), sorted(ce), cells))
    return rows


def widened(d, both):
    """Whether d's interval widened by the test images (half-width `both`, comparisons.csv's
    widened_ci95_*) still excludes 0."""
    return abs(d) > both


def image_verdicts(grid):
    """{metric: {"kept": [...], "lost": [...], "open": [...]}}: the conditions whose difference
    from CE is significant after Benjamini-Hochberg and that have test predictions, by whether
    the interval widened by the test images still excludes 0 (kept), does not (lost), or does
    not within a bound of the test images' term (open: not known yet)."""
    out = {m: {"kept": [], "lost": [], "open": []} for m, _ in IMAGE_METRICS}
    for name, _, _, cells in test_image_rows(grid):
        for m, _ in IMAGE_METRICS:
            d, seeds, images, both, exact, p = cells[m]
            if d is None or both is None or p is None or p >= ALPHA:
                continue
            out[m]["kept" if widened(d, both) else "lost" if exact else "open"].append(name)
    return out


def test_images_sentence(grid):
    """' With what a new sample of test images would add ...': the significant differences of
    a grid grouped by what the test images' term does to them, for the In-short bullets (''
    without predictions)."""
    groups = {"kept": [], "lost": [], "open": []}
    for m, title in IMAGE_METRICS:
        for verdict, names in image_verdicts(grid)[m].items():
            if names:
                groups[verdict].append(f"{title} ({', '.join(names)})")
    said = (([f"still clear of 0: {'; '.join(groups['kept'])}"] if groups["kept"] else [])
            + ([f"no longer clear of 0: {'; '.join(groups['lost'])}"] if groups["lost"] else [])
            + ([f"not known yet (fewer than two seeds have the predictions of both conditions, so "
                f"only a bound of that term (larger in expectation) is known, and with it their intervals include 0): "
                f"{'; '.join(groups['open'])}"] if groups["open"] else []))
    if not said:
        return ""
    exact = any(cells[m][4] for _, _, _, cells in test_image_rows(grid) for m, _ in IMAGE_METRICS)
    return (" With what a new sample of test images would add to their unadjusted 95% intervals "
            f"({'estimated' if exact else 'bounded so far'} from the runs whose test predictions are "
            "kept, [below](#what-another-test-set-would-add)), the significant differences are "
            + "; ".join(said) + ".")


def seeds_text(seeds):
    """'seed 2', 'seeds 2, 3'."""
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def disagreement_clause(grid):
    """': the top-1 predictions of hxe-0.3's seeds 2 and 3 differ on 3.9% of the images, ...'"""
    found = seed_disagreement(grid)
    if found is None:
        return ""
    name, (a, b), share = found
    return (f": the top-1 predictions of {name}'s seeds {a} and {b} differ on {fmt(100 * share, 2)}% "
            "of the images, the same loss trained twice, and all of that is the seeds' share")


def seed_disagreement(grid):
    """(condition, seeds, share of test images whose top-1 prediction differs) for the first
    condition with two runs that kept their predictions: how much two networks of one loss
    disagree, seed to seed (None without such a pair)."""
    for name, runs in sorted(image_runs(grid).items()):
        if len(runs) >= 2:
            a, b = sorted(runs)[:2]
            pa, pb = runs[a]["rank1"], runs[b]["rank1"]
            return name, (a, b), sum(x != y for x, y in zip(pa, pb)) / len(pa)
    return None


def test_images_part(grid):
    """The table and the sentence of what a new sample of test images would add (none when CE
    or every other condition lacks predictions)."""
    rows = test_image_rows(grid)
    if not rows:
        return []
    sizes = data_sizes(grid)
    n = f"{sizes[1]:,}" if sizes else "the"
    header = ["condition", "seeds with predictions: condition / CE (shared)", "metric",
              "Δ (seeds' 95% interval)", "test images' half-width", "both", "with both"]
    body = []
    for name, runs, ce_runs, cells in rows:
        shared = sorted(set(runs) & set(ce_runs))
        seeds_cell = (f"{' '.join(map(str, runs))} / {' '.join(map(str, ce_runs))} "
                      f"({' '.join(map(str, shared)) if shared else 'none'})")
        for m, title in IMAGE_METRICS:
            d, seeds, images, both, exact, p = cells[m]
            bound = "" if exact else "≤ "
            if d is None or seeds is None or both is None:
                body.append([name, seeds_cell, title, "-", f"{bound}{fmt(images, 2)}", "-", "-"])
                continue
            verdict = ("includes 0 already" if abs(d) <= seeds else
                       "clear of 0" if widened(d, both) else
                       "includes 0" if exact else "not known (includes 0 within the bound)")
            body.append([name, seeds_cell, title, f"{signed(d)} ({interval(d - seeds, d + seeds)})"
                         + stars(p), f"{bound}{fmt(images, 2)}", f"{bound}{fmt(both, 2)}", verdict])
            name, seeds_cell = "", ""
    said = []
    for m, title in IMAGE_METRICS:
        v = image_verdicts(grid)[m]
        parts = (([f"still clear of 0 for {', '.join(v['kept'])}"] if v["kept"] else [])
                 + ([f"no longer clear of 0 for {', '.join(v['lost'])}"] if v["lost"] else [])
                 + ([f"not known yet for {', '.join(v['open'])} (widened by the bound, their "
                     "intervals include 0)"] if v["open"] else []))
        said.append(f"- {title}: " + ("; ".join(parts) if parts else "none is significant") + ".")
    return [
        "#### What another test set would add",
        "",
        f"The intervals above vary the seeds on one fixed set of {n} test images; a new sample of "
        "images would move each difference further. (The collapse metrics are measured on the "
        "training images, the population the study is about, so this concerns the test metrics "
        "alone.) For the metrics that are means over the test images, the runs whose predictions "
        "are kept (`test_predictions.csv` in the run's folder, from its final logits by "
        "`scripts/keep_final.py`; runs trained on earlier machines lost theirs) measure that "
        "term: with d_i image i's value under the condition minus CE's, averaged over the S "
        "seeds both have predictions for, the variance a new sample of n images adds is "
        "(var_i(d_i) - MS_res / S) / n, MS_res the residual mean square of the images x seeds "
        "layout of those differences (the subtracted part is the seeds', which their interval "
        "holds already; `nclab report` computes it, docs/report.md), and its 95% "
        "half-width 1.96 times its square root. It needs S >= 2 shared seeds; with fewer, the "
        "half-width is only a bound (≤, larger in expectation), from the two conditions' per-image means over "
        "all their runs with predictions, and a loose one" + disagreement_clause(grid) + ". 'both' adds the "
        "seeds' and the images' half-widths in quadrature (the seeds' t quantile with the "
        "images' normal one: it errs wide), the half-width of the widened interval around Δ. "
        "Mistake severity, a mean over each run's mistakes only, enters by its linearisation "
        "(the delta method): image i's value is w_i (h_i - severity) / (the share of mistakes), "
        "w_i 1 when its top-1 is wrong and h_i its hdist@1. Stars: the "
        "Benjamini-Hochberg adjusted p of the seeds' test, as above.",
        "",
        table(header, body),
        "",
        "The differences significant after Benjamini-Hochberg, their unadjusted 95% intervals "
        "widened by both terms:",
        "",
        *said,
        "",
    ]


# ---- the final geometry -------------------------------------------------------------------------

GEOMETRY = "final_geometry.json"


def geometry_part(grid):
    """The final class-mean geometry of CE and, per hierarchical loss kind, of the condition whose
    means follow the tree most closely (highest mean tree correlation), from the report's
    gram-<id>.svg; the other conditions' figures are listed (none without a kept geometry)."""
    summary, _, _ = report_of(grid)
    drawn = {name: r for name, r in summary.items() if (REPORTS / grid / f"gram-{r['id']}.svg").exists()}
    if "ce" not in drawn:
        return []
    kinds = {condition_of(cell): cfg["loss"]["kind"] for cell, cfg, _ in runs_of(grid)}
    shown = ["ce"]
    for kind in HIERARCHICAL:
        of_kind = [n for n in drawn if kinds.get(n) == kind]
        if of_kind:
            shown.append(max(of_kind, key=lambda n: num(drawn[n].get("mean_tree_correlation_mean")) or -1))
    seeds = {}
    for cell, cfg, _ in runs_of(grid):
        if (RESULTS / grid / cell / GEOMETRY).exists():
            seeds.setdefault(condition_of(cell), cfg["seed"])
    others = [n for n in drawn if n not in shown]
    parts = [f"Each figure (`nclab report`'s) shows one run, the condition's first that kept its "
             f"geometry in `{GEOMETRY}` (`scripts/keep_final.py`, from the final training features "
             "and classifier): the cosines of its centred class means, beside the simplex ETF that "
             "neural collapse predicts and the target `T` that the tree suggests (docs/metrics.md, "
             "`nc2_tree`), classes in the tree's order. Shown: CE, and for each hierarchical loss "
             "kind (HXE, soft labels) its condition with the highest mean tree correlation. Single "
             "runs, and not always of the same seed (given in each title), so the figures show the "
             "shape of the geometry, not a paired comparison:", ""]
    for n in shown:
        parts += [f"![Final class-mean geometry, {n} (seed {seeds.get(n, '?')}), {grid}]"
                  f"(results/{grid}/gram-{drawn[n]['id']}.svg)", ""]
    if others:
        parts += ["The others: " + ", ".join(f"[{n}](results/{grid}/gram-{drawn[n]['id']}.svg)" for n in others)
                  + ".", ""]
    return parts


def protocol_section(f):
    parts = ["## The published protocol at full data", ""]
    if not f["protocol"]:
        return parts + ["No full-data run is committed yet.", ""]
    cfg = runs_of(f["protocol"][0])[0][1]
    model = cfg["model"]
    walls = [s["wall_time_s"] / 3600 for g in f["protocol"] for _, _, s in runs_of(g)]
    left = {g: len(cells_left(g)) for g in PROTOCOL_GRIDS}
    incomplete = ", ".join(f"`{g}` has {n} of its {n + len(runs_of(g))} runs to go" if runs_of(g) else
                           f"`{g}` has not started ({n} runs)" for g, n in left.items() if n)
    parts += [
        f"The whole training set, MLP {len(model['widths'])} x {model['widths'][0]}, "
        f"{cfg['optim']['epochs']} epochs, the learning rate divided by 10 from epochs "
        f"{' and '.join(map(str, decay_epochs(cfg)))}, one thread per run (docs/study.md). "
        + (f"**This part of the study is incomplete**: {incomplete}; the runs finished so far are "
           "below, with statistics over the seeds each condition shares with CE. " if incomplete else "")
        + f"Their wall times, {span(walls, 2, ' h')}, are the time each ran, summed over its "
        "resumes, while it shared the machine's two cores with other work (builds, tests, a second "
        "run): a measure of that day, not of the run. TPT epoch '-' means the training error was never "
        "0 when checked (at every analysis epoch, and after every epoch whose running training "
        "accuracy reached `tpt_check`, docs/config.md). "
        + stable_tpt_sentence([r for g in f["protocol"] for r in runs_of(g)]),
        "",
    ]
    for g in f["protocol"]:
        source, plan = grid_plan(g)
        derived = (" (its comments say how the HXE learning-rate factor and the soft-label betas "
                   "were derived)" if hierarchical(g) else "")
        parts += [f"### `{g}`", "", f"The conditions of {source}{derived}:", "", plan, "",
                  "The runs finished so far:", "", runs_table(g), ""]
        if report_of(g)[1]:
            parts += [f"Against CE, {seeds_so_far(g)}: as in the headline tables above, each cell the "
                      "mean over the condition's runs, the paired difference over the seeds both "
                      "conditions have, its 95% t interval and stars for the Benjamini-Hochberg "
                      "adjusted p-value within this grid's family.", "", headline_table(g), ""]
            if (REPORTS / g / "effects.svg").exists():
                parts += ["What each condition trades against CE (paired differences with their "
                          "95% intervals, filled where they survive Benjamini-Hochberg; left of 0 is "
                          "better in every panel):", "",
                          f"![Paired differences against CE, {g}](results/{g}/effects.svg)", ""]
            parts += test_images_part(g)
        bounds = [x for x in (floor_sentence(g), ceiling_sentence(g)) if x]
        if bounds:
            parts += ["#### What the tree leaves to gain", ""]
            for sentence in bounds:
                parts += [sentence, ""]
        geometry = geometry_part(g)
        if geometry:
            parts += ["#### The final class-mean geometry", "", *geometry]
        table = terminal_phase_table(g)
        if table:
            start, decays, _ = before_and_after(g)
            parts += ["#### Mistakes before and after the first decay", "",
                      f"hdist@5 and the top-k errors at epoch {start}, the last analysis before the first "
                      f"learning-rate decay (epoch {decays[0]}), after it and at the end (means over each "
                      "condition's runs at each analysis epoch, from their metrics.csv):", "", table, ""]
        control = flat_control_table(g)
        if control:
            parts += ["#### The flat-tree control", "",
                      "The flat-tree control, measured instead of trained: each finished CE "
                      "network (its final features and logits) against the grid's tree and "
                      "against the flat tree (`scripts/flat_control.py`, docs/study.md). Against "
                      "the flat tree every mistake has severity 1 and the tree correlation and "
                      "NC1 coarse are undefined (-), whatever the network.", "", control, ""]
    table = scales_table(f)
    if table:
        parts += ["### Both scales side by side", "",
                  "Every condition of the full-data grids that the CPU-scale grids also ran: the "
                  "subset grids' mean over their seeds, then the full-data runs so far (the final "
                  "epoch; means over the runs listed).", "", table, ""]
    return parts


def page():
    f = facts()
    gpu = [g for g in GPU_GRIDS if runs_of(g)]
    parts = [
        "# Do hierarchical losses change neural collapse? The study",
        "",
        "<!-- Written by scripts/results_doc.py from results/ and docs/results/: do not edit by hand;",
        "     rerun `python3 scripts/results_doc.py` after `scripts/study.sh report`. -->",
        "",
        f"This page answers the question nclab exists for with the runs committed under "
        f"[`results/`](../results): {f['n_runs']} runs of the CPU-scale study ({count_word(len(CPU_GRIDS))} "
        f"grids, subsets of {f['per_class']} images per class, {count_word(f['cpu_seeds'])} seeds"
        + (f"; {f['n_networks']} distinct networks: the other runs end with the same training loss, "
           "NC1, NC2 and test accuracy as another, the same network trained again, as `ce-flat` is CE "
           "and the hierarchy grids' CE the replication grids'" if f["n_networks"] < f["n_runs"] else "")
        + "), the "
        "full-data runs of the published protocol finished so far, and the GPU runs. Each grid's "
        "report (`nclab report`) is in [`docs/results/<grid>/`](results). Differences are paired over "
        "seeds (a seed fixes the subset, the initialisation and the batch order) and called "
        "significant only when their Benjamini-Hochberg adjusted p-value, within the grid's family "
        f"(every condition x metric against the grid's CE baseline), is below {ALPHA}.",
        "",
        "The stable TPT epoch is the first epoch from which the training error stays 0. CPU-scale "
        "study: " + lower_first(stable_tpt_sentence([r for g in CPU_GRIDS for r in runs_of(g)])),
        "",
        *in_short(f),
        "",
        "## What was run",
        "",
        what_was_run(CPU_GRIDS + f["protocol"] + gpu),
        "",
        "The protocol of each grid (SGD, learning rates, schedules, analyses) is in "
        "[docs/study.md](study.md) and [docs/protocol.md](protocol.md).",
        "",
        "## Headline tables (CPU-scale study)",
        "",
        "Each cell: the mean over seeds at the last epoch, then (against the grid's CE baseline) the "
        "paired mean difference, its 95% t interval (\"on every seed\" where every seed's difference "
        "is the same: no spread, so no t interval and no t test; its exact sign-flip p, at least "
        "2^(1-n) with n pairs, is in `comparisons.csv`), and stars for the "
        "Benjamini-Hochberg adjusted p-value (* < 0.05, ** < 0.01, *** < 0.001). The intervals are not adjusted for the "
        "multiple comparisons: an interval that excludes 0 without a star was significant only "
        "before the correction. Raw, Holm and BH p-values, the Welch and sign-flip tests and the "
        "\"no worse than\" bounds are in each grid's `comparisons.csv`. `ce-flat` is the CE network "
        "measured against the flat tree (the control for the tree metrics): the same training "
        "numbers as `ce`, with mistake severity 1, `hdist@5 = 1 - (1 - top-5 error) / 5` and no "
        "tree correlation by definition. On MNIST, whose hierarchy is flat, hdist@5 is the same "
        "rescaled top-5 error, not a hierarchy result.",
        "",
    ]
    for g in CPU_GRIDS:
        parts += [f"### `{g}`", "", headline_table(g), ""]
    parts += [
        "## Collapse during the terminal phase",
        "",
        "How many times NC1 falls (start value / end value, mean over seeds) over four spans: from "
        "epoch 1; from the TPT epoch, the first with zero training error (where Papyan et al. start "
        "the terminal phase); from the stable TPT epoch, from which the training error stays 0 (the "
        "two differ where it comes back above 0; both the first analysis at or after them); and over "
        "each learning-rate phase a decay starts, from "
        "the last analysis before the decay to the last analysis of the phase (so the fold includes "
        f"all the training of that phase, not the decay alone; the epochs: {spans_sentence(CPU_GRIDS)}). "
        "A fold near 1 means no further collapse.",
        "",
        folds_table(CPU_GRIDS),
        "",
    ]
    parts += protocol_section(f)
    if gpu:
        parts += ["## GPU runs (CIFAR-10, ResNet18)", "",
                  "The full CIFAR-10 training set on one GPU (the machine, the commands and the "
                  "CPU-against-CUDA check are in [`results/gpu/`](../results/gpu)), "
                  f"{plural(max(len(seeds_of(g)) for g in gpu), 'seed')} of each condition, no "
                  "statistics.", ""]
        for g in gpu:
            parts += [f"### `{g}`", "", runs_table(g), ""]
            if unfinished(g):
                parts += [f"Stopped before the end, not shown: {', '.join(unfinished(g))}.", ""]
    label_smoothing = muller(f)
    parts += ["## Against the literature", "", *papyan(f), "", *bertinetto(f), "",
              *([*label_smoothing, ""] if label_smoothing else []),
              "## Reproducing", "",
              "```sh",
              "scripts/study.sh run        # train the CPU-scale grids (resumable)",
              "scripts/study.sh collect    # copy finished runs' text files into results/",
              "scripts/study.sh report     # nclab report for each grid -> docs/results/<grid>/",
              "python3 scripts/results_doc.py   # this page",
              "```", ""]
    return "\n".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if the page is out of date")
    p.add_argument("--page", type=Path, default=PAGE, help="the page (default docs/results.md)")
    p.add_argument("--contrast-args", metavar="GRID",
                   help="print the `nclab report` contrast arguments of results/GRID, one a line")
    args = p.parse_args()
    if args.contrast_args:
        for a in contrast_args(args.contrast_args):
            print(a)
        return 0
    try:
        text = page()
    except (ValueError, KeyError, OSError) as e:
        print(f"results_doc: {e}", file=sys.stderr)
        return 1
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
