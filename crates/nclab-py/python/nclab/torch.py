"""nclab in a PyTorch training loop: hierarchical losses, features, and collapse tracking.

- :class:`HXELoss` and :class:`SoftLabelLoss`: the hierarchical losses of Bertinetto et al.
  (2020) as ``torch.nn.Module`` s, on any device and dtype, equal to nclab's float64 reference
  implementation (the one ``nclab train`` is tested against);
- :func:`features`: a layer's features (by default the penultimate: the input of the last
  ``nn.Linear``) over a loader, in eval mode, through a forward hook, optionally straight into
  an :class:`nclab.Accumulator`;
- :class:`Tracker`: one call per epoch from your own loop; at analysis epochs it measures
  collapse on the training set and mistakes on the test set and writes a run directory that
  ``nclab report`` reads beside the runs of ``nclab train``.

This module imports torch; ``import nclab`` alone does not.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import time
import warnings
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nclab
from . import _nclab

__all__ = [
    "HXELoss",
    "SoftLabelLoss",
    "Features",
    "features",
    "ModelMeasurement",
    "measure_model",
    "Tracker",
]


# ---- the hierarchy as index tensors ---------------------------------------------------------


class _Tree(NamedTuple):
    """A hierarchy's nodes in a fixed order: the node x class membership mask, each class's
    path from its leaf to the root (padded with the root), and each node's depth."""

    members: torch.Tensor  # (nodes, K) bool: class c lies under node n
    paths: torch.Tensor  # (K, depth + 1) long: leaf, parent, ..., root, root, ...
    depths: torch.Tensor  # (nodes,) float64


def _tree(h: nclab.Hierarchy) -> _Tree:
    edges = h.edges()
    parent = {child: par for par, child in edges}
    names = [edges[0][0]] + [child for _, child in edges]
    index = {name: i for i, name in enumerate(names)}
    root = index[edges[0][0]]
    depth = [0] * len(names)
    for par, child in edges:  # pre-order: a parent's depth is known before its children's
        depth[index[child]] = depth[index[par]] + 1
    k = h.num_classes
    members = torch.zeros(len(names), k, dtype=torch.bool)
    paths = []
    for c, name in enumerate(h.classes):
        path = [index[name]]
        while names[path[-1]] in parent:
            path.append(index[parent[names[path[-1]]]])
        members[path, c] = True
        paths.append(path)
    width = max(len(p) for p in paths)
    padded = torch.tensor([p + [root] * (width - len(p)) for p in paths], dtype=torch.long)
    return _Tree(members, padded, torch.tensor(depth, dtype=torch.float64))


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str) -> str:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f'reduction must be "mean", "sum" or "none", got {reduction!r}')
    return reduction


def _as_hierarchy(hierarchy: Union[nclab.Hierarchy, str]) -> nclab.Hierarchy:
    return hierarchy if isinstance(hierarchy, nclab.Hierarchy) else nclab.Hierarchy.load(hierarchy)


