"""nclab.torch.HXELoss and SoftLabelLoss against nclab's float64 reference losses (the Rust
implementation `nclab train` is tested against), gradients included."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nclab
from nclab.torch import HXELoss, SoftLabelLoss


def deep_tree(seed=0, classes=40, depth=5):
    """A random tree whose leaves sit at depths 2..depth, with unequal branching."""
    rng = np.random.default_rng(seed)
    edges, frontier, n = [], ["root"], 0
    for level in range(1, depth):
        nxt = []
        for node in frontier:
            for _ in range(rng.integers(1, 4)):
                n += 1
                edges.append((node, f"n{n}"))
                nxt.append(f"n{n}")
        frontier = nxt
    for c in range(classes):
        edges.append((frontier[c % len(frontier)] if c % 3 else frontier[c % len(frontier) // 2],
                      f"class{c}"))
    return nclab.Hierarchy.from_edges(edges)


TREES = {"cifar10": nclab.Hierarchy.builtin("cifar10"), "deep": None}


def tree(name):
    if TREES[name] is None:
        TREES[name] = deep_tree()
    return TREES[name]


def batch(h, n=48, seed=1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, h.num_classes, dtype=torch.float64, generator=g) * 4
    y = torch.randint(0, h.num_classes, (n,), generator=g)
    return z, y


MODULES = [
    ("hxe:0.5", lambda h: HXELoss(h, 0.5)),
    ("hxe:0.1:nodes", lambda h: HXELoss(h, 0.1, normalize="nodes")),
    ("hxe:2", lambda h: HXELoss(h, 2.0)),
    ("soft:4", lambda h: SoftLabelLoss(h, 4.0)),
    ("soft:30", lambda h: SoftLabelLoss(h, 30.0)),
]


@pytest.mark.parametrize("tree_name", sorted(TREES))
@pytest.mark.parametrize("spec, make", MODULES, ids=[m[0] for m in MODULES])
def test_value_and_gradient_equal_reference(tree_name, spec, make):
    h = tree(tree_name)
    z, y = batch(h)
    z.requires_grad_(True)
    loss = make(h)(z, y)
    loss.backward()
    want, grad = nclab._nclab._reference_loss(spec, h, z.detach().numpy(), y.numpy())
    assert abs(loss.item() - want) <= 1e-12 * abs(want)
    assert np.abs(z.grad.numpy() - grad).max() <= 1e-12


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_hxe_alpha_zero_is_cross_entropy(tree_name):
    h = tree(tree_name)
    z, y = batch(h)
    assert HXELoss(h, 0.0)(z, y).item() == pytest.approx(F.cross_entropy(z, y).item(), rel=1e-14)


@pytest.mark.parametrize("spec, make", MODULES, ids=[m[0] for m in MODULES])
def test_gradcheck(spec, make):
    h = tree("deep")
    z, y = batch(h, n=6)
    module = make(h)
    assert torch.autograd.gradcheck(lambda x: module(x, y), (z.requires_grad_(True),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_low_precision_close_to_float64(dtype):
    h = tree("cifar10")
    z, y = batch(h)
    for make in (lambda h: HXELoss(h, 0.5), lambda h: SoftLabelLoss(h, 4.0)):
        module = make(h)
        low = module(z.to(dtype), y)
        assert low.dtype == dtype
        tol = {torch.float32: 1e-5, torch.bfloat16: 3e-2, torch.float16: 5e-3}[dtype]
        assert low.double().item() == pytest.approx(module(z, y).item(), rel=tol)


def test_reductions_and_device_buffers():
    h = tree("cifar10")
    z, y = batch(h)
    per_sample = HXELoss(h, 0.5, reduction="none")(z, y)
    assert per_sample.shape == (len(y),)
    assert HXELoss(h, 0.5, reduction="sum")(z, y).item() == pytest.approx(per_sample.sum().item())
    module = SoftLabelLoss(h, 4.0)
    assert {name for name, _ in module.named_buffers()} == {"targets"}
    assert module.state_dict() == {}  # buffers are derived from the hierarchy, not saved


def test_bad_inputs():
    h = tree("cifar10")
    z, y = batch(h)
    with pytest.raises(ValueError, match="alpha must be finite"):
        HXELoss(h, -1.0)
    with pytest.raises(ValueError, match="normalize must be"):
        HXELoss(h, 0.5, normalize="leaves")
    with pytest.raises(ValueError, match="beta must be finite"):
        SoftLabelLoss(h, float("inf"))
    with pytest.raises(ValueError, match=r"logits: expected shape \(batch, 10\)"):
        HXELoss(h, 0.5)(z[:, :9], y)
    with pytest.raises(ValueError, match="target: expected 48 class indices"):
        SoftLabelLoss(h, 4.0)(z, y[:5])
    with pytest.raises(ValueError, match="reduction must be"):
        HXELoss(h, 0.5, reduction="avg")
    # Float or boolean targets (probabilities, one-hot rows, indices cast to float) are named;
    # torch's index_select error was raised from inside before.
    for bad in (y.float(), y == 0):
        for loss in (HXELoss(h, 0.5), SoftLabelLoss(h, 4.0)):
            with pytest.raises(ValueError, match=r"target: expected integer class indices \(torch.long\), got torch\.(float32|bool)"):
                loss(z, bad)
    # A target out of 0..K-1 is refused as nn.CrossEntropyLoss refuses it; -1 was read as
    # class K - 1 (Python indexing), silently.
    for bad in (-1, 10):
        target = y.clone()
        target[3] = bad
        for loss in (HXELoss(h, 0.5), SoftLabelLoss(h, 4.0)):
            with pytest.raises(IndexError, match=rf"target: class index {bad} is out of range "
                               r"for 10 classes \(0 to 9\)"):
                loss(z, target)
