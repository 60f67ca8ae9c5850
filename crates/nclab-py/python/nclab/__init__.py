"""nclab: neural collapse under hierarchical losses, from Python.

The metrics, hierarchies, mistake metrics and losses of the nclab command-line tool, computed
by the same Rust core (in float64, with the GIL released), on NumPy arrays and PyTorch tensors:

- :func:`measure`: every neural-collapse metric of ``nclab measure`` (NC1-NC4 and companions,
  GNC2, UNC3, the tree metrics, held-out and out-of-distribution collapse);
- :class:`Accumulator`: the same numbers streamed batch by batch, memory independent of N;
- :class:`Hierarchy`: class hierarchies, their LCA distances, soft labels, coarse labels;
- :func:`evaluate`: top-k error, mistake severity, hdist/hprecision/hmap@k, CRM;
- :func:`load_tensors`: the arrays of a ``.safetensors`` file (a run's ``final.safetensors``);
- :mod:`nclab.torch`: ``HXELoss``, ``SoftLabelLoss``, ``features`` and ``Tracker`` for a
  PyTorch training loop (imports torch; ``nclab`` itself does not).

Every metric is defined in the repository's ``docs/metrics.md``; the losses, hierarchies and
mistake metrics in ``docs/losses-and-hierarchies.md``.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterable
from typing import Any, Optional, Sequence, Union

from . import _arrays
from ._nclab import Hierarchy, __version__
from . import _nclab

__all__ = [
    "Accumulator",
    "Hierarchy",
    "analysis_epochs",
    "evaluate",
    "load_dataset",
    "load_tensors",
    "measure",
    "__version__",
]

HierarchyLike = Union["Hierarchy", str]


def _hierarchy(h: Optional[HierarchyLike], k: Optional[int]) -> Optional[Hierarchy]:
    """A Hierarchy from a Hierarchy, a built-in name or a file path; ``"flat"`` is
    ``flat:k``, with ``k`` the data's number of classes."""
    if h is None or isinstance(h, Hierarchy):
        return h
    if isinstance(h, str) and h.strip() == "flat":
        # Without a usable K (no labels, or negative ones) the call fails on the labels
        # themselves, with their own message.
        return Hierarchy.builtin("flat", k) if k is not None and k >= 1 else None
    if isinstance(h, str) or hasattr(h, "__fspath__"):
        return Hierarchy.load(h)
    raise ValueError(f"hierarchy: expected an nclab.Hierarchy, a built-in name or a path, got {type(h).__name__}")


