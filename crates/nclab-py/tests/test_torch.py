"""nclab.torch.features, measure_model and Tracker; the example loop end to end."""

import json
import os
import re
import warnings
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

import nclab
from conftest import REPO, assert_metrics_close, gaussian_classes
from nclab.torch import HXELoss, SoftLabelLoss, Tracker, features, measure_model


def toy(seed=0, k=5, d=8, per_class=40):
    rng = np.random.default_rng(seed)
    x, y = gaussian_classes(rng, [per_class] * k, d, dtype=np.float32)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, k))
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return model, DataLoader(data, batch_size=32), x, y


def test_features_are_the_penultimate_layer():
    model, loader, x, y = toy()
    model.train()
    got = features(model, loader)
    assert model.training  # the mode is restored
    with torch.no_grad():
        want = model[:-1](torch.from_numpy(x))
        logits = model(torch.from_numpy(x))
    assert torch.equal(got.features, want)
    assert torch.equal(got.logits, logits)
    assert torch.equal(got.labels, torch.from_numpy(y))
    # Read without an autograd graph (cheaper, and nothing kept alive).
    assert not got.features.requires_grad and not got.logits.requires_grad
    named = features(model, loader, layer="1", keep_logits=False)
    assert named.logits is None
    assert torch.equal(named.features, torch.relu(model[0](torch.from_numpy(x))).detach())


def test_features_into_an_accumulator_and_measure_model():
    model, loader, x, y = toy(seed=1)
    with torch.no_grad():
        h = model[:-1](torch.from_numpy(x)).double().numpy()
    head = model[-1]
    want = nclab.measure(h.astype(np.float32), y, head.weight.detach(), head.bias.detach(), hierarchy="flat:5")
    acc = nclab.Accumulator(5, 12)
    out = features(model, loader, into=acc)
    assert out.features is None
    acc.second_pass(head.weight, head.bias)
    features(model, loader, into=acc, keep_logits=False)
    assert_metrics_close(acc.result(hierarchy="flat:5"), want, rtol=1e-10, atol=1e-12)
    for cache in (0, 1 << 30):  # a second forward pass, and features kept after pass 1
        metrics, _, logits, labels = measure_model(model, loader, 5, hierarchy="flat:5", cache_bytes=cache)
        assert_metrics_close(metrics, want, rtol=1e-10, atol=1e-12)
    got = measure_model(model, loader, 5, hierarchy="flat:5")  # the default cache, by name
    assert got.metrics == metrics and got.accumulator.current_pass == 3
    assert torch.equal(got.logits, logits) and torch.equal(got.labels, labels)


class CountingLoader:
    """A loader that counts the passes over it."""

    def __init__(self, loader):
        self.loader, self.dataset, self.passes = loader, loader.dataset, 0

    def __iter__(self):
        self.passes += 1
        return iter(self.loader)


def test_measure_model_counts_the_cache_at_the_models_element_size():
    # 200 samples of 12 features: 9,600 bytes in float32, 19,200 in float64.
    model, loader, *_ = toy(seed=2)
    for dtype, size in ((torch.float32, 4), (torch.float64, 8)):
        model = model.to(dtype)
        data = TensorDataset(loader.dataset.tensors[0].to(dtype), loader.dataset.tensors[1])
        for cache, passes in ((200 * 12 * size, 1), (200 * 12 * size - 1, 2)):
            counting = CountingLoader(DataLoader(data, batch_size=32))
            measure_model(model, counting, 5, cache_bytes=cache)
            assert counting.passes == passes, (dtype, cache)


