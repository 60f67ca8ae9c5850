"""What results/ keeps of each finished run's final network, small enough to commit.

A run's final.safetensors (final features, logits and classifier, about 290 MB on Fashion-MNIST)
stays in the sweep folder. Two summaries of it are kept beside the run's text files, in
RESULTS_DIR/<run>/, for every finished run of a sweep folder that still has it:

test_predictions.csv, one row per test image in the order of the test set:

    label                   the true class t
    rank1, ..., rankk       the classes ranked by logit, best first, k = min(5, K) (equal logits
                            keep the lower class first, as nclab ranks them)
    hdist@1                 d(rank1, t): 0 when the prediction is right, else the mistake's
                            severity (d the LCA-height distance of the run's own tree)
    hdist@5                 (1/k) sum_{j<=k} d(rank_j, t)

so that the run's test metrics are means over its rows (top1_error the share of rows with
rank1 != label, top5_error of rows without the label among the ranks, mistake_severity the mean
hdist@1 over the wrong rows, hdist@1 and hdist@5 the column means). Before writing, the script
checks exactly that against the run's summary.json (its final epoch, to 1e-12), and against the
summary.json already in RESULTS_DIR/<run>/ when there is one (a run trained again to recover its
predictions must be the committed network). docs/results.md
measures with these files what a new sample of test images would add to the differences.

final_geometry.json, the K x K matrices that the report's final-geometry figures need (docs/
report.md), from the training features H, labels and classifier W:

    k, d, n                 classes, feature dimension, training samples
    means_gram              M M^T, row i column j (mu_i - mu_G) . (mu_j - mu_G), mu_i the class
                            means and mu_G the mean of all n features
    classifier_means        W M^T, row r column i w_r . (mu_i - mu_G)
    classifier_frobenius_sq ||W||_F^2

(sums in float64), so that `nclab report` on results/ draws the geometry without the features.

    .venv/bin/python scripts/keep_final.py SWEEP_DIR RESULTS_DIR

Runs not finished, or without final.safetensors, are skipped (and listed); a file already in
RESULTS_DIR is left alone when the new one is the same. A run whose final.safetensors is not
what the trainer writes, or disagrees with its summary, is named with the reason, nothing is
written for it, the others are still kept, and the exit status is 1. scripts/collect-runs.sh
calls it.
"""

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

import nclab

PREDICTIONS = "test_predictions.csv"
GEOMETRY = "final_geometry.json"
TOP = 5
CHECKED = ["top1_error", "top5_error", "mistake_severity", "hdist@1", "hdist@5"]


class Unusable(Exception):
    """A run whose final.safetensors cannot be kept: the message says why."""


def ranked(logits, top):
    """The `top` best classes of each row, best first; equal logits keep the lower class first."""
    return np.argsort(-logits, axis=1, kind="stable")[:, :top]


def predictions(logits, labels, distances):
    """The columns of test_predictions.csv: labels, the ranks, and hdist@1, hdist@k from the
    K x K distances (k = min(5, K), as nclab's hdist@5 on fewer than five classes)."""
    ranks = ranked(np.asarray(logits, dtype=np.float64), min(TOP, logits.shape[1]))
    d = distances[labels[:, None], ranks]
    return labels, ranks, d[:, 0], d.sum(axis=1) / ranks.shape[1]


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


