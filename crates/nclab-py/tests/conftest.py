"""Shared fixtures: the nclab CLI (the independent reference the bindings are compared with),
and data sets built here, never downloaded."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


def _cli() -> Path:
    """The nclab binary: $NCLAB_BIN, else the one `cargo build`/`cargo test` left in target/."""
    if os.environ.get("NCLAB_BIN"):
        return Path(os.environ["NCLAB_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        if (target / profile / "nclab").is_file():
            return target / profile / "nclab"
    raise RuntimeError(
        f"no nclab binary under {target}/{{debug,release}}: run `cargo build` (or set NCLAB_BIN)"
    )


@pytest.fixture(scope="session")
def cli():
    """Runs `nclab ARGS...` and returns its stdout; a failure fails the test with stderr."""
    binary = _cli()

    def run(*args, expect_ok=True):
        p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if expect_ok and p.returncode != 0:
            raise AssertionError(f"nclab {' '.join(map(str, args))} failed:\n{p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def cli_json(cli):
    def run(*args):
        return json.loads(cli(*args, "--format", "json").stdout)

    return run


def gaussian_classes(rng, counts, d, *, rank=None, spread=4.0, dtype=np.float64):
    """Features of len(counts) Gaussian classes (class k has counts[k] samples) in d
    dimensions, optionally confined to a random `rank`-dimensional subspace."""
    k = len(counts)
    means = rng.normal(scale=spread, size=(k, d))
    labels = np.repeat(np.arange(k), counts)
    h = means[labels] + rng.normal(size=(len(labels), d))
    if rank is not None:
        basis = np.linalg.qr(rng.normal(size=(d, rank)))[0]
        h = h @ basis @ basis.T
    perm = rng.permutation(len(labels))
    return h[perm].astype(dtype), labels[perm]


def assert_metrics_close(got: dict, want: dict, rtol=1e-12, atol=1e-13, noise=()):
    """Same keys in the same order, and every value equal to `rtol` (None where None); the
    keys in `noise` (values that are rounding noise by definition) only in sign of None."""
    assert list(got) == list(want)
    for key in want:
        if key in noise:
            assert (got[key] is None) == (want[key] is None), key
            continue
        g, w = got[key], want[key]
        if w is None:
            assert g is None, f"{key}: {g} where the reference has null"
        else:
            assert g is not None, f"{key}: None where the reference has {w}"
            assert abs(g - w) <= atol + rtol * abs(w), f"{key}: {g!r} vs {w!r}"


def pytest_configure(config):
    # Most Tracker tests use the default loss on purpose; test_torch.py checks the warning.
    config.addinivalue_line("filterwarnings", "ignore:Tracker. no loss given:UserWarning")