def test_features_errors():
    model, loader, *_ = toy()
    with pytest.raises(ValueError, match="layer 'nope'"):
        features(model, loader, layer="nope")
    with pytest.raises(ValueError, match="has no nn.Linear"):
        features(nn.Sequential(nn.ReLU()), loader)
    # Batches that are not (inputs, labels) are named; labels as NumPy, int32 or an N x 1
    # column are the same labels.
    xb, yb = next(iter(loader))
    with pytest.raises(ValueError, match="loader: batch 0 is a tuple of 3; expected"):
        features(model, [(xb, yb, yb)])
    with pytest.raises(ValueError, match="loader: batch 0 is a dict"):
        features(model, [{"x": xb, "y": yb}])
    with pytest.raises(ValueError, match=r"labels of shape \(32, 2\)"):
        features(model, [(xb, torch.stack([yb, yb], 1))])
    with pytest.raises(ValueError, match="loader: it gave no batches"):
        features(model, [])
    want = features(model, [(xb, yb)]).labels
    for labels in (yb.numpy(), yb.int(), yb[:, None]):
        assert torch.equal(features(model, [(xb, labels)]).labels, want)


class HeadFirst(nn.Module):
    """A model whose classifier is not its last nn.Linear: the head is assigned first and a
    projection (as in contrastive training) after the body."""

    def __init__(self, d, k):
        super().__init__()
        self.fc = nn.Linear(12, k)
        self.body = nn.Sequential(nn.Linear(d, 12), nn.Tanh())
        self.proj = nn.Linear(12, 3)

    def forward(self, x):
        h = self.body(x)
        self.projected = self.proj(h)
        return self.fc(h)


def test_a_named_classifier(tmp_path):
    _, loader, x, y = toy(seed=2)
    torch.manual_seed(2)
    model = HeadFirst(8, 5)
    with torch.no_grad():
        h = model.body(torch.from_numpy(x))
    w, b = model.fc.weight.detach(), model.fc.bias.detach()
    want = nclab.measure(h.numpy(), y, w, b, hierarchy="flat:5")
    # The last nn.Linear is the projection: 3 outputs, not 5 classes.
    with pytest.raises(ValueError, match=r"num_classes=5, but the classifier \(the model's last nn.Linear"):
        measure_model(model, loader, 5)
    got = features(model, loader, classifier="fc")
    assert torch.equal(got.features, h)
    for cache in (1 << 30, 0):
        metrics, *_ = measure_model(model, loader, 5, hierarchy="flat:5", cache_bytes=cache, classifier="fc")
        assert_metrics_close(metrics, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"num_classes=3, but the classifier \('fc'"):
        measure_model(model, loader, 3, classifier="fc")
    with pytest.raises(ValueError, match="classifier 'head'"):
        measure_model(model, loader, 5, classifier="head")
    with pytest.raises(ValueError, match="classifier 'body' is a Sequential, not an nn.Linear"):
        features(model, loader, classifier="body")
    with pytest.raises(ValueError, match="give one"):
        features(model, loader, layer="body", classifier="fc")
    with pytest.raises(ValueError, match="classifier: expected a module name"):
        Tracker(tmp_path / "bad", num_epochs=1, classifier=model.fc)
    # The Tracker measures with the named classifier: its row is nclab.measure's.
    tracker = Tracker(tmp_path / "run", "flat", [1], num_epochs=1, classifier="fc")
    row = tracker.epoch(1, model, loader, loader)
    for key in ("nc1", "nc2", "nc3", "nc4", "nc2_tree"):
        assert row[key] == pytest.approx(want[key], rel=1e-10, abs=1e-12), key
    assert row["train_acc"] == pytest.approx(float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean()))


def test_a_model_returning_a_tuple_is_named():
    model, loader, *_ = toy()
    pair = nn.Sequential()
    pair.forward = lambda x: (model(x), x)
    pair.net = model
    with pytest.raises(ValueError, match="the model returned a tuple, not a tensor of logits"):
        features(pair, loader)
    assert features(pair, loader, keep_logits=False).logits is None


