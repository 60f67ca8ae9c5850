"""nclab.Hierarchy and nclab.evaluate against the CLI and hand-computed values."""

import json

import numpy as np
import pytest

import nclab

# A tree of depth 3 with leaves at depths 2 and 3:
#   root -> a -> (x, y), root -> b -> c -> (z, w), root -> b -> v
EDGES = [("root", "a"), ("root", "b"), ("a", "x"), ("a", "y"), ("b", "c"), ("b", "v"),
         ("c", "z"), ("c", "w")]


def test_builtin_cifar10():
    h = nclab.Hierarchy.builtin("cifar10")
    assert h.num_classes == len(h) == 10
    assert h.classes[:3] == ["airplane", "automobile", "bird"]
    d = h.lca_heights()
    assert d.shape == (10, 10) and d.dtype == np.float64
    assert np.array_equal(d, d.T) and np.all(np.diag(d) == 0)
    assert np.array_equal(h.normalized_distances(), d / d.max())


def test_hand_computed_distances_and_coarse_labels():
    h = nclab.Hierarchy.from_edges(EDGES)
    assert h.classes == ["x", "y", "v", "z", "w"]  # leaves in order of first appearance
    assert (h.num_nodes, h.max_depth) == (9, 3)
    # LCA heights: height of a node = longest path down to a leaf (a: 1, c: 1, b: 2, root: 3).
    want = np.array([
        [0, 1, 3, 3, 3],
        [1, 0, 3, 3, 3],
        [3, 3, 0, 2, 2],
        [3, 3, 2, 0, 1],
        [3, 3, 2, 1, 0],
    ], dtype=float)
    assert np.array_equal(h.lca_heights(), want)
    labels, names = h.coarse_labels(1)
    assert labels.tolist() == [0, 0, 1, 1, 1] and names == ["a", "b"]
    labels, names = h.coarse_labels(2)
    assert labels.tolist() == [0, 1, 2, 3, 3] and names == ["x", "y", "v", "c"]
    ordered = nclab.Hierarchy.from_edges(EDGES, classes=["z", "w", "v", "x", "y"])
    assert ordered.lca_heights()[0].tolist() == [0, 1, 2, 3, 3]
    # One pair without the matrix: the same entries.
    assert [h.distance(0, j) for j in range(5)] == [0, 1, 3, 3, 3]
    assert h.distance(3, 4) == 1 and h.distance(4, 3) == 1
    with pytest.raises(IndexError, match=r"class index 5 is out of range for 5 classes \(0..4\)"):
        h.distance(1, 5)


def test_matrices_beyond_the_bound_are_refused_not_aborted():
    # 10^6 classes: a K x K matrix would be 8 TB; each call is a ValueError that says what to
    # do, not an allocation failure that aborts the interpreter.
    h = nclab.Hierarchy.builtin("flat", 10**6)
    for call in (h.lca_heights, h.normalized_distances, lambda: h.soft_labels(1.0)):
        with pytest.raises(ValueError, match=r"flat:1000000: 1000000 classes: a 1000000 x 1000000 "
                                             r"matrix has 1000000000000 entries.*Hierarchy.distance in Python"):
            call()
    assert h.distance(3, 999_999) == 1
    # evaluate, as `nclab evaluate`: up to 8192 classes.
    big = nclab.Hierarchy.builtin("flat", 8193)
    with pytest.raises(ValueError, match="flat:8193: 8193 classes: a 8193 x 8193 matrix"):
        nclab.evaluate(np.zeros((1, 8193), np.float32), [0], big)


def test_distances_and_soft_labels_equal_cli(cli):
    d = np.loadtxt(cli("hierarchy", "distances", "cifar100", "--format", "csv").stdout.splitlines(),
                   delimiter=",", skiprows=1)
    assert np.array_equal(nclab.Hierarchy.builtin("cifar100").lca_heights(), d)
    out = json.loads(cli("hierarchy", "soft-labels", "cifar10", "--beta", "2.5", "--format", "json").stdout)
    q = nclab.Hierarchy.builtin("cifar10").soft_labels(2.5)
    # The CLI writes column t for true class t; Python gives row t.
    assert np.array_equal(q, np.array(out["matrix"]).T)


def test_soft_labels_formula():
    h = nclab.Hierarchy.from_edges(EDGES)
    beta = 3.0
    dn = h.lca_heights() / 3.0
    want = np.exp(-beta * dn)
    want /= want.sum(axis=1, keepdims=True)
    assert np.allclose(h.soft_labels(beta), want, rtol=1e-15, atol=0)
    beta_half = h.beta_for_mass(0.5)
    assert np.mean(np.diag(h.soft_labels(beta_half))) == pytest.approx(0.5, rel=1e-10)


