"""Each finished run's test predictions, image by image, kept in results/ beside its summary.

The report's intervals cover the variation between seeds on one fixed test set. What a second
sample of test images would add needs every run's predictions image by image; they are in the
run's final.safetensors (`test.logits`, `test.labels`), which results/ does not keep (about
290 MB a run). For every finished run of a sweep folder that still has final.safetensors, this
script writes RESULTS_DIR/<run>/test_predictions.csv, one row per test image in the order of
the test set:

    label                   the true class t
    rank1, ..., rank5       the classes ranked by logit, best first (equal logits keep the lower
                            class first, as nclab ranks them; min(5, K) columns)
    hdist@1                 d(rank1, t): 0 when the prediction is right, else the mistake's
                            severity (d the LCA-height distance of the run's own tree)
    hdist@5                 (1/5) sum_{j<=5} d(rank_j, t)

so that the run's test metrics are means over its rows: top1_error the share of rows with
rank1 != label, top5_error of rows without the label among the ranks, mistake_severity the mean
hdist@1 over the wrong rows, hdist@1 and hdist@5 the column means. Before writing, the script
checks exactly that against the run's summary.json (its final epoch, to 1e-12): a file that
passes holds the final network's predictions.

    .venv/bin/python scripts/test_predictions.py SWEEP_DIR RESULTS_DIR

Runs not finished, or without final.safetensors, are skipped (and listed); a file already in
RESULTS_DIR is left alone when this one is the same. scripts/collect-runs.sh calls it.
"""

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

import nclab

FILE = "test_predictions.csv"
TOP = 5
CHECKED = ["top1_error", "top5_error", "mistake_severity", "hdist@1", "hdist@5"]


def ranked(logits, top):
    """The `top` best classes of each row, best first; equal logits keep the lower class first."""
    return np.argsort(-logits, axis=1, kind="stable")[:, :top]


def predictions(logits, labels, distances):
    """The columns of the file: labels, the ranks, and hdist@1, hdist@5 from the K x K
    distances."""
    ranks = ranked(np.asarray(logits, dtype=np.float64), min(TOP, logits.shape[1]))
    d = distances[labels[:, None], ranks]
    return labels, ranks, d[:, 0], d.sum(axis=1) / TOP


def metrics_of(labels, ranks, hdist1, hdist5):
    """The run's test metrics as means over the images (docs/losses-and-hierarchies.md)."""
    wrong = ranks[:, 0] != labels
    return {
        "top1_error": wrong.mean(),
        "top5_error": (ranks != labels[:, None]).all(axis=1).mean(),
        "mistake_severity": hdist1[wrong].mean() if wrong.any() else None,
        "hdist@1": hdist1.mean(),
        "hdist@5": hdist5.mean(),
    }


def text(labels, ranks, hdist1, hdist5):
    """The CSV: distances are whole numbers and hdist@5 a multiple of 1/5, printed exactly."""
    header = ["label", *(f"rank{j + 1}" for j in range(ranks.shape[1])), "hdist@1", "hdist@5"]
    lines = [",".join(header)]
    for t, r, d1, d5 in zip(labels, ranks, hdist1, hdist5):
        lines.append(",".join([str(t), *map(str, r), f"{d1:g}", f"{d5:g}"]))
    return "\n".join(lines) + "\n"


def tree_of(run, name):
    """The run's hierarchy: a built-in name, or a file path (relative to the run directory)."""
    path = run / name
    return nclab.Hierarchy.load(path) if path.exists() else nclab.Hierarchy.builtin(name)


def finished_runs(sweep):
    """(run directory, config, summary) of every finished run with final.safetensors."""
    for run in sorted(p for p in sweep.iterdir() if p.is_dir()):
        files = [run / f for f in ("summary.json", "config.toml", "final.safetensors")]
        if not all(f.exists() for f in files):
            continue
        summary = json.loads(files[0].read_text())
        if summary.get("status") == "finished":
            yield run, tomllib.loads(files[1].read_text()), summary


def mismatches(measured, final):
    """The metrics where the file and the run's summary disagree, as 'name: file vs summary'."""
    out = []
    for name in CHECKED:
        a, b = measured[name], final.get(name)
        same = (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b)))
        if not same:
            out.append(f"{name}: {a} from the logits, {b} in summary.json")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="a sweep folder (its runs keep final.safetensors)")
    p.add_argument("results", type=Path, help="the grid's folder under results/")
    args = p.parse_args()
    if not args.sweep.is_dir():
        print(f"{args.sweep}: not a folder", file=sys.stderr)
        return 1
    done, failed = set(), []
    for run, cfg, summary in finished_runs(args.sweep):
        done.add(run.name)
        tensors = nclab.load_tensors(run / "final.safetensors")
        distances = tree_of(run, cfg["hierarchy"]).lca_heights()
        cols = predictions(tensors["test.logits"], tensors["test.labels"], distances)
        wrong = mismatches(metrics_of(*cols), summary.get("final") or {})
        if wrong:
            failed.append(run.name)
            print(f"{run / 'final.safetensors'} does not give the test metrics of "
                  f"{run / 'summary.json'}: {'; '.join(wrong)}; nothing written", file=sys.stderr)
            continue
        out = args.results / run.name / FILE
        new = text(*cols)
        if out.exists() and out.read_text() == new:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".csv.tmp")
        tmp.write_text(new)
        tmp.replace(out)
        print(f"wrote {out} ({len(cols[0])} images)")
    skipped = sorted(p.name for p in args.sweep.iterdir() if p.is_dir() and p.name not in done)
    if skipped:
        print(f"skipped (not finished, or no final.safetensors): {', '.join(skipped)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
