"""What results/ keeps of a run's final network (scripts/keep_final.py): the files of made-up
runs against rankings, distances and class means computed here, and every committed file
against its run's summary."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_flat_control import write_safetensors

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "keep_final.py"
COMMITTED = sorted((REPO / "results").glob("*/*/test_predictions.csv"))
COMMITTED_GEOMETRY = sorted((REPO / "results").glob("*/*/final_geometry.json"))

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


def made_up_run(sweep, final, name="loss=hxe-0.3_seed=2", k=10, tree="fashion-mnist", dist=distance):
    """A finished run with 40 test images whose logits tie in places, 30 training samples in 6
    dimensions, and `final` (a function of the expected per-image values) as its summary's final
    metrics."""
    rng = np.random.default_rng(3)
    labels = np.arange(40) % k
    logits = rng.integers(0, 4, size=(40, k)).astype(np.float32)  # many ties
    train_y = np.arange(30) % k
    train_x = rng.normal(size=(30, 6)).astype(np.float32)
    w = rng.normal(size=(k, 6)).astype(np.float32)
    run = sweep / name
    run.mkdir(parents=True)
    write_safetensors(run / "final.safetensors", {
        "test.labels": labels, "test.logits": logits, "train.features": train_x,
        "train.labels": train_y, "weights": w})
    (run / "config.toml").write_text(f'seed = 2\nhierarchy = "{tree}"\n[loss]\nkind = "hxe"\n')
    # The ranking by hand: highest logit first, the lower class first among equal logits.
    top = min(5, k)
    ranks = [sorted(range(k), key=lambda c: (-logits[i, c], c))[:top] for i in range(40)]
    d1 = [dist(r[0], t) for r, t in zip(ranks, labels)]
    d5 = [sum(dist(c, t) for c in r) / top for r, t in zip(ranks, labels)]
    (run / "summary.json").write_text(json.dumps({"status": "finished",
                                                  "final": final(labels, ranks, d1, d5)}))
    return run, (labels, ranks, d1, d5), (train_x, train_y, w)


def true_metrics(labels, ranks, d1, d5):
    wrong = [r[0] != t for r, t in zip(ranks, labels)]
    return {"top1_error": sum(wrong) / len(labels),
            "top5_error": sum(t not in r for r, t in zip(ranks, labels)) / len(labels),
            "mistake_severity": sum(d for d, w in zip(d1, wrong) if w) / sum(wrong),
            "hdist@1": sum(d1) / len(labels), "hdist@5": sum(d5) / len(labels)}


def check_predictions(path, labels, ranks, d1, d5):
    got = rows(path)
    assert len(got) == len(labels)
    for row, t, r, a, b in zip(got, labels, ranks, d1, d5):
        assert int(row["label"]) == t
        assert [int(row[f"rank{j}"]) for j in range(1, len(r) + 1)] == r
        assert float(row["hdist@1"]) == a and float(row["hdist@5"]) == pytest.approx(b, abs=1e-15)


def test_a_made_up_run_is_kept(tmp_path):
    run, expected, (x, y, w) = made_up_run(tmp_path / "sweep", true_metrics)
    out = tmp_path / "results"
    done = run_script(run.parent, out)
    assert done.returncode == 0, done.stderr
    check_predictions(out / run.name / "test_predictions.csv", *expected)
    # The geometry by hand: each class's mean minus the mean of all samples, in float64.
    kept = json.loads((out / run.name / "final_geometry.json").read_text())
    assert (kept["k"], kept["d"], kept["n"]) == (10, 6, 30)
    x, w = x.astype(np.float64), w.astype(np.float64)
    centred = [[sum(x[i, j] for i in range(30) if y[i] == c) / 3 - sum(x[:, j]) / 30 for j in range(6)]
               for c in range(10)]
    for i in range(10):
        for j in range(10):
            assert kept["means_gram"][i][j] == pytest.approx(
                sum(a * b for a, b in zip(centred[i], centred[j])), rel=1e-12, abs=1e-14)
            assert kept["classifier_means"][i][j] == pytest.approx(
                sum(a * b for a, b in zip(w[i], centred[j])), rel=1e-12, abs=1e-14)
    assert kept["classifier_frobenius_sq"] == pytest.approx(float((w * w).sum()), rel=1e-14)
    # Written once: a second pass over the same run leaves the files alone.
    again = run_script(run.parent, out)
    assert again.returncode == 0 and "wrote" not in again.stdout


def test_fewer_than_five_classes_rank_them_all(tmp_path):
    """On flat:3 every wrong class is at distance 1, and hdist@5 is hdist@3: the mean over the
    three ranks (thirds, written so that they read back exactly)."""
    run, expected, _ = made_up_run(tmp_path / "sweep", true_metrics, k=3, tree="flat:3",
                                   dist=lambda a, b: int(a != b))
    out = tmp_path / "results"
    done = run_script(run.parent, out)
    assert done.returncode == 0, done.stderr
    path = out / run.name / "test_predictions.csv"
    assert rows(path)[0].keys() == {"label", "rank1", "rank2", "rank3", "hdist@1", "hdist@5"}
    check_predictions(path, *expected)
    assert {float(r["hdist@5"]) for r in rows(path)} == {2 / 3}


def test_a_run_whose_logits_disagree_with_its_summary_is_refused(tmp_path):
    def off_by_one_image(labels, ranks, d1, d5):
        m = true_metrics(labels, ranks, d1, d5)
        m["top1_error"] += 1 / 40
        return m
    run, *_ = made_up_run(tmp_path / "sweep", off_by_one_image)
    out = tmp_path / "results"
    done = run_script(run.parent, out)
    assert done.returncode == 1
    assert str(run / "final.safetensors") in done.stderr and "top1_error" in done.stderr
    assert not (out / run.name).exists()


def test_a_run_trained_again_must_be_the_committed_network(tmp_path):
    """A run whose sweep summary agrees with its logits but whose committed summary in
    RESULTS_DIR does not (another network under the same name): refused, nothing written."""
    run, expected, _ = made_up_run(tmp_path / "sweep", true_metrics)
    out = tmp_path / "results" / run.name
    out.mkdir(parents=True)
    other = true_metrics(*expected)
    other["hdist@5"] += 0.2 / 40
    (out / "summary.json").write_text(json.dumps({"status": "finished", "final": other}))
    done = run_script(run.parent, out.parent)
    assert done.returncode == 1
    assert f"does not give the test metrics of {out / 'summary.json'}: hdist@5" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_a_malformed_run_is_named_and_the_others_are_kept(tmp_path):
    """Logits of 9 columns for a 10-class classifier: the run is named with the reason, nothing
    is written for it, and the next run is kept all the same."""
    sweep = tmp_path / "sweep"
    bad, *_ = made_up_run(sweep, true_metrics, name="loss=ce_seed=0")
    good, expected, _ = made_up_run(sweep, true_metrics, name="loss=ce_seed=1")
    t = {k: v for k, v in zip(["test.labels", "test.logits", "train.features", "train.labels", "weights"],
                              [np.arange(40) % 10, np.zeros((40, 9), np.float32), np.zeros((30, 6), np.float32),
                               np.arange(30) % 10, np.zeros((10, 6), np.float32)])}
    write_safetensors(bad / "final.safetensors", t)
    out = tmp_path / "results"
    done = run_script(sweep, out)
    assert done.returncode == 1
    assert f"{bad / 'final.safetensors'}: test.logits are 40 x 9, not one row of 10" in done.stderr
    assert "nothing written for this run" in done.stderr and "Traceback" not in done.stderr
    assert not (out / bad.name).exists()
    check_predictions(out / good.name / "test_predictions.csv", *expected)


def test_a_missing_sweep_folder_is_an_error(tmp_path):
    done = run_script(tmp_path / "nowhere", tmp_path / "results")
    assert done.returncode == 1 and "nowhere: not a folder" in done.stderr


def test_some_runs_are_committed_with_their_predictions_and_geometry():
    assert len(COMMITTED) >= 8
    assert [p.parent for p in COMMITTED_GEOMETRY] == [p.parent for p in COMMITTED]


@pytest.mark.parametrize("path", COMMITTED_GEOMETRY, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_each_committed_geometry_gives_its_runs_nc2(path):
    """NC2 of the run's final epoch from the kept Gram matrix G = M M^T alone, computed here:
    ||G / ||G||_F - E||_F with E = (I - 11^T / K) / sqrt(K - 1) (docs/metrics.md, `nc2`)."""
    kept = json.loads(path.read_text())
    k = kept["k"]
    g = np.array(kept["means_gram"])
    etf = (np.eye(k) - np.ones((k, k)) / k) / np.sqrt(k - 1)
    nc2 = np.linalg.norm(g / np.linalg.norm(g) - etf)
    final = json.loads((path.parent / "summary.json").read_text())["final"]
    assert nc2 == pytest.approx(final["nc2"], rel=1e-9)


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