def measure(
    features: Any,
    labels: Any,
    weights: Any = None,
    bias: Any = None,
    *,
    predictions: Any = None,
    hierarchy: Optional[HierarchyLike] = None,
    coarse_depth: Optional[int] = None,
    num_classes: Optional[int] = None,
    eval_features: Any = None,
    eval_labels: Any = None,
    ood_features: Any = None,
    weight_decay: Optional[float] = None,
) -> dict:
    """Every neural-collapse metric of ``nclab measure``, by the same names.

    ``features`` ``H`` (``N x d``: float16, bfloat16, float32 or float64; NumPy or torch, on any
    device, any strides) and ``labels`` ``y`` (``N`` integers in ``0..K-1``); optionally the
    last layer ``W`` (``K x d``) and ``b`` (``K``), the network's ``predictions`` (default
    ``argmax_k (w_k . h_i + b_k)``), a ``hierarchy`` (an :class:`Hierarchy`, built-in name, ``"flat"``
    for ``flat:K``, or file) for ``mean_tree_correlation``, ``nc2_tree`` and ``nc1_coarse`` (at ``coarse_depth``,
    default 1), held-out data (``eval_features``, ``eval_labels``) for ``heldout_nc1``,
    ``heldout_nc4`` and ``heldout_ncc_accuracy``, ``ood_features`` for ``nc5``, and
    ``weight_decay`` (``lam = WD / 2``) for the MSE decomposition ``lnc1``, ``lnc23``,
    ``lperp``.

    With ``mu_k`` the class means, ``mu_G`` the global mean, ``M`` the centred means,
    ``S_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T`` and ``S_B = M^T M / K``:

    - ``nc1 = (1/K) tr(S_W S_B^+)``;
    - ``nc2 = || M M^T / ||M M^T||_F - E ||_F`` with ``E`` the unit-norm simplex ETF;
    - ``nc3 = || W M^T / ||W M^T||_F - E ||_F``;
    - ``nc4``: the share of samples whose network decision differs from the nearest class mean;

    and their companions as docs/metrics.md defines them. Returns a dict in the order of
    ``nclab measure --format json``: ``n``, ``d``, ``k`` (ints), then floats, ``None`` where a
    metric's input was not given. Contiguous float32 and float64 NumPy arrays (and CPU
    tensors) are read in place, without a copy; the GIL is released while it computes.

    Raises ``ValueError`` for bad inputs (shapes, NaN, labels out of range, a class without a
    sample, a hierarchy with another number of classes), with the message the CLI gives.
    """
    labels = _arrays.labels(labels, "labels")
    weights = _arrays.optional(_arrays.floats, weights, "weights")
    if num_classes is not None:
        k = num_classes
    elif weights is not None:
        k = len(weights)
    else:
        k = int(labels.max()) + 1 if len(labels) else None
    return _nclab.measure(
        _arrays.floats(features, "features"),
        labels,
        weights,
        _arrays.optional(_arrays.vector, bias, "bias"),
        predictions=_arrays.optional(_arrays.labels, predictions, "predictions"),
        hierarchy=_hierarchy(hierarchy, k),
        coarse_depth=coarse_depth,
        num_classes=num_classes,
        eval_features=_arrays.optional(_arrays.floats, eval_features, "eval_features"),
        eval_labels=_arrays.optional(_arrays.labels, eval_labels, "eval_labels"),
        ood_features=_arrays.optional(_arrays.floats, ood_features, "ood_features"),
        weight_decay=weight_decay,
    )


