"""The flat-tree control: CE networks measured against the flat tree (scripts/flat_control.py for
the full-data grid, a retrained `ce-flat` in the CPU-scale grids), checked against closed forms.

On a flat tree over K classes every wrong class is at distance 1, so

    mistake_severity = 1,   hdist@1 = top1_error,   hdist@5 = 1 - (1 - top5_error) / 5,

and nc2_tree follows from nc2 when the classes are balanced (the centred means then sum to 0,
so 1^T G 1 = 0 for their Gram matrix G): with c the off-diagonal of the flat target T
(docs/metrics.md, `nc2_tree`),

    nc2^2      = 2 - 2 tr(G) / (||G||_F sqrt(K - 1))
    nc2_tree^2 = 2 - 2 (1 - c) tr(G) / (||G||_F ||T||_F),   ||T||_F^2 = K + K (K - 1) c^2.
"""

import csv
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
TOL = dict(rel=1e-12, abs=1e-15)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def value(row, key):
    return float(row[key]) if row[key] != "" else None


def flat_target_offdiagonal(k):
    """c = (1 - s) e^-2 + s for the most negative s of linspace(-1/(K-1), -1, 100) that keeps
    the flat target positive semi-definite (its eigenvalues are 1 - c and 1 + (K - 1) c)."""
    e2 = math.exp(-2)
    for s in reversed(np.linspace(-1 / (k - 1), -1, 100)):
        c = (1 - s) * e2 + s
        eig = (1 - c, 1 + (k - 1) * c)
        if min(eig) >= -1e-10 * max(eig):
            return c
    raise AssertionError("no admissible s")


def nc2_tree_on_flat(nc2, k):
    ratio = (2 - nc2**2) / 2 * math.sqrt(k - 1)  # tr(G) / ||G||_F
    c = flat_target_offdiagonal(k)
    return math.sqrt(2 - 2 * (1 - c) * ratio / math.sqrt(k + k * (k - 1) * c * c))


def check_flat_row(flat, k):
    """The closed forms of a row measured against the flat tree over k balanced classes."""
    top1, top5 = value(flat, "top1_error"), value(flat, "top5_error")
    assert value(flat, "mistake_severity") == 1.0
    assert value(flat, "hdist@1") == pytest.approx(top1, **TOL)
    assert value(flat, "hdist@5") == pytest.approx(1 - (1 - top5) / 5, **TOL)
    assert value(flat, "mean_tree_correlation") is None and value(flat, "nc1_coarse") is None
    assert value(flat, "nc2_tree") == pytest.approx(nc2_tree_on_flat(value(flat, "nc2"), k), rel=1e-9)


def last_row(run_dir):
    return rows(run_dir / "metrics.csv")[-1]


def test_the_closed_form_of_nc2_tree_on_a_flat_tree():
    # An exact simplex ETF: nc2 = 0, and nc2_tree is the distance between E and T alone.
    k = 10
    e = (np.eye(k) - 1 / k) * k / (k - 1)
    c = flat_target_offdiagonal(k)
    t = (1 - c) * np.eye(k) + c
    direct = np.linalg.norm(e / np.linalg.norm(e) - t / np.linalg.norm(t))
    assert nc2_tree_on_flat(0.0, k) == pytest.approx(direct, rel=1e-12)
    assert -1 / (k - 1) < c < -1 / (k - 1) + 0.01  # within a grid step of the ETF's -1/9


CONTROLS = sorted(RESULTS.glob("*/flat-tree-control.csv"))


def test_the_full_data_grid_has_its_control():
    assert RESULTS / "protocol-fashion-mnist-mlp" / "flat-tree-control.csv" in CONTROLS


@pytest.mark.parametrize("path", CONTROLS, ids=lambda p: p.parent.name)
def test_the_measured_control_matches_the_runs_and_the_closed_forms(path):
    table = rows(path)
    assert table and len(table) % 2 == 0
    for own, flat in zip(table[::2], table[1::2]):
        assert own["run"] == flat["run"] and flat["hierarchy"].startswith("flat:")
        # Against the run's own tree: what the trainer wrote at the last epoch.
        trained = last_row(path.parent / own["run"])
        for key in ("top1_error", "top5_error", "mistake_severity", "hdist@1", "hdist@5", "nc1",
                    "nc2", "nc2_tree", "mean_tree_correlation", "nc1_coarse"):
            assert value(own, key) == pytest.approx(value(trained, key), **TOL), key
        # Against the flat tree: the same network, so the same training metrics.
        for key in ("top1_error", "top5_error", "nc1", "nc2"):
            assert value(flat, key) == value(own, key), key
        check_flat_row(flat, int(flat["hierarchy"].split(":")[1]))