def test_tracker_losses_as_trained(tmp_path):
    """The loss columns of the criteria a loop trains with: a function, nn.MSELoss (on one-hot
    targets, as MSE training on classes uses it) and a class-weighted CE, whose weights
    config.toml records so that nclab report does not pool it with plain CE."""
    model, loader, x, y = toy(seed=3)
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    target = torch.from_numpy(y).long()
    one_hot = F.one_hot(target, 5).float()
    weights = torch.tensor([1.0, 1.0, 2.0, 2.0, 5.0])
    for name, loss, want in [
        ("fn", F.cross_entropy, F.cross_entropy(logits, target)),
        ("mse", nn.MSELoss(), ((logits - one_hot) ** 2).mean()),
        ("weighted", nn.CrossEntropyLoss(weight=weights), F.cross_entropy(logits, target, weight=weights)),
    ]:
        tracker = Tracker(tmp_path / name, None, [1], num_epochs=1, loss=loss)
        row = tracker.epoch(1, model, loader)
        assert row["train_loss"] == pytest.approx(float(want), rel=1e-6), name
    config = (tmp_path / "fn" / "config.toml").read_text()
    assert 'kind = "ce"' in config
    assert 'kind = "mse"' in (tmp_path / "mse" / "config.toml").read_text()
    assert "class_weights = [1.0, 1.0, 2.0, 2.0, 5.0]" in (tmp_path / "weighted" / "config.toml").read_text()
    with pytest.raises(ValueError, match="loss: expected the criterion you train with"):
        Tracker(tmp_path / "bad", num_epochs=1, loss="ce")
    # F.mse_loss as nn.MSELoss: one-hot targets, kind mse.
    row = Tracker(tmp_path / "mse-fn", None, [1], num_epochs=1, loss=F.mse_loss).epoch(1, model, loader)
    assert row["train_loss"] == pytest.approx(float(((logits - one_hot) ** 2).mean()), rel=1e-6)
    assert 'kind = "mse"' in (tmp_path / "mse-fn" / "config.toml").read_text()
    # A named function is recorded by its name, with parameters config= adds; anonymous ones
    # (two lambdas would both be '<lambda>' and pool) and a class are refused.
    def smoothed_ce(z, t):
        return F.cross_entropy(z, t, label_smoothing=0.3)
    Tracker(tmp_path / "named", num_epochs=1, loss=smoothed_ce,
            config={"loss": {"label_smoothing": 0.3}}).close()
    config = (tmp_path / "named" / "config.toml").read_text()
    assert 'kind = "smoothed_ce"' in config and "label_smoothing = 0.3" in config
    import functools
    for anonymous in (lambda z, t: F.cross_entropy(z, t), functools.partial(F.cross_entropy, label_smoothing=0.1)):
        with pytest.raises(ValueError, match="has no name for config.toml's loss.kind"):
            Tracker(tmp_path / "anon", num_epochs=1, loss=anonymous)
    with pytest.raises(ValueError, match=r"loss: got the class CrossEntropyLoss; pass an instance, CrossEntropyLoss\(\)"):
        Tracker(tmp_path / "class", num_epochs=1, loss=nn.CrossEntropyLoss)
    assert not (tmp_path / "anon").exists() and not (tmp_path / "class").exists()


def test_tracker_warns_when_the_loss_trains_on_another_tree(tmp_path):
    tree = nclab.Hierarchy.from_edges([("r", "a"), ("r", "b"), ("a", "0"), ("a", "1"), ("b", "2"),
                                       ("b", "3"), ("b", "4")], classes=list("01234"))
    with pytest.warns(UserWarning, match=r"the loss trains on the tree .* but the run is measured against 'flat'"):
        Tracker(tmp_path / "flat", "flat", num_epochs=1, loss=HXELoss(tree, 0.3)).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Tracker(tmp_path / "same", tree, num_epochs=1, loss=SoftLabelLoss(tree, 4.0)).close()


