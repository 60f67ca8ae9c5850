"""nclab.measure and nclab.Accumulator against `nclab measure` (the CLI, reading the same data
from .npy files), across dtypes, layouts, torch and NumPy inputs, and bad inputs."""

import re
import threading
from pathlib import Path
import time
import tracemalloc

import numpy as np
import pytest
import torch

import nclab
from conftest import assert_metrics_close, gaussian_classes

CASES = {
    # name: (class sizes, d, subspace rank)
    "balanced": ([60] * 6, 12, None),
    "imbalanced": ([5, 80, 23, 41, 9, 60, 2], 10, None),
    "rank_deficient": ([50] * 8, 16, 3),
    "k_greater_than_d": ([7] * 40, 8, None),
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path):
    counts, d, rank = CASES[request.param]
    rng = np.random.default_rng(len(counts) * 1000 + d)
    h, y = gaussian_classes(rng, counts, d, rank=rank)
    k = len(counts)
    w = rng.normal(size=(k, d))
    b = rng.normal(size=k)
    files = {"case": request.param}
    for name, array in {"h": h, "y": y, "w": w, "b": b}.items():
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], array)
    return h, y, w, b, files


def case_name(case):
    return case[4]["case"]


def test_measure_equals_cli(case, cli_json):
    h, y, w, b, f = case
    want = cli_json("measure", "--features", f["h"], "--labels", f["y"],
                    "--weights", f["w"], "--bias", f["b"])
    assert_metrics_close(nclab.measure(h, y, w, b), want)


def test_measure_with_hierarchy_equals_cli(cli_json, tmp_path):
    rng = np.random.default_rng(3)
    h, y = gaussian_classes(rng, [30, 50, 20, 40, 35, 25, 60, 45, 30, 55], 20)
    np.save(tmp_path / "h.npy", h)
    np.save(tmp_path / "y.npy", y)
    want = cli_json("measure", "--features", tmp_path / "h.npy", "--labels", tmp_path / "y.npy",
                    "--hierarchy", "cifar10", "--coarse-depth", "2")
    got = nclab.measure(h, y, hierarchy="cifar10", coarse_depth=2)
    assert_metrics_close(got, want)
    assert got["nc1_coarse"] is not None and got["nc3"] is None


def test_accumulator_equals_cli(case, cli_json):
    h, y, w, b, f = case
    want = cli_json("measure", "--features", f["h"], "--labels", f["y"],
                    "--weights", f["w"], "--bias", f["b"])
    acc = nclab.Accumulator(num_classes=w.shape[0], dim=w.shape[1])
    batches = np.array_split(np.arange(len(y)), 7)
    for rows in batches:
        acc.add(h[rows], y[rows])
    acc.second_pass(w, b)
    for rows in batches[::-1]:  # pass 2 in another order
        acc.add(h[rows], y[rows])
    # With S_B of rank 3 < K-1, nc1_rank divides by eigenvalues that are rounding noise
    # (docs/metrics.md, nc1_rank): its value depends on the order of the sums.
    noise = ("nc1_rank",) if case_name(case) == "rank_deficient" else ()
    assert_metrics_close(acc.result(), want, rtol=1e-10, atol=1e-12, noise=noise)
    # result() again, with a hierarchy, keeps the same collapse numbers.
    again = acc.result()
    assert again == acc.result()


