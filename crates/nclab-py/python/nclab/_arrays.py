"""Arrays on their way into the Rust core.

NumPy arrays and PyTorch tensors (on any device) become C-contiguous NumPy arrays: float16,
float32 or float64 as they are, bfloat16 as its raw bits (uint16, NumPy has no bfloat16),
labels as int64. A C-contiguous floating-point array is passed on without a copy; a tensor on
a GPU is moved to the host once; anything else is copied once into the layout the core reads.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _torch_tensor(x: Any):
    """`x` if it is a torch.Tensor (without importing torch when nobody has)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x
    return None


def floats(x: Any, name: str, ndim: int = 2, shape: str = "N x d") -> np.ndarray:
    """`x` as a C-contiguous float16/float32/float64 array (bfloat16 as uint16 bits) of
    `ndim` dimensions; `name` names it in errors, `shape` the expected 2-D shape."""
    t = _torch_tensor(x)
    if t is not None:
        torch = sys.modules["torch"]
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.dtype == torch.bfloat16:
            a = t.view(torch.int16).numpy().view(np.uint16)
        elif t.dtype in (torch.float16, torch.float32, torch.float64):
            a = t.numpy()
        else:
            raise ValueError(
                f"{name}: expected floating-point values (float16, bfloat16, float32 or "
                f"float64), got a tensor of {t.dtype}"
            )
    else:
        a = np.asarray(x)
        if a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16
            a = a.view(np.uint16)
        elif a.dtype not in _FLOATS:
            raise ValueError(
                f"{name}: expected floating-point values (float16, bfloat16, float32 or "
                f"float64), got {a.dtype}"
            )
    if a.ndim != ndim:
        expected = shape if ndim == 2 else "a vector"
        raise ValueError(f"{name}: expected {ndim} dimensions ({expected}), got shape {a.shape}")
    return np.ascontiguousarray(a)


def vector(x: Any, name: str) -> np.ndarray:
    """`x` as a contiguous float64 vector (a bias)."""
    a = floats(x, name, ndim=1)
    if a.dtype == np.uint16:
        a = a.astype(np.uint32) << 16
        a = a.view(np.float32)
    return np.ascontiguousarray(a, dtype=np.float64)


def labels(x: Any, name: str) -> np.ndarray:
    """`x` as a contiguous int64 vector (N, or N x 1 flattened); `name` names it in errors."""
    t = _torch_tensor(x)
    a = t.detach().cpu().numpy() if t is not None else np.asarray(x)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: expected integer class labels, got {a.dtype}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels (or N x 1), got shape {a.shape}")
    if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
        i = int(np.argmax(a))
        raise ValueError(f"{name}: label {a[i]} at row {i} is out of range")
    return np.ascontiguousarray(a, dtype=np.int64)


def optional(f, x: Any, name: str):
    """`f(x, name)`, or None when `x` is None."""
    return None if x is None else f(x, name)