def test_a_tracker_that_never_analysed_is_replaced(tmp_path):
    """A script that fails in its first epoch (before any analysis) leaves config.toml and the
    saved tree; run again, its Tracker takes the directory over. Anything measured, or a file
    of another program, still makes the directory refused."""
    model, loader, *_ = toy()
    tree = nclab.Hierarchy.from_edges([("r", "a"), ("r", "b"), ("a", "0"), ("a", "1"), ("b", "2"),
                                       ("b", "3"), ("b", "4")], classes=list("01234"))
    run = tmp_path / "run"
    first = Tracker(run, tree, [1], num_epochs=1, seed=1)
    first.close()
    assert sorted(p.name for p in run.iterdir() if p.name != ".nclab.lock")[0] == "config.toml"
    second = Tracker(run, tree, [1], num_epochs=1, seed=2)
    assert "seed = 2" in (run / "config.toml").read_text()
    second.epoch(1, model, loader)
    with pytest.raises(ValueError, match="already exists and is not empty"):
        Tracker(run, tree, [1], num_epochs=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.toml").write_text('trainer = "something else"\n')
    with pytest.raises(ValueError, match="already exists and is not empty"):
        Tracker(other, num_epochs=1)


def test_a_test_set_without_some_class_leaves_only_heldout_nc1_empty(tmp_path):
    """heldout_nc1 uses the test set's own class means, so a class without test samples leaves
    it undefined; the Tracker's analysis stopped on it before. The nearest-class-mean accuracy
    is checked against NumPy (training means, Euclidean distance)."""
    model, loader, x, y = toy(seed=4)
    keep = y != 4
    test = DataLoader(TensorDataset(torch.from_numpy(x[keep]), torch.from_numpy(y[keep])), batch_size=32)
    tracker = Tracker(tmp_path / "run", None, [1], num_epochs=1)
    row = tracker.epoch(1, model, loader, test)
    assert row["heldout_nc1"] is None
    with torch.no_grad():
        h = model[:-1](torch.from_numpy(x)).double().numpy()
    means = np.stack([h[y == c].mean(0) for c in range(5)])
    nearest = ((h[keep][:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert row["heldout_ncc_accuracy"] == pytest.approx(float((nearest == y[keep]).mean()), abs=1e-15)
    assert row["heldout_nc4"] is not None and row["test_acc"] is not None


def train(model, loader, loss, epochs, tracker):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rows = []
    for epoch in range(1, epochs + 1):
        for xb, yb in loader:
            opt.zero_grad()
            loss(model(xb), yb).backward()
            opt.step()
        rows.append(tracker.epoch(epoch, model, loader, loader, lr=0.1 if epoch < 4 else 0.01))
    return rows


def test_tracker_writes_a_run_directory_that_nclab_reads(tmp_path, cli):
    model, loader, x, y = toy(k=5)
    tree = nclab.Hierarchy.from_edges([("r", "a"), ("r", "b")] + [("a", "0"), ("a", "1"), ("b", "2"),
                                      ("b", "3"), ("b", "4")], classes=list("01234"))
    loss = HXELoss(tree, 0.3)
    run = tmp_path / "run"
    tracker = Tracker(run, tree, [1, 2, 6], num_epochs=6, loss=loss, seed=11,
                      config={"data": {"name": "toy"}})
    rows = train(model, loader, loss, 6, tracker)
    assert [r is not None for r in rows] == [True, True, False, False, False, True]
    # The row at the last epoch equals nclab.measure on the model's features.
    with torch.no_grad():
        h = model[:-1](torch.from_numpy(x)).numpy()
    want = nclab.measure(h, y, model[-1].weight.detach(), model[-1].bias.detach(), hierarchy=tree)
    for key in ("nc1", "nc2", "nc3", "nc4", "nc2_tree", "nc1_coarse"):
        assert rows[-1][key] == pytest.approx(want[key], rel=1e-10, abs=1e-12), key
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["epoch", "lr", "elapsed_s", "train_loss", "train_acc", "test_loss", "test_acc"]
    assert header[-5:] == ["top1_error", "top5_error", "mistake_severity", "hdist@1", "hdist@5"]
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 6]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["seed"] == 11 and summary["loss"] == "hxe"
    assert summary["final"]["nc1"] == rows[-1]["nc1"]
    # The tree is saved beside the run under a name from its content; config.toml names the
    # same copy, so runs on different trees are different conditions to the report.
    copy = summary["hierarchy"]
    assert re.fullmatch(r"hierarchy-[0-9a-f]{12}\.json", copy), copy
    assert f'hierarchy = "{copy}"' in (run / "config.toml").read_text()
    assert nclab.Hierarchy.load(run / copy).classes == tree.classes
    other = nclab.Hierarchy.from_edges([("r", c) for c in "01234"], classes=list("01234"))
    with Tracker(tmp_path / "other", other, [1], num_epochs=1) as t:
        assert t.config["hierarchy"] != copy
    # test_predictions.csv: the last epoch's test logits ranked, the distances on the tree
    # (two levels: 1 within a branch, 2 across), their means the row's mistake metrics.
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).double().numpy()
    preds = (run / "test_predictions.csv").read_text().splitlines()
    assert preds[0] == "label,rank1,rank2,rank3,rank4,rank5,hdist@1,hdist@5"
    cells = np.array([[float(v) for v in line.split(",")] for line in preds[1:]])
    assert (cells[:, 0] == y).all()
    assert (cells[:, 1] == logits.argmax(1)).all()
    branch = np.array([0, 0, 1, 1, 1])
    d = np.where(branch[:, None] == branch[None], 1.0, 2.0) - np.eye(5)
    ranks = cells[:, 1:6].astype(int)
    assert cells[:, 6] == pytest.approx(d[y, ranks[:, 0]], abs=0)
    assert cells[:, 7] == pytest.approx(d[y[:, None], ranks].mean(1), abs=1e-15)
    assert cells[:, 6].mean() == pytest.approx(rows[-1]["hdist@1"], abs=1e-15)
    assert (ranks[:, 0] != y).mean() == rows[-1]["top1_error"]
    report = tmp_path / "report"
    cli("report", run, "--out", report)
    assert (report / "index.html").is_file()
    assert "toy" in (run / "config.toml").read_text()


def test_tracker_refuses_a_busy_or_used_directory(tmp_path):
    run = tmp_path / "run"
    first = Tracker(run, epochs="all", num_epochs=3)
    with pytest.raises(ValueError, match="in use by nclab.torch.Tracker, pid"):
        Tracker(run, epochs="all", num_epochs=3)
    first.close()
    # Closed before any analysis: taken over (a used one is refused, in
    # test_a_tracker_that_never_analysed_is_replaced).
    Tracker(run, epochs="all", num_epochs=3).close()
    with pytest.raises(ValueError, match="log:N"):
        Tracker(tmp_path / "other", epochs="log:1", num_epochs=3)
    assert not (tmp_path / "other").exists()  # nothing left behind


def test_tracker_marks_divergence(tmp_path):
    model, loader, *_ = toy()
    with torch.no_grad():
        model[-1].weight.fill_(float("nan"))
    tracker = Tracker(tmp_path / "run", epochs="all", num_epochs=3)
    row = tracker.epoch(1, model, loader)
    assert row["train_loss"] is None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["status"], summary["diverged_at_epoch"]) == ("diverged", 1)
    with pytest.raises(ValueError, match=r"the tracker is closed \(the run diverged at epoch 1\)"):
        tracker.epoch(2, model, loader)


def test_tracker_keeps_its_columns_and_counts_only_written_epochs(tmp_path):
    """Found by a hostile trial: a diverged row after a normal one, or an analysis without
    the test loader, had fewer columns and was refused by metrics.csv after the epoch had
    been counted, so the run could go neither on nor back."""
    model, loader, *_ = toy(seed=4)
    tracker = Tracker(tmp_path / "run", "flat", epochs="all", num_epochs=4)
    first = tracker.epoch(1, model, loader, loader)
    with pytest.raises(ValueError, match="lr: expected a number, got str"):
        tracker.epoch(2, model, loader, lr="0.1")
    second = tracker.epoch(2, model, loader)  # no test set: its columns are left empty
    assert list(second) == list(first)
    assert second["test_acc"] is None and second["top1_error"] is None and first["top1_error"] >= 0
    with torch.no_grad():
        model[-1].weight.fill_(float("nan"))
    third = tracker.epoch(3, model, loader, loader)
    assert list(third) == list(first) and third["train_loss"] is None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["status"], summary["diverged_at_epoch"]) == ("diverged", 3)
    header, *rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert header.split(",") == list(first) and len(rows) == 3
    # Columns the first analysis lacked are refused before anything is written or counted.
    model, loader, *_ = toy(seed=4)
    tracker = Tracker(tmp_path / "late", "flat", epochs="all", num_epochs=2)
    tracker.epoch(1, model, loader)
    with pytest.raises(ValueError, match="columns the first one lacked .*give test_loader at every"):
        tracker.epoch(2, model, loader, loader)
    assert tracker.epoch(2, model, loader)["epoch"] == 2