@pytest.mark.parametrize("fmt, ext", [("edges", "txt"), ("json", "json")])
def test_save_and_load_round_trip(tmp_path, fmt, ext, cli):
    h = nclab.Hierarchy.builtin("fashion-mnist")
    path = tmp_path / f"tree.{ext}"
    h.save(path)
    back = nclab.Hierarchy.load(path)
    assert back.classes == h.classes
    assert np.array_equal(back.lca_heights(), h.lca_heights())
    assert sorted(back.edges()) == sorted(h.edges())
    # The CLI reads what Python wrote.
    assert f"{h.classes[9]} [class 9]" in cli("hierarchy", "show", path).stdout
    assert h.to_string(fmt) == path.read_text()


def test_dot_is_write_only(tmp_path):
    h = nclab.Hierarchy.builtin("cifar10")
    h.save(tmp_path / "t.dot")
    assert (tmp_path / "t.dot").read_text().startswith("digraph")
    with pytest.raises(ValueError, match="Graphviz files can be written but not read"):
        nclab.Hierarchy.load(tmp_path / "t.dot")


def test_hierarchy_errors(tmp_path):
    with pytest.raises(ValueError, match='no built-in hierarchy "cifar11"'):
        nclab.Hierarchy.builtin("cifar11")
    with pytest.raises(ValueError, match="neither a built-in"):
        nclab.Hierarchy.load(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("root a\na b\nb a\n")
    with pytest.raises(ValueError, match="bad.txt"):
        nclab.Hierarchy.load(bad)
    with pytest.raises(ValueError, match="two parents|cycle"):
        nclab.Hierarchy.from_edges([("r", "a"), ("s", "a"), ("r", "s")])
    # Edges that are not pairs of str names: refused naming the item.
    with pytest.raises(TypeError, match=r"edges: item 1, \(0, 1\): names are str, not int \(str\(x\)"):
        nclab.Hierarchy.from_edges([("r", "a"), (0, 1)])
    with pytest.raises(TypeError, match=r"edges: item 0, \('r', 'a', 'b'\): expected a \(parent, child\) pair"):
        nclab.Hierarchy.from_edges([("r", "a", "b")])
    with pytest.raises(TypeError, match=r"got a str; edge-list text .* Hierarchy.load"):
        nclab.Hierarchy.from_edges("r a\nr b")
    with pytest.raises(TypeError, match="expected an iterable of \\(parent, child\\) pairs, got int"):
        nclab.Hierarchy.from_edges(3)
    with pytest.raises(TypeError, match=r"item 0, \(b'r', b'a'\): names are str, not bytes \(x.decode\(\)"):
        nclab.Hierarchy.from_edges([(b"r", b"a")])
    with pytest.raises(TypeError, match=r"item 0, \('r', None\): names are str, not NoneType$"):
        nclab.Hierarchy.from_edges([("r", None)])
    # The classes are numbered in the order of the edges: an unordered set is refused.
    for unordered in (set(EDGES), frozenset(EDGES), dict(EDGES)):
        with pytest.raises(TypeError, match="whose order Python does not promise"):
            nclab.Hierarchy.from_edges(unordered)

    # classes= follows the same rules: any ordered iterable of str names.
    ordered = nclab.Hierarchy.from_edges(EDGES, classes=iter(["z", "w", "v", "x", "y"]))
    assert ordered.classes == ["z", "w", "v", "x", "y"]
    with pytest.raises(TypeError, match="classes: got a set, whose order Python does not promise"):
        nclab.Hierarchy.from_edges(EDGES, classes={"z", "w", "v", "x", "y"})
    with pytest.raises(TypeError, match=r"classes: item 1, 3: names are str, not int \(str\(x\)"):
        nclab.Hierarchy.from_edges(EDGES, classes=["z", 3])
    with pytest.raises(TypeError, match=r"classes: expected class names, got a str; text.split\(\)"):
        nclab.Hierarchy.from_edges(EDGES, classes="z w v x y")

    # An error of the iterable itself passes through.
    class Broken:
        def __iter__(self):
            raise RuntimeError("broken iterable")
    with pytest.raises(RuntimeError, match="broken iterable"):
        nclab.Hierarchy.from_edges(Broken())
    # Any ordered iterable of pairs will do: a generator, lists as pairs.
    pairs = (list(e) for e in EDGES)
    assert nclab.Hierarchy.from_edges(pairs) == nclab.Hierarchy.from_edges(EDGES)
    with pytest.raises(ValueError, match="format must be"):
        nclab.Hierarchy.builtin("cifar10").to_string("yaml")
    with pytest.raises(ValueError, match="beta must be finite"):
        nclab.Hierarchy.builtin("cifar10").soft_labels(float("nan"))
    with pytest.raises(OSError):
        nclab.Hierarchy.builtin("cifar10").save(tmp_path / "no" / "such" / "dir" / "t.txt")
    # An extension that names no format of nclab's: refused, not written as an edge list.
    with pytest.raises(ValueError, match=r"t.yaml: cannot tell the format from the extension .yaml"):
        nclab.Hierarchy.builtin("cifar10").save(tmp_path / "t.yaml")
    assert not (tmp_path / "t.yaml").exists()
    nclab.Hierarchy.builtin("cifar10").save(tmp_path / "t.yaml", format="json")
    assert nclab.Hierarchy.load(tmp_path / "t.yaml").classes == nclab.Hierarchy.builtin("cifar10").classes


# ---- evaluate ----------------------------------------------------------------------------------


def test_evaluate_hand_computed():
    h = nclab.Hierarchy.from_edges(EDGES)  # classes x y v z w
    logits = np.array([
        [5.0, 1, 0, 0, 0],   # label x: right
        [5.0, 1, 0, 0, 0],   # label y: wrong, predicted x, d(x, y) = 1
        [0.0, 0, 1, 5, 0],   # label w: wrong, predicted z, d(z, w) = 1
        [5.0, 0, 0, 0, 1],   # label v: wrong, predicted x, d(x, v) = 3
    ])
    labels = np.array([0, 1, 4, 2])
    m = nclab.evaluate(logits, labels, h, k=(1, 2))
    assert m["top1_error"] == 0.75
    assert m["mistake_severity"] == pytest.approx((1 + 1 + 3) / 3, rel=1e-15)
    assert m["hdist@1"] == pytest.approx((0 + 1 + 1 + 3) / 4, rel=1e-15)
    # top-2 sets: {x, y}, {x, y}, {z, v}, {x, w}: the label is in the first two.
    assert m["top2_error"] == 0.5
    # The floor of hdist@2: x, y and w each have a sibling at d = 1, (0 + 1) / 2; v's nearest
    # classes are z and w at d = 2, (0 + 2) / 2. Mean over the labels x, y, w, v: 2.5 / 4.
    assert m["floor"] == {"hdist@1": 0.0, "hdist@2": 0.625}
    # A single cut-off as an int, as a tuple of one.
    assert nclab.evaluate(logits, labels, h, k=2) == nclab.evaluate(logits, labels, h, k=(2,))
    none_wrong = nclab.evaluate(logits[:1], labels[:1], h, k=(1,))
    assert none_wrong["mistake_severity"] is None
    # Without a hierarchy: the flat tree, the same errors, every mistake of severity 1.
    flat = nclab.evaluate(logits, labels, k=(1, 2))
    assert (flat["top1_error"], flat["top2_error"], flat["mistake_severity"]) == (0.75, 0.5, 1.0)
    assert nclab.evaluate(logits, labels, None, k=(1, 2)) == flat  # None is the flat tree too


def test_evaluate_equals_cli(tmp_path, cli_json):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(300, 10)) * 3
    labels = rng.integers(0, 10, 300)
    np.save(tmp_path / "z.npy", logits)
    np.save(tmp_path / "y.npy", labels)
    want = cli_json("evaluate", "--logits", tmp_path / "z.npy", "--labels", tmp_path / "y.npy",
                    "--hierarchy", "cifar10", "--k", "1,3,5", "--crm")
    got = nclab.evaluate(logits, labels, "cifar10", k=(1, 3, 5), crm=True)
    assert got == want