def number(x):
    """The shortest text that reads back as the same float, without a trailing '.0'."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def predictions_text(labels, ranks, hdist1, hdist5):
    header = ["label", *(f"rank{j + 1}" for j in range(ranks.shape[1])), "hdist@1", "hdist@5"]
    lines = [",".join(header)]
    for t, r, d1, d5 in zip(labels, ranks, hdist1, hdist5):
        lines.append(",".join([str(t), *map(str, r), number(d1), number(d5)]))
    return "\n".join(lines) + "\n"


def geometry(features, labels, weights):
    """The contents of final_geometry.json."""
    h = np.asarray(features, dtype=np.float64)
    k = weights.shape[0]
    counts = np.bincount(labels, minlength=k)
    if (counts == 0).any():
        raise Unusable(f"class {int(np.argmin(counts))} has no training sample")
    sums = np.zeros((k, h.shape[1]))
    np.add.at(sums, labels, h)
    centred = sums / counts[:, None] - h.mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    return {"k": k, "d": h.shape[1], "n": h.shape[0],
            "means_gram": (centred @ centred.T).tolist(),
            "classifier_means": (w @ centred.T).tolist(),
            "classifier_frobenius_sq": float((w * w).sum())}


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


def checked(tensors):
    """The tensors the two files need, their shapes checked against each other."""
    need = ["test.logits", "test.labels", "train.features", "train.labels", "weights"]
    missing = [t for t in need if t not in tensors]
    if missing:
        raise Unusable(f"no tensor {', '.join(missing)}")
    logits, test_y = tensors["test.logits"], tensors["test.labels"]
    features, train_y, weights = tensors["train.features"], tensors["train.labels"], tensors["weights"]
    if logits.ndim != 2 or weights.ndim != 2 or features.ndim != 2:
        raise Unusable("test.logits, train.features and weights must be matrices")
    k = weights.shape[0]
    if logits.shape != (len(test_y), k):
        raise Unusable(f"test.logits are {logits.shape[0]} x {logits.shape[1]}, not one row of "
                       f"{k} per test label ({len(test_y)})")
    if features.shape != (len(train_y), weights.shape[1]):
        raise Unusable(f"train.features are {features.shape[0]} x {features.shape[1]}, not one row "
                       f"of {weights.shape[1]} (the classifier's width) per training label ({len(train_y)})")
    for name, y in (("test.labels", test_y), ("train.labels", train_y)):
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= k)):
            raise Unusable(f"{name} must be integers in 0..{k - 1}")
    return logits, test_y, features, train_y, weights


def mismatches(measured, final):
    """The metrics where the logits and the run's summary disagree, as 'name: a vs b'."""
    out = []
    for name in CHECKED:
        a, b = measured[name], final.get(name)
        same = (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b)))
        if not same:
            out.append(f"{name}: {a} from the logits, {b} in summary.json")
    return out


def kept_files(run, cfg, summary, committed):
    """{file name: text} for one run; Unusable when its final.safetensors cannot be kept.
    `committed`: the summary already in RESULTS_DIR for this run, if any (a run trained again
    must give its test metrics too, or its files would sit beside another network's)."""
    logits, test_y, features, train_y, weights = checked(nclab.load_tensors(run / "final.safetensors"))
    tree = tree_of(run, cfg["hierarchy"])
    if tree.num_classes != weights.shape[0]:
        raise Unusable(f"its tree {cfg['hierarchy']!r} has {tree.num_classes} classes, the "
                       f"classifier {weights.shape[0]}")
    cols = predictions(logits, test_y, tree.lca_heights())
    measured = metrics_of(*cols)
    for path, s in ((run / "summary.json", summary), committed):
        wrong = mismatches(measured, s.get("final") or {}) if s is not None else []
        if wrong:
            raise Unusable(f"it does not give the test metrics of {path}: {'; '.join(wrong)}")
    return {PREDICTIONS: predictions_text(*cols),
            GEOMETRY: json.dumps(geometry(features, train_y, weights)) + "\n"}


def write(path, text):
    """Writes `text` to `path` through a temporary file (never half-written); False when the
    file already holds it."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


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
        committed = args.results / run.name / "summary.json"
        committed = (committed, json.loads(committed.read_text())) if committed.exists() else (committed, None)
        try:
            files = kept_files(run, cfg, summary, committed)
        except (Unusable, ValueError, OSError) as e:
            failed.append(run.name)
            print(f"{run / 'final.safetensors'}: {e}; nothing written for this run", file=sys.stderr)
            continue
        for name, text in files.items():
            if write(args.results / run.name / name, text):
                print(f"wrote {args.results / run.name / name}")
    skipped = sorted(p.name for p in args.sweep.iterdir() if p.is_dir() and p.name not in done)
    if skipped:
        print(f"skipped (not finished, or no final.safetensors): {', '.join(skipped)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