def test_tracker_refuses_a_bad_setup_before_writing(tmp_path):
    for config, message in [
        ({"data": "mnist"}, r"config\['data'\]: expected a dict"),
        ({"hierarchy": "cifar100"}, r"config\['hierarchy'\]: written by the Tracker from its hierarchy"),
        ({"analysis": {"coarse_depth": 0}}, r"config\['analysis'\]\['coarse_depth'\]: written by the Tracker"),
        ({"optim": {"epochs": 7}}, r"config\['optim'\]\['epochs'\]: written by the Tracker"),
        ({"optim": {"momentum": float("nan")}}, "config: Out of range float"),
        ({"optim": {"steps": [1, None]}}, r"config\['optim'\]\['steps'\]\[1\]: None inside a list"),
    ]:
        with pytest.raises(ValueError, match=message):
            Tracker(tmp_path / "run", config=config, num_epochs=2)
        assert not (tmp_path / "run").exists()
    for depth in (-1, 0):
        with pytest.raises(ValueError, match="coarse_depth: expected a whole number >= 1"):
            Tracker(tmp_path / "run", coarse_depth=depth, num_epochs=2)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        (tmp_path / "train.py").write_text("mine")
        with pytest.raises(ValueError, match="path is empty"):
            Tracker("", num_epochs=2)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
    finally:
        os.chdir(cwd)