class HXELoss(nn.Module):
    """Hierarchical cross-entropy (Bertinetto et al. 2020, "Making Better Mistakes").

    With ``p = softmax(z)`` and ``p(n)`` the summed probability of the classes under node
    ``n``, for true class ``t`` whose path runs from its leaf ``C_0 = t`` up to the root::

        HXE(z, t) = - sum_{l=0}^{h-1} lambda(C_l) log( p(C_l) / p(C_{l+1}) ),
        lambda(C) = exp(-alpha depth(C))            (normalize="none": alpha = 0 gives CE)
        lambda(C) = exp(-alpha depth(C)) / sum_n exp(-alpha depth(n))   (normalize="nodes")

    ``log p(n)`` is a log-sum-exp of log-softmax over the node's classes, so no probability is
    formed and nothing underflows. Memory per batch: ``B x (depth + 1) x K``.
    """

    def __init__(
        self,
        hierarchy: Union[nclab.Hierarchy, str],
        alpha: float,
        normalize: str = "none",
        reduction: str = "mean",
    ):
        super().__init__()
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be finite and >= 0, got {alpha}")
        if normalize not in ("none", "nodes"):
            raise ValueError(f'normalize must be "none" or "nodes", got {normalize!r}')
        h = _as_hierarchy(hierarchy)
        tree = _tree(h)
        weights = torch.exp(-alpha * tree.depths)
        if normalize == "nodes":
            weights = weights / weights.sum()
        # Term l of class t weighs its node paths[t, l]; padding (root to root) adds 0.
        term_weights = weights[tree.paths[:, :-1]]
        term_weights[tree.paths[:, :-1] == tree.paths[:, 1:]] = 0.0
        self.alpha, self.normalize, self.reduction = alpha, normalize, _check_reduction(reduction)
        self.num_classes = h.num_classes
        self.hierarchy = h  # the tree, for the Tracker's check against its own
        self.register_buffer("members", tree.members, persistent=False)
        self.register_buffer("paths", tree.paths, persistent=False)
        self.register_buffer("term_weights", term_weights, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, target, self.num_classes)
        logp = F.log_softmax(logits, dim=-1)
        path = _rows_of(self.paths, target, self.num_classes)  # B x (D+1)
        inside = self.members[path]  # B x (D+1) x K
        node_logp = torch.logsumexp(
            logp.unsqueeze(1).masked_fill(~inside, float("-inf")), dim=-1
        )  # B x (D+1): log p(node)
        conditional = node_logp[:, :-1] - node_logp[:, 1:]  # log p(C_l | C_{l+1})
        weights = _rows_of(self.term_weights, target, self.num_classes).to(logits.dtype)
        loss = -(weights * conditional).sum(dim=1)
        return _reduce(loss, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, normalize={self.normalize!r}, classes={self.num_classes}"


class SoftLabelLoss(nn.Module):
    """Soft-label cross-entropy (Bertinetto et al. 2020): ``-sum_a q_t(a) log p_a`` with
    ``q_t(a) = exp(-beta dn(a, t)) / sum_b exp(-beta dn(b, t))``, ``dn`` the LCA height
    divided by its maximum (:meth:`nclab.Hierarchy.soft_labels`). ``beta -> inf`` gives CE."""

    def __init__(self, hierarchy: Union[nclab.Hierarchy, str], beta: float, reduction: str = "mean"):
        super().__init__()
        if not (math.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be finite and >= 0, got {beta}")
        h = _as_hierarchy(hierarchy)
        self.beta, self.reduction = beta, _check_reduction(reduction)
        self.num_classes = h.num_classes
        self.hierarchy = h  # the tree, for the Tracker's check against its own
        self.register_buffer("targets", torch.from_numpy(h.soft_labels(beta)), persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, target, self.num_classes)
        q = _rows_of(self.targets, target, self.num_classes).to(logits.dtype)
        loss = -(q * F.log_softmax(logits, dim=-1)).sum(dim=1)
        return _reduce(loss, self.reduction)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, classes={self.num_classes}"


def _rows_of(table: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """The rows of a per-class ``table`` for each class index of ``target``. With
    ``index_select``, not ``table[target]``: a target of -1 is refused (as ``nn.CrossEntropyLoss``
    refuses it), not read as class K - 1; the refusal names the index (on the CPU; CUDA
    reports it as a device-side assertion)."""
    try:
        return table.index_select(0, target)
    except IndexError:
        bad = target[(target < 0) | (target >= k)]
        value = int(bad[0]) if bad.numel() else "?"
        raise IndexError(
            f"target: class index {value} is out of range for {k} classes (0 to {k - 1})"
        ) from None


def _check_logits(logits: torch.Tensor, target: torch.Tensor, k: int) -> None:
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise ValueError(
            f"target: expected integer class indices (torch.long), got {target.dtype}; these "
            "losses take class indices, not probabilities or one-hot rows"
        )
    if logits.dim() != 2 or logits.shape[1] != k:
        raise ValueError(f"logits: expected shape (batch, {k}), got {tuple(logits.shape)}")
    if target.shape != logits.shape[:1]:
        raise ValueError(
            f"target: expected {logits.shape[0]} class indices, got shape {tuple(target.shape)}"
        )


# ---- features ----------------------------------------------------------------------------------


class Features(NamedTuple):
    """What :func:`features` collects: ``features`` (``N x d``; None when streamed into an
    accumulator), ``labels`` (``N``) and ``logits`` (``N x K``; None when not kept), on the
    CPU."""

    features: Optional[torch.Tensor]
    labels: torch.Tensor
    logits: Optional[torch.Tensor]


def _classifier(model: nn.Module, name: Optional[str], why: str) -> nn.Linear:
    """The classifier: the ``nn.Linear`` called ``name`` (``model.get_submodule(name)``), or
    without a name the model's last ``nn.Linear`` (in ``model.modules()`` order); ``why``
    says what needs it, for the error when there is none."""
    if name is not None:
        if not isinstance(name, str):
            raise ValueError(f"classifier: expected a module name (str), got {name!r}")
        try:
            module = model.get_submodule(name)
        except AttributeError as e:
            raise ValueError(f"classifier {name!r}: {e}") from None
        if not isinstance(module, nn.Linear):
            raise ValueError(
                f"classifier {name!r} is a {type(module).__name__}, not an nn.Linear: {why}"
            )
        return module
    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    if last is None:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer: {why}")
    return last


def _not_called(model: nn.Module, layer, classifier, head) -> str:
    """The error for a feature layer the forward pass did not call, naming it."""
    if layer is not None:
        return f"layer {layer!r} was not called in the model's forward pass"
    if classifier is not None:
        return f"the classifier {classifier!r} was not called in the model's forward pass"
    name = next((n for n, m in model.named_modules() if m is head), "?")
    return (
        f"the classifier, taken as the model's last nn.Linear ({name!r}: {head}), was not called "
        "in the model's forward pass: name the layer that makes the logits with classifier=..."
    )


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def features(
    model: nn.Module,
    loader: Iterable,
    layer: Optional[str] = None,
    *,
    into: Optional[nclab.Accumulator] = None,
    keep_logits: bool = True,
    device: Optional[torch.device] = None,
    classifier: Optional[str] = None,
) -> Features:
    """The features of ``layer`` over ``loader`` (batches ``(inputs, labels)``), in eval mode.

    ``layer=None`` takes the penultimate features: the input of the classifier, the
    ``nn.Linear`` named ``classifier`` or else the model's last one; a ``layer`` name
    (``model.get_submodule(name)``) takes that module's output,
    flattened to ``B x d``. With ``into``, each batch's features go straight into the
    accumulator (its current pass) and are not kept. The model's mode is restored after.
    """
    if layer is not None and classifier is not None:
        raise ValueError(
            f"layer={layer!r} and classifier={classifier!r}: the features are the named layer's "
            "output or the classifier's input; give one"
        )
    if layer is None:
        captured = []
        head = _classifier(
            model,
            classifier,
            "layer=None takes the input of the classifier; name the classifier with "
            "classifier=... or a feature layer with layer=...",
        )
        hook = head.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
    else:
        try:
            module = model.get_submodule(layer)
        except AttributeError as e:
            raise ValueError(f"layer {layer!r}: {e}") from None
        captured = []
        hook = module.register_forward_hook(lambda m, args, out: captured.append(out))
    device = device or _device(model)
    was_training = model.training
    model.eval()
    kept, labels, logits = [], [], []
    try:
        for i, batch in enumerate(loader):
            inputs, y = _batch(batch, i)
            captured.clear()
            with torch.no_grad():  # no autograd graph: features are read, not trained
                out = model(inputs.to(device, non_blocking=True))
            if not captured:
                raise ValueError(_not_called(model, layer, classifier, head if layer is None else None))
            h = captured[-1].flatten(1)
            if into is not None:
                into.add(h, y)
            else:
                kept.append(h.cpu())
            labels.append(y.cpu())
            if keep_logits:
                if not isinstance(out, torch.Tensor):
                    raise ValueError(
                        f"the model returned a {type(out).__name__}, not a tensor of logits: "
                        "wrap the model so that its forward returns the logits "
                        "(features(..., keep_logits=False) reads no logits)"
                    )
                logits.append(out.cpu())
    finally:
        hook.remove()
        model.train(was_training)
    if not labels:
        raise ValueError("loader: it gave no batches")
    return Features(
        torch.cat(kept) if kept else None,
        torch.cat(labels),
        torch.cat(logits) if keep_logits else None,
    )


def _batch(batch: Any, i: int) -> tuple:
    """A loader's batch ``i`` as ``(inputs, labels)``, the labels a 1-D int64 tensor (an
    ``N x 1`` column and NumPy arrays are taken too), or an error saying what was found."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        found = f"{type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"loader: batch {i} is a {found}; expected (inputs, labels)")
    inputs, y = batch
    y = torch.as_tensor(y)
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(
            f"loader: batch {i} has labels of shape {tuple(y.shape)} and dtype {y.dtype}; "
            "expected one integer class index per input"
        )
    return inputs, y.long()


# Why measure_model and the Tracker need the model's last nn.Linear.
_NEEDS_CLASSIFIER = (
    "the collapse metrics take the classifier (W, b), the nn.Linear named classifier=... or "
    "else the last one, and its input as the features; for another model, measure with "
    "nclab.torch.features(model, loader, layer=...) and nclab.measure"
)


class ModelMeasurement(NamedTuple):
    """What :func:`measure_model` returns: the ``metrics`` dict of :func:`nclab.measure`, the
    finished ``accumulator`` (for :meth:`nclab.Accumulator.heldout`), and pass 1's ``logits``
    (``N x K``) and ``labels`` (``N``) on the CPU, for :func:`nclab.evaluate`. A tuple, so
    ``metrics, acc, logits, labels = measure_model(...)`` works too."""

    metrics: dict
    accumulator: nclab.Accumulator
    logits: Optional[torch.Tensor]
    labels: torch.Tensor


def measure_model(
    model: nn.Module,
    loader: Iterable,
    num_classes: int,
    *,
    hierarchy: Union[nclab.Hierarchy, str, None] = None,
    coarse_depth: Optional[int] = None,
    cache_bytes: int = 1 << 30,
    classifier: Optional[str] = None,
) -> ModelMeasurement:
    """The collapse metrics of ``model``'s penultimate features over ``loader``, as a
    :class:`ModelMeasurement` ``(metrics, accumulator, logits, labels)``. The classifier
    ``(W, b)`` is the ``nn.Linear`` named ``classifier`` (``"fc"``, ``"head.2"``), or else the
    model's last ``nn.Linear``; the features are its input.

    Two streamed passes (:class:`nclab.Accumulator`). Features up to ``cache_bytes`` are kept
    on the host after pass 1 (counted at the classifier's element size: 4 bytes a value in
    float32, 8 in float64) so pass 2 needs no second forward pass; above
    it, or when the loader has no ``dataset`` length, each batch goes straight into the
    accumulator, the loader is run twice, and memory does not grow with N. A loader run
    twice must give the same samples both times: one that shuffles and drops its last batch
    gives others, which :meth:`nclab.Accumulator.result` refuses, as it refuses the other
    class means that random augmentation gives pass 2.
    """
    head = _classifier(model, classifier, _NEEDS_CLASSIFIER)
    if head.out_features != num_classes:
        which = f"{classifier!r}" if classifier is not None else "the model's last nn.Linear"
        raise ValueError(
            f"num_classes={num_classes}, but the classifier ({which}, {head}) has "
            f"{head.out_features} outputs: give the number of classes it scores, name the "
            "classifier with classifier=..., or measure another layer with "
            "features(model, loader, layer=...) and nclab.measure"
        )
    acc = nclab.Accumulator(num_classes, head.in_features)
    n = _dataset_len(loader)
    fits = 0 < n * head.in_features * head.weight.element_size() <= cache_bytes
    first = features(model, loader, into=None if fits else acc, classifier=classifier)
    if fits:
        acc.add(first.features, first.labels)
    acc.second_pass(head.weight, head.bias)
    if fits:
        acc.add(first.features, first.labels)
    else:
        features(model, loader, into=acc, keep_logits=False, classifier=classifier)
    metrics = acc.result(hierarchy=hierarchy, coarse_depth=coarse_depth)
    return ModelMeasurement(metrics, acc, first.logits, first.labels)


# ---- the tracker -------------------------------------------------------------------------------


def _loss_config(loss: Optional[Callable]) -> dict:
    """``config.toml``'s ``[loss]`` for the criterion a Tracker is given: what defines the loss
    (so that ``nclab report`` pools only runs trained with the same one)."""
    if loss is None or loss is F.cross_entropy:
        return {"kind": "ce"}
    if loss is F.mse_loss:
        return {"kind": "mse"}
    if isinstance(loss, nn.CrossEntropyLoss):
        cfg = {"kind": "ce"}
        if loss.label_smoothing:
            cfg["label_smoothing"] = float(loss.label_smoothing)
        if loss.weight is not None:
            cfg["class_weights"] = [float(w) for w in loss.weight.detach().cpu().reshape(-1)]
        return cfg
    if isinstance(loss, HXELoss):
        # Floats, as nclab train writes them (alpha = 1.0, not 1): the report compares the text.
        return {"kind": "hxe", "alpha": float(loss.alpha), "normalize": loss.normalize}
    if isinstance(loss, SoftLabelLoss):
        return {"kind": "soft", "beta": float(loss.beta)}
    if isinstance(loss, nn.MSELoss):
        return {"kind": "mse"}
    if isinstance(loss, nn.Module):
        return {"kind": type(loss).__name__}
    return {"kind": getattr(loss, "__name__", type(loss).__name__)}


def _check_loss(loss) -> None:
    """Refuses what cannot be a Tracker's ``loss``: not a callable, a class rather than an
    instance, or an anonymous function (a lambda, a ``functools.partial``), which config.toml
    could not tell apart from another, so that ``nclab report`` would pool different losses."""
    if loss is None:
        return
    if isinstance(loss, type):
        raise ValueError(f"loss: got the class {loss.__name__}; pass an instance, {loss.__name__}()")
    if not callable(loss):
        raise ValueError(
            f"loss: expected the criterion you train with, loss(logits, class indices), got "
            f"{type(loss).__name__}"
        )
    name = getattr(loss, "__name__", None)
    if not isinstance(loss, nn.Module) and not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(
            f"loss: {loss!r} has no name for config.toml's loss.kind, so nclab report could "
            "not tell it from another such loss and would pool their runs: define it with def "
            "and a name that says what it computes (recorded as loss.kind; add its parameters "
            "with config={'loss': {...}}), or pass an nn.Module"
        )


def _check_loss_tree(loss, hierarchy: Optional[nclab.Hierarchy], recorded: str) -> None:
    """Warns when a hierarchical loss trains on another tree than the one the Tracker measures
    against (``hierarchy``; None: the flat tree)."""
    tree = getattr(loss, "hierarchy", None) if isinstance(loss, (HXELoss, SoftLabelLoss)) else None
    if tree is None:
        return
    if hierarchy is None:
        # Measured against the flat tree: a loss on a flat tree (HXE = CE, soft labels =
        # label smoothing) agrees with it.
        agrees = tree.max_depth == 1
    else:
        agrees = hierarchy.to_string("json") == tree.to_string("json")
    if not agrees:
        warnings.warn(
            f"Tracker: the loss trains on the tree '{tree.source}', but the run is measured "
            f"against '{recorded}' (its tree metrics and mistake severities, and config.toml's "
            "hierarchy); pass the loss's tree as hierarchy= to measure against it",
            stacklevel=3,
        )


# A hierarchy that is not built in is saved beside the run, under this name.
def _hierarchy_file(text: str) -> str:
    """The name of the copy of a tree that is not built in, beside the run: by its content
    (``hierarchy-<12 hex digits of its SHA-256>.json``), so that runs on different trees have
    different configs and are not pooled by ``nclab report``."""
    return f"hierarchy-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"


# Config keys that the Tracker writes from its own arguments (which one, for the message).
_SET_BY_TRACKER = {"name": "its name argument", "seed": "its seed argument",
                   "trainer": "its own name", "hierarchy": "its hierarchy argument"}

# Config keys that are tables (merged with the Tracker's own, read by the summary).
_TABLES = ("data", "model", "loss", "optim", "analysis")


class Tracker:
    """Neural-collapse tracking for a training loop of your own, into an nclab run directory.

    Call :meth:`epoch` once per epoch, after the epoch's training steps::

        tracker = Tracker("runs/my-run", hierarchy="cifar10", epochs="log:50", num_epochs=E)
        for epoch in range(1, E + 1):
            train_one_epoch(...)
            tracker.epoch(epoch, model, train_loader, test_loader,
                          lr=scheduler.get_last_lr()[0], running_acc=correct / seen)

    At the analysis epochs of ``epochs`` (``"log:N"``, ``"all"`` or a list, resolved as
    ``nclab train`` resolves ``analysis.epochs``) it measures, in eval mode: the training
    loss and accuracy and every collapse metric of :func:`nclab.measure` on the training set
    (the penultimate features: the input of the ``nn.Linear`` named ``classifier``, or else
    of the model's last one, taken as the classifier), the held-out metrics
    and the test loss, accuracy and mistake metrics on the test set; and appends the row to
    ``metrics.csv`` and ``metrics.jsonl``; at the last epoch also ``test_predictions.csv``, the
    test set's ranking image by image (with a test loader). ``summary.json`` is rewritten after every analysis
    (``status`` ``running``, then ``finished`` after the last epoch, ``diverged`` at a
    non-finite training loss). The directory is locked against a second writer while the
    tracker is open. ``nclab report`` reads it like a run of ``nclab train``.

    Without a hierarchy (or with ``"flat"``) the run is measured against the flat tree sized
    by the classifier, as ``nclab train`` does by default. ``tpt_check`` dates the terminal
    phase between analysis epochs as ``analysis.tpt_check`` does: an epoch whose
    ``running_acc`` reaches it is followed by a check of the training error (0 checks every
    epoch; without ``running_acc`` only the analysis epochs are checked).

    ``loss`` (default cross-entropy) gives the loss columns and the config's ``[loss]``;
    ``config`` adds keys to ``config.toml`` (e.g. ``{"data": {"name": "mnist"}}``);
    ``seed`` defaults to ``torch.initial_seed()``.
    """

    def __init__(
        self,
        run_dir: Union[str, os.PathLike],
        hierarchy: Union[nclab.Hierarchy, str, None] = None,
        epochs: Union[str, Sequence[int]] = "log:50",
        *,
        num_epochs: int,
        loss: Optional[Callable] = None,
        seed: Optional[int] = None,
        name: Optional[str] = None,
        config: Optional[dict] = None,
        coarse_depth: int = 1,
        tpt_check: float = 0.99,
        classifier: Optional[str] = None,
    ):
        if classifier is not None and not isinstance(classifier, str):
            raise ValueError(f"classifier: expected a module name (str), got {classifier!r}")
        _check_loss(loss)
        if not isinstance(coarse_depth, int) or coarse_depth < 1:
            raise ValueError(
                f"coarse_depth: expected a whole number >= 1 (1 = the root's children), got {coarse_depth!r}"
            )
        if not _is_number(tpt_check) or not (0 <= tpt_check < math.inf):
            raise ValueError(f"tpt_check: expected a number >= 0, got {tpt_check!r}")
        # No hierarchy, or "flat" alone: the flat tree, sized by the model's classifier at the
        # first analysis.
        self._flat = hierarchy is None or (isinstance(hierarchy, str) and hierarchy.strip() == "flat")
        self.hierarchy = None if self._flat else _as_hierarchy(hierarchy)
        self.tpt_check = float(tpt_check)
        self.analysis_epochs = set(nclab.analysis_epochs(epochs, num_epochs))
        self.num_epochs = num_epochs
        self.loss = loss if loss is not None else nn.CrossEntropyLoss()
        self.coarse_depth = coarse_depth
        self.classifier = classifier
        self.seed = int(torch.initial_seed() if seed is None else seed) % (1 << 63)
        self.name = name or os.path.basename(os.path.normpath(os.fspath(run_dir)))
        cfg = {
            "name": self.name,
            "seed": self.seed,
            "trainer": "nclab.torch.Tracker",
            "hierarchy": self.hierarchy.source if self.hierarchy is not None else "flat",
            "loss": _loss_config(loss),
            "optim": {"epochs": num_epochs},
            # tpt_check is not recorded: it changes when the terminal phase is dated (and only
            # with running_acc), not what is measured.
            "analysis": {
                "epochs": epochs if isinstance(epochs, str) else [int(e) for e in epochs],
                "coarse_depth": coarse_depth,
            },
        }
        if classifier is not None:
            # Which layer is measured: runs measured at different heads are not pooled.
            cfg["analysis"]["classifier"] = classifier
        for key, value in (config or {}).items():
            if key in _SET_BY_TRACKER:
                raise ValueError(
                    f"config[{key!r}]: written by the Tracker from {_SET_BY_TRACKER[key]}"
                )
            if key in _TABLES and not isinstance(value, dict):
                raise ValueError(
                    f"config[{key!r}]: expected a dict (a TOML table), got {type(value).__name__}"
                )
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                taken = [inner for inner in value if inner in cfg[key]]
                if taken:
                    raise ValueError(
                        f"config[{key!r}][{taken[0]!r}]: written by the Tracker from its own "
                        "arguments (loss, num_epochs, epochs, coarse_depth, classifier)"
                    )
                cfg[key] = {**cfg[key], **value}
            else:
                cfg[key] = value
        # A tree that is not built in is saved beside the run; both files name that copy.
        builtin = self.hierarchy is None or self.hierarchy.is_builtin
        if not builtin:
            tree_json = self.hierarchy.to_string("json")
            cfg["hierarchy"] = _hierarchy_file(tree_json)
        try:
            config_json = json.dumps(cfg, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"config: {e} (config.toml holds TOML values: numbers, text, "
                             "booleans, lists and tables)") from None
        self.config = cfg
        self._writer = _nclab.RunWriter(os.fspath(run_dir), config_json)
        self.path = self._writer.path
        if loss is None:  # said once the run exists, not for a Tracker that was refused
            warnings.warn(
                "Tracker: no loss given, so the loss columns and config.toml's [loss] are "
                "cross-entropy's; pass loss= the criterion you train with (HXELoss, "
                "SoftLabelLoss, nn.CrossEntropyLoss(), ...), or nclab report takes the run for a "
                "CE run",
                stacklevel=2,
            )
        if not builtin:
            self.hierarchy.save(os.path.join(self.path, cfg["hierarchy"]))
        _check_loss_tree(loss, self.hierarchy, cfg["hierarchy"])
        self._start = time.perf_counter()
        self._analysis_s = 0.0
        self._images = 0
        self._first_lr = None
        self._first_decay = None
        self._tpt_epoch = None
        self._stable_tpt_epoch = None
        self._last_row = None
        self._device = "cpu"
        self._status = "running"
        self._diverged_at = None
        self._epoch = 0  # the last epoch recorded

    def epoch(
        self,
        epoch: int,
        model: nn.Module,
        train_loader: Iterable,
        test_loader: Optional[Iterable] = None,
        *,
        lr: Optional[float] = None,
        running_acc: Optional[float] = None,
    ) -> Optional[dict]:
        """Records epoch ``epoch`` (1-based); at an analysis epoch measures and writes the row
        and returns it (a dict), else returns None (after a check of the training error when
        ``running_acc``, the epoch's training accuracy as the loop counted it, reaches
        ``tpt_check`` before the terminal phase is found). If the analysis, the check or the
        writing of the row raises, the epoch is not counted: the next call must be for the same
        epoch again. Every row has the columns of the first; one without the test set's leaves
        them empty."""
        if self._writer is None:
            if self._status == "diverged":
                why = f"the run diverged at epoch {self._diverged_at}"
            elif self._last_row is None:
                why = "closed before any epoch was analysed"
            else:
                why = f"the run is {self._status}"
            raise ValueError(f"{self.path}: the tracker is closed ({why}); a new run needs a new "
                             "Tracker and run_dir")
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            raise ValueError(f"epoch: expected an int, got {type(epoch).__name__} {epoch!r}")
        if epoch != self._epoch + 1 or epoch > self.num_epochs:
            expected = (
                f"epoch {self._epoch + 1}" if self._epoch < self.num_epochs else "no further epoch"
            )
            raise ValueError(
                f"epoch({epoch}): call epoch() once after every epoch, in order, 1 to "
                f"num_epochs={self.num_epochs}; expected {expected}"
            )
        if lr is not None:
            lr = _as_float(lr, "lr")
        if running_acc is not None:
            running_acc = _as_float(running_acc, "running_acc")
            if not 0 <= running_acc <= 1:
                raise ValueError(f"running_acc: expected a number from 0 to 1, got {running_acc!r}")
        if epoch not in self.analysis_epochs:
            if self._tpt_epoch is None and (
                self.tpt_check == 0 or (running_acc is not None and running_acc >= self.tpt_check)
            ):
                started = time.perf_counter()
                try:
                    zero = _no_training_error(model, train_loader)
                finally:
                    self._analysis_s += time.perf_counter() - started
                self._track_tpt(epoch, zero)
            self._count(epoch, lr, train_loader)
            return None
        # Measured and written before the epoch is counted: an analysis or a write that raises
        # (a test loader that fails, say) leaves the tracker as it was, and the same epoch may
        # be retried.
        started = time.perf_counter()
        try:
            row = self._analyse(epoch, model, train_loader, test_loader, lr)
        finally:
            # A failed analysis took time too: not training time.
            self._analysis_s += time.perf_counter() - started
        row = self._same_columns(epoch, row)
        self._writer.append_row(list(row.items()))
        self._count(epoch, lr, train_loader)
        self._last_row = row
        if row["train_loss"] is None or not math.isfinite(row["train_loss"]):
            self._status, self._diverged_at = "diverged", epoch
        else:
            self._track_tpt(epoch, row["train_acc"] == 1.0)
            if epoch == self.num_epochs:
                self._status = "finished"
        self._write_summary()
        if self._status != "running":
            self.close()
        return row

    def _count(self, epoch: int, lr: Optional[float], train_loader: Iterable) -> None:
        """Counts epoch ``epoch``: the learning-rate decay and the images seen."""
        self._epoch = epoch
        if lr is not None:
            if self._first_lr is None:
                self._first_lr = lr
            elif self._first_decay is None and lr < self._first_lr:
                self._first_decay = epoch
        self._images += _dataset_len(train_loader)

    def _same_columns(self, epoch: int, row: dict) -> dict:
        """``row`` in the columns of the first row (``metrics.csv`` has one header): a column
        it lacks (a diverged row, an analysis without ``test_loader``) is left empty; a column
        the first row lacks is refused."""
        if self._last_row is None:
            return row
        extra = [key for key in row if key not in self._last_row]
        if extra:
            raise ValueError(
                f"epoch({epoch}): this analysis has columns the first one lacked "
                f"({', '.join(extra[:5])}): give test_loader at every analysis epoch or at none"
            )
        return {key: row.get(key) for key in self._last_row}

    def _track_tpt(self, epoch: int, zero_error: bool) -> None:
        """A check of the training error at ``epoch``: the first epoch of zero training error,
        and the first of the streak that lasts."""
        if zero_error:
            if self._tpt_epoch is None:
                self._tpt_epoch = epoch
            if self._stable_tpt_epoch is None:
                self._stable_tpt_epoch = epoch
        else:
            self._stable_tpt_epoch = None

    def _analyse(self, epoch, model, train_loader, test_loader, lr) -> dict:
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            # Diverged: nothing to measure; the row says when, the summary says so.
            return {"epoch": epoch, "lr": lr, "elapsed_s": time.perf_counter() - self._start,
                    "train_loss": None}
        head = _classifier(model, self.classifier, _NEEDS_CLASSIFIER)
        k = head.out_features
        if self._flat and self.hierarchy is None:
            self.hierarchy = nclab._hierarchy("flat", k)
        self._device = str(_device(model))
        metrics, acc, logits, labels = measure_model(
            model,
            train_loader,
            k,
            hierarchy=self.hierarchy,
            coarse_depth=self.coarse_depth if self.hierarchy is not None else None,
            classifier=self.classifier,
        )
        train_loss = _mean_loss(self.loss, logits, labels)
        row = {
            "epoch": epoch,
            "lr": lr,
            "elapsed_s": time.perf_counter() - self._start,
            "train_loss": train_loss,
            "train_acc": float((logits.argmax(1) == labels).double().mean()),
            "test_loss": None,
            "test_acc": None,
        }
        row.update({key: v for key, v in metrics.items() if key not in ("n", "d", "k")})
        heldout = dict.fromkeys(("heldout_nc1", "heldout_nc4", "heldout_ncc_accuracy"))
        mistakes = {}
        if test_loader is not None:
            test = features(model, test_loader, classifier=self.classifier)
            row["test_loss"] = _mean_loss(self.loss, test.logits, test.labels)
            row["test_acc"] = float((test.logits.argmax(1) == test.labels).double().mean())
            heldout = acc.heldout(test.features, test.labels)
            if self.hierarchy is not None:
                logits = nclab._arrays.floats(test.logits, "logits")
                labels = nclab._arrays.labels(test.labels, "labels")
                mistakes = dict(_nclab._run_mistake_columns(logits, labels, self.hierarchy))
                if epoch == self.num_epochs:
                    # The final network's ranking of every test image, for the report's
                    # test-image term (docs/report.md).
                    self._writer.write_test_predictions(logits, labels, self.hierarchy)
        row.update(heldout)
        row.update(mistakes)
        return row

    def _write_summary(self) -> None:
        wall = time.perf_counter() - self._start
        train_s = max(wall - self._analysis_s, 0.0)
        tpt, decay = self._tpt_epoch, self._first_decay
        summary = {
            "name": self.name,
            "seed": self.seed,
            "dataset": str(self.config.get("data", {}).get("name", "custom")),
            "model": str(self.config.get("model", {}).get("kind", "custom")),
            "loss": self.config["loss"]["kind"],
            "hierarchy": self.config["hierarchy"],
            "status": self._status,
            "diverged_at_epoch": self._diverged_at,
            "epochs": self.num_epochs,
            "tpt_epoch": tpt,
            "stable_tpt_epoch": self._stable_tpt_epoch,
            "reached_tpt_before_first_decay": tpt is not None and (decay is None or tpt < decay),
            "wall_time_s": wall,
            "train_images_per_s": self._images / train_s if train_s > 0 else 0.0,
            "overhead_share": self._analysis_s / wall if wall > 0 else 0.0,
            "train_steps_s": train_s,
            "data_s": 0.0,
            "analysis_s": self._analysis_s,
            "checkpoint_s": 0.0,
            "device": self._device,
            "final": {key: (v if v is None or math.isfinite(v) else None) for key, v in self._last_row.items()},
        }
        self._writer.write_summary(json.dumps(summary))

    def close(self) -> None:
        """Releases the run directory (done by itself after the last epoch). Closed before
        its last epoch (or left by an exception in a ``with`` block), a run that has analysed
        at least once is marked ``interrupted`` in ``summary.json``; a tracker cannot
        continue it."""
        if self._writer is None:
            return
        try:
            if self._status == "running" and self._last_row is not None:
                self._status = "interrupted"
                self._write_summary()
        finally:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        # The block's own exception is the one to see: a failure to close (the directory
        # removed meanwhile, say) only warns.
        try:
            self.close()
        except Exception as e:
            warnings.warn(f"closing the tracker of {self.path} failed too: {e}", stacklevel=2)

    def __repr__(self) -> str:
        return f"Tracker({os.fspath(self.path)!r}, {len(self.analysis_epochs)} analysis epochs, {self._status})"


@torch.no_grad()
def _mean_loss(loss: Callable, logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean of ``loss`` over logits and labels, on the device of the loss's buffers (a
    module's) or of the logits. ``nn.MSELoss`` and ``F.mse_loss`` are given one-hot targets,
    as MSE training on classes uses them; every other loss the class indices."""
    buffers = loss.buffers() if isinstance(loss, nn.Module) else ()
    device = next((b.device for b in buffers), logits.device)
    logits, labels = logits.to(device, torch.float32), labels.to(device)
    if isinstance(loss, nn.MSELoss) or loss is F.mse_loss:
        labels = F.one_hot(labels, logits.shape[1]).to(torch.float32)
    value = loss(logits, labels)
    return float(torch.as_tensor(value).mean().item())


@torch.no_grad()
def _no_training_error(model: nn.Module, loader: Iterable) -> bool:
    """Whether ``model``, in eval mode, classifies every sample of ``loader`` correctly; stops
    at the first batch with a mistake. The model's mode is restored after."""
    device = _device(model)
    was_training = model.training
    model.eval()
    batches = 0
    try:
        for i, batch in enumerate(loader):
            inputs, y = _batch(batch, i)
            batches += 1
            decided = model(inputs.to(device, non_blocking=True)).argmax(1)
            if bool((decided != y.to(decided.device)).any()):
                return False
    finally:
        model.train(was_training)
    if batches == 0:
        raise ValueError("loader: it gave no batches")
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_float(value: Any, name: str) -> float:
    """A real number, or a one-element tensor holding one (``correct / seen`` summed from
    tensors), as a float; anything else is refused naming ``name``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.dtype.is_complex \
            and value.dtype != torch.bool:
        return float(value.item())
    if not _is_number(value):
        raise ValueError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _dataset_len(loader: Any) -> int:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return 0