@pytest.mark.parametrize("grid", ["hierarchy-fashion-mnist-mlp", "hierarchy-cifar10-resnet18"])
def test_the_retrained_ce_flat_is_the_ce_network_against_the_flat_tree(grid):
    for seed in (0, 1, 2):
        ce = last_row(RESULTS / grid / f"loss=ce_seed={seed}")
        flat = last_row(RESULTS / grid / f"loss=ce-flat_seed={seed}")
        for key in ("train_acc", "test_acc", "top1_error", "top5_error", "nc1", "nc2", "nc3", "nc4"):
            assert flat[key] == ce[key], (seed, key)
        check_flat_row(flat, 10)


# ---- the script itself, on a synthetic run ----------------------------------------------------

def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_the_script_measures_a_synthetic_run(tmp_path):
    rng = np.random.default_rng(7)
    k, d, n = 10, 16, 30
    means = rng.normal(size=(k, d)) * 3
    train_y = np.repeat(np.arange(k), n)
    train_x = (means[train_y] + rng.normal(size=(k * n, d))).astype(np.float32)
    test_y = np.tile(np.arange(k), 7)
    test_x = (means[test_y] + rng.normal(size=(7 * k, d))).astype(np.float32)
    w = (means + rng.normal(size=(k, d))).astype(np.float32)
    b = rng.normal(size=k).astype(np.float32)
    run = tmp_path / "sweep" / "loss=ce_seed=3"
    run.mkdir(parents=True)
    write_safetensors(run / "final.safetensors", {
        "train.features": train_x, "train.labels": train_y, "test.features": test_x,
        "test.labels": test_y, "test.logits": test_x @ w.T + b, "weights": w, "bias": b})
    (run / "config.toml").write_text('seed = 3\nhierarchy = "fashion-mnist"\n[loss]\nkind = "ce"\n'
                                     '[analysis]\ncoarse_depth = 1\n')
    (run / "summary.json").write_text('{"status": "finished"}')
    out = tmp_path / "results"
    out.mkdir()
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "flat_control.py"), str(run.parent),
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    own, flat = rows(out / "flat-tree-control.csv")
    assert (own["seed"], own["hierarchy"], flat["hierarchy"]) == ("3", "fashion-mnist", "flat:10")
    # Independent numbers: the test error of the logits, NC1 = tr(S_W S_B^+) / K with NumPy.
    logits = test_x.astype(np.float64) @ w.T.astype(np.float64) + b
    top1 = np.mean(logits.argmax(1) != test_y)
    x = train_x.astype(np.float64)
    mu = np.stack([x[train_y == c].mean(0) for c in range(k)])
    centred = mu - x.mean(0)
    s_w = sum((x[train_y == c] - mu[c]).T @ (x[train_y == c] - mu[c]) for c in range(k)) / len(x)
    nc1 = np.trace(s_w @ np.linalg.pinv(centred.T @ centred / k)) / k
    for row in (own, flat):
        assert value(row, "top1_error") == pytest.approx(top1, abs=1e-15)
        assert value(row, "nc1") == pytest.approx(nc1, rel=1e-9)
    check_flat_row(flat, k)
    # A later run measured from a sweep folder that no longer has the first run's tensors (a
    # restored folder on a new machine): the first run's rows stay, byte for byte, before it.
    later = tmp_path / "restored" / "loss=ce_seed=4"
    later.mkdir(parents=True)
    for f in ("final.safetensors", "summary.json"):
        (later / f).write_bytes((run / f).read_bytes())
    (later / "config.toml").write_text((run / "config.toml").read_text().replace("seed = 3", "seed = 4"))
    (run.parent.parent / "restored" / "loss=ce_seed=3").mkdir()
    before = (out / "flat-tree-control.csv").read_text().splitlines()
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "flat_control.py"), str(later.parent),
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = (out / "flat-tree-control.csv").read_text().splitlines()
    assert after[:3] == before
    assert [r["run"] for r in rows(out / "flat-tree-control.csv")] == ["loss=ce_seed=3"] * 2 + ["loss=ce_seed=4"] * 2
    # A sweep folder without a finished CE run is an error that names the folder.
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "flat_control.py"), str(empty),
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 1 and str(empty) in done.stderr
