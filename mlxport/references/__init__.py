"""Golden references: numpy functions in float64, named after the MLX op they check.

An op's reference is the function registered here under its name, or else numpy's own
function of the same name (``exp`` -> ``np.exp``, ``linalg.qr`` -> ``np.linalg.qr``).
Every reference takes numpy arrays (float64, complex128, int64 or bool) plus the case's
params as keywords, and returns an array or a tuple of arrays.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

REFERENCES: dict[str, Callable] = {}


def reference(*names: str, raw: bool = False) -> Callable[[Callable], Callable]:
    """Register ``fn`` as the golden reference of the ops ``names``. A ``raw`` reference gets the
    inputs in their own dtypes instead of widened (for ops on bits, such as ``view``)."""

    def register(fn: Callable) -> Callable:
        fn.raw = raw
        for name in names:
            REFERENCES[name] = fn
        return fn

    return register


def real(a, op: str, dtype=np.float64, why: str = "MLX takes only real types here") -> np.ndarray:
    """``a`` in ``dtype``, for a reference of an op that MLX refuses complex input to (or
    accepts without meaning, said by ``why``): complex ``a`` raises (the dtype probe then reports
    the pair untried, with ``why``) instead of being cast with its imaginary part dropped, which
    numpy does with only a ComplexWarning."""
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise TypeError(f"[{op}] complex input: {why}")
    return a.astype(dtype)


def lookup(op: str) -> Callable | None:
    """The reference of ``op``: a registered one, else numpy's function of that name."""
    _load()
    return REFERENCES.get(op) or resolve(np, op)


def resolve(namespace: Any, op: str) -> Callable | None:
    """``resolve(mx, "fast.rms_norm")`` -> ``mx.fast.rms_norm``, or None when it is missing."""
    for part in op.split("."):
        namespace = getattr(namespace, part, None)
        if namespace is None:
            return None
    return namespace if callable(namespace) else None


def _load() -> None:
    # Imported on first use, so that importing mlxport does no work.
    from . import (bounds, elementwise, linalg, nn, quant, random, recurrent,  # noqa: F401
                   signal, structural, threefry)
