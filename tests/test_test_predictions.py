"""Each run's test predictions (scripts/test_predictions.py): the file of a made-up run against
a ranking and distances computed here, and every committed file against its run's summary."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_flat_control import write_safetensors

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "test_predictions.py"
COMMITTED = sorted((REPO / "results").glob("*/*/test_predictions.csv"))

# The built-in `fashion-mnist` tree (docs/losses-and-hierarchies.md): tops, bottoms, shoes, bags.
GROUPS = {"tops": [0, 2, 4, 6], "bottoms": [1, 3], "shoes": [5, 7, 9], "bags": [8]}
CLOTHES = {"tops", "bottoms"}


def distance(a, b):
    """The LCA height of two classes on that tree: 0 same class, 1 same group, 2 both clothes,
    3 otherwise."""
    if a == b:
        return 0
    ga, gb = (next(g for g, cs in GROUPS.items() if c in cs) for c in (a, b))
    return 1 if ga == gb else 2 if {ga, gb} <= CLOTHES else 3


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_script(sweep, out):
    return subprocess.run([sys.executable, str(SCRIPT), str(sweep), str(out)], capture_output=True,
                          text=True)


def made_up_run(tmp_path, final):
    """A finished run with 40 test images whose logits tie in places, and `final` (a function of
    the expected per-image values) as its summary's final metrics."""
    rng = np.random.default_rng(3)
    labels = np.arange(40) % 10
    logits = rng.integers(0, 4, size=(40, 10)).astype(np.float32)  # many ties
    run = tmp_path / "sweep" / "loss=hxe-0.3_seed=2"
    run.mkdir(parents=True)
    write_safetensors(run / "final.safetensors", {"test.labels": labels, "test.logits": logits})
    (run / "config.toml").write_text('seed = 2\nhierarchy = "fashion-mnist"\n[loss]\nkind = "hxe"\n')
    # The ranking by hand: highest logit first, the lower class first among equal logits.
    ranks = [sorted(range(10), key=lambda c: (-logits[i, c], c))[:5] for i in range(40)]
    d1 = [distance(r[0], t) for r, t in zip(ranks, labels)]
    d5 = [sum(distance(c, t) for c in r) / 5 for r, t in zip(ranks, labels)]
    (run / "summary.json").write_text(json.dumps({"status": "finished",
                                                  "final": final(labels, ranks, d1, d5)}))
    return run, labels, ranks, d1, d5


def true_metrics(labels, ranks, d1, d5):
    wrong = [r[0] != t for r, t in zip(ranks, labels)]
    return {"top1_error": sum(wrong) / len(labels),
            "top5_error": sum(t not in r for r, t in zip(ranks, labels)) / len(labels),
            "mistake_severity": sum(d for d, w in zip(d1, wrong) if w) / sum(wrong),
            "hdist@1": sum(d1) / len(labels), "hdist@5": sum(d5) / len(labels)}


def test_a_made_up_run_gives_its_ranking_and_distances(tmp_path):
    run, labels, ranks, d1, d5 = made_up_run(tmp_path, true_metrics)
    out = tmp_path / "results"
    done = run_script(run.parent, out)
    assert done.returncode == 0, done.stderr
    got = rows(out / run.name / "test_predictions.csv")
    assert len(got) == 40
    for row, t, r, a, b in zip(got, labels, ranks, d1, d5):
        assert int(row["label"]) == t
        assert [int(row[f"rank{j}"]) for j in range(1, 6)] == r
        assert float(row["hdist@1"]) == a and float(row["hdist@5"]) == pytest.approx(b, abs=1e-15)
    # Written once: a second pass over the same run leaves the file alone.
    again = run_script(run.parent, out)
    assert again.returncode == 0 and "wrote" not in again.stdout


def test_a_run_whose_logits_disagree_with_its_summary_is_refused(tmp_path):
    def off_by_one_image(labels, ranks, d1, d5):
        m = true_metrics(labels, ranks, d1, d5)
        m["top1_error"] += 1 / 40
        return m
    run, *_ = made_up_run(tmp_path, off_by_one_image)
    out = tmp_path / "results"
    done = run_script(run.parent, out)
    assert done.returncode == 1
    assert str(run / "final.safetensors") in done.stderr and "top1_error" in done.stderr
    assert not (out / run.name).exists()


def test_a_missing_sweep_folder_is_an_error(tmp_path):
    done = run_script(tmp_path / "nowhere", tmp_path / "results")
    assert done.returncode == 1 and "nowhere: not a folder" in done.stderr


def test_some_runs_are_committed_with_their_predictions():
    assert len(COMMITTED) >= 8


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_each_committed_file_gives_its_runs_test_metrics(path):
    """The means over a committed file's rows are the run's final test metrics, as its trainer
    wrote them in summary.json; the distances are those of the tree above."""
    final = json.loads((path.parent / "summary.json").read_text())["final"]
    got = rows(path)
    labels = [int(r["label"]) for r in got]
    ranks = [[int(r[f"rank{j}"]) for j in range(1, 6)] for r in got]
    d1 = [distance(r[0], t) for r, t in zip(ranks, labels)]
    d5 = [sum(distance(c, t) for c in r) / 5 for r, t in zip(ranks, labels)]
    assert [float(r["hdist@1"]) for r in got] == d1
    assert [float(r["hdist@5"]) for r in got] == pytest.approx(d5, abs=1e-15)
    for name, value in true_metrics(labels, ranks, d1, d5).items():
        assert value == pytest.approx(final[name], rel=1e-12), name