def test_example_loop_runs_and_reports(tmp_path):
    """examples/pytorch_loop.py for 2 epochs on 500 MNIST images a class, then nclab report."""
    if not (REPO / "data" / "mnist" / "train-labels-idx1-ubyte").exists() and not os.environ.get("NCLAB_DATA"):
        pytest.fail("MNIST is missing: `make data` (or `scripts/fetch-data.sh mnist`) puts it in data/")
    out = tmp_path / "run"
    env = dict(os.environ, PATH=f"{os.path.dirname(os.environ.get('NCLAB_BIN', ''))}:{os.environ['PATH']}")
    p = subprocess.run([sys.executable, "examples/pytorch_loop.py", "--epochs", "2", "--per-class", "500",
                        "--out", str(out)], cwd=REPO, capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "epoch 2:" in p.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["final"]["train_acc"] > 0.5
    assert (tmp_path / "run-report" / "index.html").is_file()


def test_tracker_without_a_hierarchy_measures_against_the_flat_tree(tmp_path):
    # No hierarchy and "flat" alone are the same: the flat tree, sized by the classifier (4
    # classes) at the first analysis, as config.toml says.
    for name, hierarchy in [("none", None), ("flat", "flat")]:
        model, loader, x, y = toy(seed=2, k=4)
        tracker = Tracker(tmp_path / name, hierarchy, epochs="all", num_epochs=2)
        row = train(model, loader, nn.CrossEntropyLoss(), 2, tracker)[-1]
        with torch.no_grad():
            h = model[:-1](torch.from_numpy(x)).numpy()
            logits = model(torch.from_numpy(x)).numpy()
        want = nclab.measure(h, y, model[-1].weight.detach(), model[-1].bias.detach(),
                             hierarchy="flat:4")
        for key in ("nc1", "nc2", "nc3", "nc4", "nc2_tree"):
            assert row[key] == pytest.approx(want[key], rel=1e-10, abs=1e-12), (name, key)
        assert row["nc1_coarse"] is None and row["mean_tree_correlation"] is None
        # The mistake columns of the test set (here the training set): on the flat tree every
        # mistake has severity 1.
        top1 = float(np.mean(logits.argmax(1) != y))
        assert row["top1_error"] == pytest.approx(top1, abs=1e-15), name
        assert row["mistake_severity"] == (1.0 if top1 > 0 else None), name
        assert 'hierarchy = "flat"' in (tmp_path / name / "config.toml").read_text()
        assert json.loads((tmp_path / name / "summary.json").read_text())["status"] == "finished"
    # A built-in tree, by any of its spellings, is recorded by name, not saved beside the run.
    tracker = Tracker(tmp_path / "named", nclab.Hierarchy.builtin(" flat:4 "), epochs=[1], num_epochs=1)
    train(model, loader, nn.CrossEntropyLoss(), 1, tracker)
    assert 'hierarchy = "flat:4"' in (tmp_path / "named" / "config.toml").read_text()
    assert not (tmp_path / "named" / "hierarchy.json").exists()


class Failing:
    """A data loader whose iteration fails."""

    def __iter__(self):
        raise RuntimeError("test set unavailable")


def test_tracker_checks_its_calls_and_marks_an_early_close(tmp_path):
    model, loader, *_ = toy(seed=3)
    with pytest.raises(ValueError, match="expected epoch 1"):
        Tracker(tmp_path / "a", epochs="all", num_epochs=3).epoch(2, model, loader)
    with pytest.raises(RuntimeError, match="stop"):
        with Tracker(tmp_path / "run", epochs="all", num_epochs=3,
                     loss=nn.CrossEntropyLoss(label_smoothing=0.1)) as tracker:
            tracker.epoch(1, model, loader)
            with pytest.raises(ValueError, match="expected epoch 2"):
                tracker.epoch(1, model, loader)  # the same epoch again
            # An analysis that raises does not count the epoch: it can be retried.
            with pytest.raises(RuntimeError, match="test set unavailable"):
                tracker.epoch(2, model, loader, Failing())
            assert tracker.epoch(2, model, loader)["epoch"] == 2
            raise RuntimeError("stop")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # epochs is the run's length, as for nclab train; the last epoch measured is final's.
    assert (summary["status"], summary["epochs"], summary["final"]["epoch"]) == ("interrupted", 3, 2)
    config = (tmp_path / "run" / "config.toml").read_text()
    assert "label_smoothing = 0.1" in config
    # A tracker cannot continue it, and says so in its own terms (no CLI flags).
    with pytest.raises(ValueError, match="choose another run_dir") as e:
        Tracker(tmp_path / "run", epochs="all", num_epochs=3)
    assert "--resume" not in str(e.value)
    with pytest.raises(ValueError, match=r"epochs with num_epochs=3: epoch 9 is outside the run's epochs, 1 to 3"):
        Tracker(tmp_path / "b", epochs=[1, 9], num_epochs=3)
    with pytest.raises(ValueError, match="take the classifier"):
        measure_model(nn.Sequential(nn.Flatten()), loader, 5)
    with pytest.raises(ValueError, match=r"num_classes=7, but the classifier .* has 5 outputs"):
        measure_model(model, loader, 7)


def test_tracker_without_a_loss_warns_that_it_records_cross_entropy(tmp_path):
    with pytest.warns(UserWarning, match="no loss given, so the loss columns and config.toml's"):
        tracker = Tracker(tmp_path / "run", num_epochs=1)
    tracker.close()
    assert 'kind = "ce"' in (tmp_path / "run" / "config.toml").read_text()
    # Closed before any analysis: said as such.
    model, loader, *_ = toy()
    with pytest.raises(ValueError, match=r"the tracker is closed \(closed before any epoch was analysed\)"):
        tracker.epoch(1, model, loader)
    # A refused Tracker does not warn first.
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="choose another run_dir"):
            Tracker(tmp_path / "used", num_epochs=1)
    # Whole-number parameters are written as floats, as nclab train writes them.
    tree = nclab.Hierarchy.builtin("flat:5")
    with Tracker(tmp_path / "hxe", num_epochs=1, loss=HXELoss(tree, 1)) as t:
        assert t.config["loss"]["alpha"] == 1.0 and isinstance(t.config["loss"]["alpha"], float)
    assert "alpha = 1.0" in (tmp_path / "hxe" / "config.toml").read_text()