class Accumulator:
    """The metrics of :func:`measure`, streamed over batches in two passes, in memory that does
    not depend on the number of samples N (``O(K d + K^2)``, or ``O(d^2)`` when ``d < K``).

    Pass 1 accumulates the class means; pass 2 the within-class scatter, the nearest-mean and
    network decisions (NC4)::

        acc = nclab.Accumulator(num_classes=10)   # dim: from the first batch, or give it
        for h, y in batches():            # pass 1
            acc.add(h, y)
        acc.second_pass(weights=W, bias=b)
        for h, y in batches():            # pass 2: the same data again
            acc.add(h, y)
        metrics = acc.result(hierarchy="cifar10")

    ``result()`` equals ``measure()`` on the concatenated batches (to rounding: the sums are
    taken in another order, about 1e-15 relative) and can be called again with another
    hierarchy. Give the classifier to
    ``second_pass()``: NC4 compares decisions made during pass 2, so weights given only to
    ``result()`` need the network's ``predictions`` in every pass-2 ``add()``.

    Batches may come from several threads (a data loader's, say): each call takes the
    accumulator whole, so concurrent calls run one after another.
    """

    def __init__(self, num_classes: int, dim: Optional[int] = None):
        for name, value, least in (("num_classes", num_classes, 2), ("dim", dim, 1)):
            if name == "dim" and value is None:
                continue  # the first batch gives it
            if not _is_count(value, least):
                raise ValueError(f"{name}: expected a whole number >= {least}, got {value!r}")
        self._num_classes = num_classes
        # Without a dim, the passes begin with the first batch, which gives it.
        self._inner = None if dim is None else _nclab.Accumulator(num_classes, dim)
        # The core works without the GIL; a second thread's call waits here instead of
        # failing on the busy accumulator ("Already borrowed").
        self._lock = threading.Lock()

    def __copy__(self):
        # A copy would be a second handle on the same passes: a call on it moves both on.
        raise TypeError("an Accumulator cannot be copied (its passes are one stream): make a new one")

    def __deepcopy__(self, memo):
        self.__copy__()

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def dim(self) -> Optional[int]:
        """The feature dimension d: as given, else the first batch's (None before it)."""
        return None if self._inner is None else self._inner.dim

    @property
    def current_pass(self) -> int:
        """1 or 2 while adding, 3 once ``result()`` has been called."""
        return 1 if self._inner is None else self._inner.current_pass

    def _passes(self, method: str):
        """The passes, which exist once a dim is known; ``method`` names the call refused."""
        if self._inner is None:
            raise ValueError(
                f"{method}(): no batch has been added yet (pass 1 is empty): add() the "
                "training features first"
            )
        return self._inner

    def add(self, features: Any, labels: Any, predictions: Any = None) -> None:
        """Adds a batch (``features`` ``B x d``, ``labels`` ``B``) to the current pass;
        ``predictions`` (the network's decisions) count in pass 2, for every batch or none."""
        batch = (
            _arrays.floats(features, "features"),
            _arrays.labels(labels, "labels"),
            _arrays.optional(_arrays.labels, predictions, "predictions"),
        )
        with self._lock:
            inner = self._inner
            if inner is None:
                if batch[0].shape[1] < 1:
                    raise ValueError(f"features: expected N x d with d >= 1, got shape {batch[0].shape}")
                inner = _nclab.Accumulator(self._num_classes, batch[0].shape[1])
            inner.add(*batch)
            # Kept only once the batch is in: a refused first batch fixes no dim.
            self._inner = inner

    def second_pass(self, weights: Any = None, bias: Any = None) -> None:
        """Ends pass 1 (every class must have had a sample) and begins pass 2, with the last
        layer ``W`` (``K x d``) and ``b`` (``K``) when there is one."""
        classifier = (
            _arrays.optional(_arrays.floats, weights, "weights"),
            _arrays.optional(_arrays.vector, bias, "bias"),
        )
        with self._lock:
            self._passes("second_pass").second_pass(*classifier)

    def result(
        self,
        weights: Any = None,
        bias: Any = None,
        *,
        hierarchy: Optional[HierarchyLike] = None,
        coarse_depth: Optional[int] = None,
    ) -> dict:
        """The metrics (a dict as :func:`measure` returns, without the held-out, NC5 and MSE
        metrics). Pass 2 must have seen as many samples of each class as pass 1; a failed
        check leaves the passes as they were."""
        classifier = (
            _arrays.optional(_arrays.floats, weights, "weights"),
            _arrays.optional(_arrays.vector, bias, "bias"),
        )
        tree = _hierarchy(hierarchy, self.num_classes)
        with self._lock:
            return self._passes("result").result(*classifier, hierarchy=tree, coarse_depth=coarse_depth)

    def heldout(self, features: Any, labels: Any) -> dict:
        """The held-out metrics of ``features`` and ``labels`` (e.g. the test set) against the
        class means and classifier of the finished passes (after ``result()``):
        ``heldout_nc1`` (NC1 of the held-out features with their own means),
        ``heldout_nc4`` (the share whose network decision differs from the nearest *training*
        mean; None without a classifier) and ``heldout_ncc_accuracy`` (the accuracy of the
        nearest training mean)."""
        held = (_arrays.floats(features, "features"), _arrays.labels(labels, "labels"))
        with self._lock:
            return self._passes("heldout").heldout(*held)

    def __repr__(self) -> str:
        if self._inner is None:
            return f"Accumulator(num_classes={self._num_classes}, dim=None, pass=1)"
        return repr(self._inner)