def test_accumulator_takes_batches_from_several_threads():
    # Four threads adding at once: the core runs without the GIL, so calls overlap, and each
    # waits for the accumulator instead of failing on it ("Already borrowed").
    rng = np.random.default_rng(11)
    h, y = gaussian_classes(rng, [400] * 8, 64)
    w, b = rng.normal(size=(8, 64)), rng.normal(size=8)
    batches = np.array_split(np.arange(len(y)), 64)
    acc = nclab.Accumulator(8, 64)

    def feed(part):
        for rows in part:
            acc.add(h[rows], y[rows])

    for pass_ in (1, 2):
        threads = [threading.Thread(target=feed, args=(batches[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if pass_ == 1:
            acc.second_pass(w, b)
    assert_metrics_close(acc.result(), nclab.measure(h, y, w, b), rtol=1e-10, atol=1e-12)


def test_accumulator_predictions_and_late_weights(case):
    h, y, w, b, _ = case
    logits = h @ w.T + b
    predictions = logits.argmax(1)
    acc = nclab.Accumulator(len(b), h.shape[1])
    acc.add(h, y)
    acc.second_pass()
    acc.add(h, y, predictions)
    late = acc.result(w, b)
    one_shot = nclab.measure(h, y, w, b)
    noise = ("nc1_rank",) if case_name(case) == "rank_deficient" else ()
    assert_metrics_close(late, one_shot, rtol=1e-10, atol=1e-12, noise=noise)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_every_dtype(dtype, tmp_path, cli_json):
    """Each precision, read as it is stored: the result equals the CLI's on the same values
    (bfloat16, which .npy cannot hold, against float32 holding the same values exactly)."""
    rng = np.random.default_rng(7)
    h, y = gaussian_classes(rng, [40] * 5, 6)
    t = torch.from_numpy(h).to(getattr(torch, dtype))
    stored = t.float().numpy() if dtype == "bfloat16" else t.numpy()
    np.save(tmp_path / "h.npy", stored)
    np.save(tmp_path / "y.npy", y)
    want = cli_json("measure", "--features", tmp_path / "h.npy", "--labels", tmp_path / "y.npy")
    assert_metrics_close(nclab.measure(t, torch.from_numpy(y)), want, rtol=0, atol=0)
    if dtype != "bfloat16":
        assert_metrics_close(nclab.measure(stored, y), want, rtol=0, atol=0)


def test_labels_of_any_integer_type_and_shape(case):
    h, y, *_ = case
    want = nclab.measure(h, y)
    for labels in (y.astype(np.int32), y.astype(np.uint8), y.reshape(-1, 1), torch.from_numpy(y),
                   y.tolist()):
        assert nclab.measure(h, labels) == want


def test_non_contiguous_input(case):
    h, y, w, b, _ = case
    want = nclab.measure(h, y, w, b)
    fortran = np.asfortranarray(h)
    wide = np.zeros((h.shape[0], 2 * h.shape[1]))
    wide[:, ::2] = h
    for variant in (fortran, wide[:, ::2], torch.from_numpy(h.T.copy()).T):
        assert nclab.measure(variant, y, w, b) == want
    assert nclab.measure(h[::-1], y[::-1], w, b)["nc1"] == pytest.approx(want["nc1"], rel=1e-12)


def test_contiguous_float_input_is_not_copied():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        h = rng.normal(size=(400, 16)).astype(dtype)
        prepared = nclab._arrays.floats(h, "features")
        assert nclab._nclab._data_address(prepared) == h.ctypes.data
        t = torch.from_numpy(h)
        assert nclab._nclab._data_address(nclab._arrays.floats(t, "features")) == h.ctypes.data
    # And measure() allocates nothing of the features' size on the Python side.
    h = rng.normal(size=(20000, 64)).astype(np.float32)
    y = np.arange(20000) % 10
    tracemalloc.start()
    nclab.measure(h, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < h.nbytes / 4, f"peak Python allocation {peak} bytes for {h.nbytes} of features"


def test_gil_is_released():
    """Another Python thread keeps running while measure() computes."""
    rng = np.random.default_rng(1)
    h = rng.normal(size=(60000, 256))
    y = np.arange(60000) % 100
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=count)
    start = time.perf_counter()
    thread.start()
    nclab.measure(h, y)
    end = time.perf_counter()
    done.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    assert end - start > 0.05, "the measurement was too quick to tell"
    assert len(during) > 1000, f"only {len(during)} ticks of the other thread in {end - start:.2f} s"


def test_cuda_tensors_are_moved_once():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: run this suite on a CUDA machine to cover it")
    rng = np.random.default_rng(2)
    h, y = gaussian_classes(rng, [30] * 4, 5)
    assert nclab.measure(torch.from_numpy(h).cuda(), torch.from_numpy(y).cuda()) == nclab.measure(h, y)


# ---- bad inputs ------------------------------------------------------------------------------

H, Y = gaussian_classes(np.random.default_rng(9), [10, 10, 10], 4)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nclab.measure(H[:, 0], Y), "features: expected 2 dimensions"),
        (lambda: nclab.measure(H, Y[:-1]), "features have 30 rows but labels have 29"),
        (lambda: nclab.measure(H, Y.astype(float)), "labels: expected integer class labels"),
        (lambda: nclab.measure(H.astype(int), Y), "features: expected floating-point values"),
        (lambda: nclab.measure(H, Y, np.ones((4, 3))), "it looks transposed"),
        (lambda: nclab.measure(H, Y, np.ones((3, 5))), "weights: expected K x 4"),
        # K from the weights: the message blames them and says what to do.
        (lambda: nclab.measure(H, Y, np.ones((2, 4))),
         "weights has 2 rows, so K = 2, but labels has label 2 at row"),
        (lambda: nclab.measure(H, np.where(Y == 1, 0, Y), np.ones((3, 4))),
         "weights has 3 rows, so K = 3, but labels has no sample of class 1; give the weights "
         "of this network, or num_classes"),
        (lambda: nclab.measure(H, Y, bias=np.ones(3)), "bias given without weights"),
        (lambda: nclab.measure(H, Y, hierarchy="cifar10"), "10 classes"),
        (lambda: nclab.measure(H, Y, num_classes=2), "label 2 at row"),
        (lambda: nclab.measure(H, Y, num_classes=4), "class 3 has no sample"),
        (lambda: nclab.measure(H, np.where(Y == 1, 2, Y)),
         "labels: no sample of class 1 (K = 3, the largest label + 1); every class needs one, "
         "or give the classifier's weights for K"),
        (lambda: nclab.measure(H, Y + 1),
         "labels has no label 0 (the labels run from 1 to 3): nclab counts classes from 0"),
        (lambda: nclab.measure(H, Y + 1, np.ones((3, 4))),  # the weights are not to blame
         "labels has no label 0 (the labels run from 1 to 3): nclab counts classes from 0"),
        (lambda: nclab.measure(H, Y, np.ones((40, 4))),
         "weights has 40 rows, so K = 40, but labels has 30 labels; every class needs a sample"),
        (lambda: nclab.measure(H, Y, num_classes=1), "num_classes = 1: the metrics need at least 2"),
        (lambda: nclab.measure(H, Y - 1), "label -1 at row"),
        (lambda: nclab.measure(np.where(np.arange(120).reshape(30, 4) == 17, np.nan, H), Y),
         "non-finite"),
        (lambda: nclab.measure(H, Y, coarse_depth=1), "coarse_depth needs a hierarchy"),
        (lambda: nclab.measure(H, Y, hierarchy="flat:3", coarse_depth=0), "coarse depth 0 is the root"),
        (lambda: nclab.measure(H, Y, eval_features=H), "together"),
        # The core's roles, named by the arguments that gave them.
        (lambda: nclab.measure(H, Y, eval_features=H[:, :3], eval_labels=Y),
         "held-out data (eval_features, eval_labels): 3 classes of dimension 3, the training "
         "data 3 of dimension 4"),
        (lambda: nclab.measure(H, Y, eval_features=np.where(H == H[4, 2], np.inf, H), eval_labels=Y),
         "held-out data: features (eval_features): non-finite value inf at row 4, column 2"),
        (lambda: nclab.measure(H, Y, ood_features=H[:, :2]),
         "out-of-distribution features (ood_features) have 2 columns, the training features 4"),
        (lambda: nclab.measure(H, Y, hierarchy=3), "hierarchy: expected"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_accumulator_takes_dim_from_the_first_batch():
    acc = nclab.Accumulator(3)
    assert (acc.dim, acc.current_pass) == (None, 1)
    assert repr(acc) == "Accumulator(num_classes=3, dim=None, pass=1)"
    for call, method in ((acc.second_pass, "second_pass"), (acc.result, "result")):
        with pytest.raises(ValueError, match=rf"{method}\(\): no batch has been added yet"):
            call()
    with pytest.raises(ValueError, match="label 3 at row"):
        acc.add(H[:, :2], np.where(Y == 2, 3, Y))  # refused: fixes no dim
    assert acc.dim is None
    for part in (slice(0, 7), slice(7, 30)):
        acc.add(H[part], Y[part])
    assert acc.dim == 4
    acc.second_pass()
    acc.add(H, Y)
    given = nclab.Accumulator(3, 4)
    for part in (slice(0, 7), slice(7, 30)):
        given.add(H[part], Y[part])
    given.second_pass()
    given.add(H, Y)
    assert acc.result() == given.result()


def test_accumulator_misuse():
    acc = nclab.Accumulator(3, 4)
    with pytest.raises(ValueError, match="pass 2 has not begun"):
        acc.result()
    acc.add(H, Y)
    with pytest.raises(ValueError, match="features: expected 2 dimensions"):
        acc.add(H[0], Y[:1])
    with pytest.raises(ValueError, match="label 3 at row 0 is out of range"):
        acc.add(H[:1], np.array([3]))
    acc.second_pass()
    acc.add(H[:10], Y[:10])
    with pytest.raises(ValueError, match="pass 2 saw 10 samples but pass 1 saw 30"):
        acc.result()
    # A shuffling loader with drop_last: each pass drops other samples, the totals agree.
    order = np.random.default_rng(5).permutation(30)
    acc = nclab.Accumulator(3, 4)
    acc.add(H[order[:27]], Y[order[:27]])
    acc.second_pass()
    acc.add(H[order[3:]], Y[order[3:]])
    with pytest.raises(ValueError, match=r"class \d has \d+ samples in pass 2 but \d+ samples in pass 1"):
        acc.result()
    # The failed check leaves the accumulator in pass 2: asked again, the same error (it
    # panicked on the empty stage).
    assert acc.current_pass == 2
    with pytest.raises(ValueError, match="in pass 2 but"):
        acc.result()
    # A loader that augments at random: the same samples, other features in pass 2. Refused;
    # the same features in another order are not.
    noise = np.random.default_rng(6).normal(scale=0.05, size=H.shape)
    for h2, refused in ((H + noise, True), (H[::-1], False)):
        acc = nclab.Accumulator(3, 4)
        acc.add(H, Y)
        acc.second_pass()
        acc.add(h2, Y if refused else Y[::-1])
        if refused:
            with pytest.raises(ValueError, match="mean in pass 2 is .* from its mean in pass 1"):
                acc.result()
        else:
            assert acc.result()["nc1"] == pytest.approx(nclab.measure(H, Y)["nc1"], rel=1e-10)
    # Pass 2 checks its values as pass 1 does (a NaN gave nc1 = 0 silently), and the refused
    # batch leaves the accumulator as it was; an empty batch does not fix whether batches
    # come with predictions.
    W = np.random.default_rng(1).normal(size=(3, 4))
    acc = nclab.Accumulator(3, 4)
    acc.add(H, Y)
    acc.second_pass(W)
    bad = H.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="features: non-finite value NaN at row 5, column 1"):
        acc.add(bad, Y)
    with pytest.raises(ValueError, match="row 5, column 1 is beyond"):
        acc.add(np.where(bad == bad, bad, 1e300), Y)
    acc.add(H[:0], Y[:0])
    acc.add(H, Y, predictions=Y)
    want = nclab.measure(H, Y, W)
    got = acc.result()
    assert got["nc1"] == pytest.approx(want["nc1"], rel=1e-10)
    assert got["ncc_accuracy"] == want["ncc_accuracy"]
    import copy

    for duplicate in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot be copied"):
            duplicate(acc)
    for k, d in ((1, 4), (-1, 4), (3, 0)):  # -1 gave "can't convert negative int to unsigned"
        with pytest.raises(ValueError, match=r"(num_classes|dim): expected a whole number >= [12]"):
            nclab.Accumulator(k, d)
    with pytest.raises(ValueError, match="epochs: -1 is not an epoch"):
        nclab.analysis_epochs([-1], 10)
    # Counts and depths name the argument (pyo3's own OverflowError named nothing).
    tree = nclab.Hierarchy.builtin("cifar10")
    for call, name in [
        (lambda: tree.coarse_labels(-1), "depth"),
        (lambda: nclab.measure(H, Y, num_classes=-1), "num_classes"),
        (lambda: nclab.analysis_epochs("all", -1), "epochs"),
        (lambda: nclab.evaluate(np.zeros((2, 10)), np.array([0, 1]), tree, k=(1, -5)), "k"),
    ]:
        with pytest.raises(TypeError, match=f"argument '{name}': expected a whole number >= 0, got -"):
            call()
    assert nclab.analysis_epochs(np.array([3, 1]), 5) == [1, 3, 5]
    empty = nclab.Accumulator(4, 4)
    empty.add(H, Y)
    with pytest.raises(ValueError, match="class 3"):
        empty.second_pass()
    # Pass 1 is kept: class 3's samples can still come, and the result covers all the data
    # (the failed second_pass() had emptied pass 1 before).
    h3, y3 = np.vstack([H, H[:2] + 5.0]), np.concatenate([Y, [3, 3]])
    empty.add(H[:2] + 5.0, np.array([3, 3]))
    empty.second_pass()
    empty.add(h3, y3)
    assert empty.result()["nc1"] == pytest.approx(nclab.measure(h3, y3)["nc1"], rel=1e-10)


def test_type_stubs_cover_the_compiled_module():
    """_nclab.pyi declares every function and class the extension exports, and each class's
    public methods, so type checkers and editors see the whole API."""
    import ast
    import inspect
    from nclab import _nclab

    stub_path = Path(_nclab.__file__).with_name("_nclab.pyi")
    assert (stub_path.parent / "py.typed").exists()
    tree = ast.parse(stub_path.read_text())
    stubbed = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    exported = {name for name in dir(_nclab) if not name.startswith("__")}
    assert exported == set(stubbed), exported ^ set(stubbed)
    for name, node in stubbed.items():
        if isinstance(node, ast.ClassDef):
            methods = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
            public = {m for m, _ in inspect.getmembers(getattr(_nclab, name)) if not m.startswith("_")}
            assert public <= methods, (name, public - methods)