def test_evaluate_errors():
    h = nclab.Hierarchy.builtin("cifar10")
    z = np.zeros((4, 10))
    with pytest.raises(ValueError, match="logits have 9 columns but the hierarchy"):
        nclab.evaluate(z[:, :9], np.zeros(4, int), h)
    with pytest.raises(ValueError, match="logits have 4 rows but labels have 3"):
        nclab.evaluate(z, np.zeros(3, int), h)
    with pytest.raises(ValueError, match="label 10 at row 1"):
        nclab.evaluate(z, np.array([0, 10, 0, 0]), h)
    with pytest.raises(ValueError, match="non-finite"):
        nclab.evaluate(np.where(np.eye(4, 10) > 0, np.inf, z), np.zeros(4, int), h)
    with pytest.raises(ValueError, match=r"logits: expected 2 dimensions \(N x K\), got shape \(10,\)"):
        nclab.evaluate(z[0], np.zeros(1, int), h)
    for k in (2.5, "5", None.__class__):
        with pytest.raises(TypeError, match="k: expected an int or a sequence of ints, got"):
            nclab.evaluate(z, np.zeros(4, int), h, k=k)


def test_evaluate_sums_whole_distances_exactly():
    # A perfect top-5 on flat:10: every sample's top 5 holds its class (d = 0) and four others
    # (d = 1), so hdist@5 is 4/5 exactly, its floor. Summed per sample and then averaged it
    # was 0.7999999999999999 (four additions of 1/5 per sample).
    y = np.arange(10).repeat(150)
    logits = np.eye(10, dtype=np.float32)[y] * 10
    m = nclab.evaluate(logits, y, "flat:10", k=5)
    assert m["hdist@5"] == m["floor"]["hdist@5"] == 0.8