def evaluate(
    logits: Any,
    labels: Any,
    hierarchy: Optional[HierarchyLike] = "flat",
    k: Union[int, Sequence[int], None] = None,
    crm: bool = False,
    probabilities: bool = False,
) -> dict:
    """The mistake metrics of ``nclab evaluate``, by the same names.

    For scores ``N x K`` (logits, or probabilities with ``probabilities=True``) and labels
    against a hierarchy with LCA heights ``d(i, j)``, for each cut-off ``k`` (1 always
    included): ``top{k}_error``; ``mistake_severity``, the mean ``d(pred, y)`` over the top-1
    mistakes (None without a mistake); ``hdist@k``, the mean over samples of the mean
    ``d(c, y)`` of the k top-ranked classes; ``hprecision@k`` and ``hmap@k`` (Karthik et al.
    2021); under ``"floor"``, the floor of each ``hdist@k`` for these labels, the mean over
    samples of the mean of the k smallest ``d(c, y)`` (no ranking goes below it). With
    ``crm=True`` the metrics again under ``"crm"``, after ranking every
    sample by conditional risk ``p D`` (Karthik et al. 2021). ``k`` defaults to ``(1, 5)``,
    or ``(1, K)`` with fewer than 5 classes; a single ``k`` may be given as an int. The
    hierarchy defaults to the flat tree (``None`` too): top-k errors, every mistake of
    severity 1. ``pandas.json_normalize`` flattens the result into one row (``floor.hdist@5``,
    ``crm.top1_error``).
    """
    logits = _arrays.floats(logits, "logits", shape="N x K")
    if k is None:
        k = (1, min(5, logits.shape[1]))
    elif isinstance(k, numbers.Integral):
        k = (k,)
    elif isinstance(k, (str, bytes)) or not isinstance(k, Iterable):
        raise TypeError(f"k: expected an int or a sequence of ints, got {k!r}")
    return _nclab.evaluate(
        logits,
        _arrays.labels(labels, "labels"),
        _hierarchy("flat" if hierarchy is None else hierarchy, logits.shape[1]),
        list(k),
        crm,
        probabilities,
    )


def load_dataset(name: str, split: str = "train", root: Optional[str] = None):
    """``(inputs, labels, class_names)`` of a dataset nclab trains on: ``mnist``,
    ``fashion-mnist``, ``cifar10``, ``cifar100`` from their files under ``root`` (default
    ``$NCLAB_DATA``, else ``./data``; ``nclab data`` puts them there), or ``synthetic:...``.
    Images are ``uint8`` ``N x C x H x W``, synthetic vectors ``float32`` ``N x dim``; labels
    ``int64``."""
    return _nclab.load_dataset(name, split, root)


def load_tensors(path) -> dict:
    """``{name: array}`` for every tensor of a ``.safetensors`` file, as NumPy arrays of the
    file's shapes and dtypes (bfloat16, which NumPy lacks, widened to float32 exactly): for
    example a run's ``final.safetensors``, whose ``train.features``, ``train.labels``,
    ``test.logits``, ``weights`` and ``bias`` go straight into :func:`measure` and
    :func:`evaluate`. The file is checked as ``nclab measure`` checks it (a bad one raises
    ``ValueError`` naming the file); the arrays are copies."""
    return _nclab.load_tensors(path)


def analysis_epochs(spec: Union[str, Sequence[int]], epochs: int) -> list:
    """The epochs at which ``nclab train`` analyses a run of ``epochs`` epochs:
    ``"log:N"`` (``round(E^(j/(N-1)))`` for ``j = 0..N-1``), ``"all"``, or a list; always
    with 1 and the last epoch, sorted, without repeats."""
    if isinstance(spec, str):
        return _nclab.analysis_epochs(spec, epochs)
    spec = list(spec)
    bad = next((e for e in spec if not _is_count(e, 1)), None)
    if bad is not None:
        raise ValueError(f"epochs: {bad!r} is not an epoch (a whole number from 1)")
    return _nclab.analysis_epochs([int(e) for e in spec], epochs)


def _is_count(value: Any, least: int) -> bool:
    """Whether ``value`` is an int (not a bool) of at least ``least``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= least