def test_tracker_dates_the_terminal_phase_between_analyses(tmp_path):
    # One-hot inputs e_y and a linear map: identity classifies every sample correctly, a
    # cyclic permutation none.
    k = 3
    x = torch.eye(k).repeat(4, 1)
    y = torch.arange(k).repeat(4)
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    model = nn.Sequential(nn.Linear(k, k, bias=False), nn.Linear(k, k, bias=False))

    def set_correct(correct):
        with torch.no_grad():
            model[0].weight.copy_(torch.eye(k))
            model[1].weight.copy_(torch.eye(k) if correct else torch.eye(k).roll(1, 0))

    # (correct?, running_acc) for epochs 1..6; analyses at 1 and 6.
    # running_acc as a number or as a one-element tensor (correct / seen summed from tensors).
    epochs = [(False, None), (False, 1.0), (True, 0.5), (True, torch.tensor(0.995)), (True, None),
              (True, None)]

    def run(name, use_running_acc=True, **kwargs):
        tracker = Tracker(tmp_path / name, epochs=[1, 6], num_epochs=6, **kwargs)
        for epoch, (correct, running_acc) in enumerate(epochs, 1):
            set_correct(correct)
            model.train()
            tracker.epoch(epoch, model, loader,
                          running_acc=running_acc if use_running_acc else None)
            assert model.training, "the check restores the model's mode"
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        return summary["tpt_epoch"], summary["stable_tpt_epoch"]

    # Epoch 2's check finds mistakes, epoch 3 is below 0.99 and not checked, epoch 4's check
    # finds none: TPT at 4, for good.
    assert run("checked") == (4, 4)
    # Without running_acc only the analysis epochs are checked; tpt_check=0 checks every epoch.
    assert run("unchecked", use_running_acc=False) == (6, 6)
    assert run("every", use_running_acc=False, tpt_check=0) == (3, 3)
    # Not recorded in config.toml: it changes when TPT is dated, not what is measured.
    assert "tpt_check" not in (tmp_path / "every" / "config.toml").read_text()
    with pytest.raises(ValueError, match="tpt_check: expected a number >= 0"):
        Tracker(tmp_path / "bad", num_epochs=2, tpt_check=float("nan"))
    tracker = Tracker(tmp_path / "acc", epochs=[2], num_epochs=2)
    with pytest.raises(ValueError, match="running_acc: expected a number from 0 to 1"):
        tracker.epoch(1, model, loader, running_acc=1.5)
    tracker.close()


def test_tracker_on_cuda_with_labels_on_the_device(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: run this suite on a CUDA machine to cover it")
    # A loader that keeps its data on the GPU: the analyses and the TPT checks between them.
    model, _, x, y = toy(seed=4, k=3)
    model = model.cuda()
    loader = DataLoader(TensorDataset(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()),
                        batch_size=32)
    tracker = Tracker(tmp_path / "run", epochs=[1, 3], num_epochs=3, tpt_check=0)
    rows = train(model.train(), loader, nn.CrossEntropyLoss(), 3, tracker)
    assert rows[0] is not None and rows[1] is None and rows[2] is not None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["device"].startswith("cuda")


def test_a_missing_data_set_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match="train-images-idx3-ubyte: missing file"):
        nclab.load_dataset("mnist", "train", root=str(tmp_path))