# ---- names, "flat", equality and pickling ------------------------------------------------------


def test_builtin_spellings_and_flat_sized_by_the_data():
    fashion = nclab.Hierarchy.builtin("fashion-mnist")
    for alias in ("fashion_mnist", "fashionmnist", " fashion-mnist "):
        assert nclab.Hierarchy.builtin(alias) == fashion
    assert nclab.Hierarchy.builtin("cifar-10") == nclab.Hierarchy.builtin("cifar10")
    assert nclab.Hierarchy.builtin("flat", 4) == nclab.Hierarchy.builtin("flat:4")
    with pytest.raises(ValueError, match="'flat' needs the number of classes"):
        nclab.Hierarchy.builtin("flat")
    with pytest.raises(ValueError, match="'cifar10' has 10 classes but the data has 5"):
        nclab.Hierarchy.builtin("cifar10", 5)
    # "flat" in measure and evaluate takes K from the data: the same numbers as flat:K.
    rng = np.random.default_rng(3)
    h = rng.normal(size=(40, 6))
    y = np.repeat(np.arange(4), 10)
    w = rng.normal(size=(4, 6))
    assert nclab.measure(h, y, w, hierarchy="flat") == nclab.measure(h, y, w, hierarchy="flat:4")
    assert nclab.measure(h, y, hierarchy="flat") == nclab.measure(h, y, hierarchy="flat:4")
    z = rng.normal(size=(40, 4))
    assert nclab.evaluate(z, y, "flat") == nclab.evaluate(z, y, "flat:4")
    # Labels that give no K fail on the labels, with their own message.
    with pytest.raises(ValueError, match="label -1 at row 0 is negative"):
        nclab.measure(h[:2], np.array([-1, -2]), hierarchy="flat")


def test_evaluate_default_cut_offs_with_fewer_than_five_classes():
    # K = 3: k defaults to (1, 3); top-3 of 3 classes always holds the label.
    z = np.array([[2.0, 1, 0], [0, 2, 1], [1, 0, 2]])
    y = np.array([0, 2, 1])
    m = nclab.evaluate(z, y, "flat:3")
    assert m["top1_error"] == pytest.approx(2 / 3, rel=1e-15)
    assert m["top3_error"] == 0.0 and "top5_error" not in m
    with pytest.raises(ValueError):
        nclab.evaluate(z, y, "flat:3", k=(1, 5))  # asked for explicitly: refused


def test_equality_and_pickling():
    import copy
    import pickle

    tree = nclab.Hierarchy.from_edges(EDGES)
    same = nclab.Hierarchy.from_edges(list(reversed(EDGES)), classes=tree.classes)
    assert tree == same and hash(tree) == hash(same)
    assert tree != nclab.Hierarchy.from_edges(EDGES, classes=["y", "x", "v", "z", "w"])
    assert tree != nclab.Hierarchy.builtin("flat:5") and tree != "tree"
    for h in (tree, nclab.Hierarchy.builtin("cifar100"), nclab.Hierarchy.builtin("flat:7")):
        for back in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h)):
            assert back == h
            assert np.array_equal(back.lca_heights(), h.lca_heights())
    # A built-in comes back as itself (its source, which the Tracker reads, too).
    assert pickle.loads(pickle.dumps(nclab.Hierarchy.builtin("cifar10"))).source == "cifar10"
    for name in ("cifar10", "cifar-10", "fashion_mnist", "flat:7"):
        assert nclab.Hierarchy.builtin(name).is_builtin, name
    assert not tree.is_builtin


def _average_ranks(v):
    """Ranks 1..n with ties given their mean rank (numpy only)."""
    v = np.asarray(v, dtype=float)
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def test_tree_correlation_ceiling_is_the_best_ranking_of_the_pairs():
    """Independently of nclab: the Pearson correlation of average ranks (Spearman) between the
    pairs' similarities 1 - d and cosines that order the pairs as the tree does."""
    for name in ("fashion-mnist", "cifar10", "cifar100"):
        tree = nclab.Hierarchy.builtin(name)
        d = tree.lca_heights()
        i, j = np.triu_indices(tree.num_classes, 1)
        similarity = np.sort(1.0 - d[i, j])
        best = np.corrcoef(_average_ranks(similarity), np.arange(len(similarity)))[0, 1]
        assert tree.tree_correlation_ceiling() == pytest.approx(best, abs=1e-13), name
        assert tree.tree_correlation_ceiling() < 1.0
    assert nclab.Hierarchy.builtin("flat", 6).tree_correlation_ceiling() is None
