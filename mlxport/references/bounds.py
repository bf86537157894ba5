"""Goldens for indices and starts outside the array. MLX documents them as undefined behaviour:
"Indexing does not perform bounds checking. Indexing out of bounds is undefined behavior."
(docs/src/usage/indexing.rst). Negative indices from -n to -1 are not outside: gathers and
scatters wrap them once (mlx/backend/cpu/indexing.cpp offset_neg_idx: idx + size).

So where an index is outside, the golden asks only what can be asked of undefined behaviour:
that the call returns (the process survives: a crash or a hang is its own status) an array of
the right shape and dtype, and that every element no outside index feeds is right.
"""

from __future__ import annotations

import numpy as np

from . import reference


class Partly:
    """A golden whose elements at ``free`` are unconstrained (fed by an outside index): ``shape``
    and ``dtype`` for the layout check, and ``test(actual)``, None when every constrained element
    equals ``expected`` (NaN matching NaN), else a one-line message. Indexing moves values, so
    equality is exact."""

    def __init__(self, expected: np.ndarray, free: np.ndarray, why: str):
        self.expected, self.free, self.why = expected, np.broadcast_to(free, expected.shape), why
        self.shape, self.dtype = expected.shape, None

    def test(self, actual: np.ndarray) -> str | None:
        want = self.expected.astype(actual.dtype)
        same = (actual == want) | (_isnan(actual) & _isnan(want))
        bad = ~same & ~self.free
        if not bad.any():
            return None
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{int(bad.sum())} of {int((~self.free).sum())} elements that no outside index feeds differ; "
                f"first at {where}: {actual[where]!r} vs expected {want[where]!r} ({self.why})")


def _isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x) if x.dtype.kind in "fc" else np.zeros(x.shape, bool)


def outside(indices: np.ndarray, size: int) -> np.ndarray:
    """Where ``indices`` fall outside an axis of ``size``: below -size or at size and above."""
    return (indices < -size) | (indices >= size)


@reference("take")
def take(a, indices, axis=None):
    """np.take; an outside index gives an unconstrained element (:class:`Partly`)."""
    size = a.size if axis is None else a.shape[axis]
    out_of_range = outside(indices, size)
    safe = np.where(out_of_range, 0, indices)
    expected = np.take(a, safe, axis=axis)
    if not out_of_range.any():
        return expected
    if axis is None:
        free = out_of_range
    else:  # the output is a.shape[:axis] + indices.shape + a.shape[axis + 1:]
        axis = axis % a.ndim
        free = out_of_range.reshape((1,) * axis + out_of_range.shape + (1,) * (a.ndim - axis - 1))
    return Partly(expected, free, "outside indices: undefined in MLX")


@reference("take_along_axis")
def take_along_axis(a, indices, axis=None):
    """np.take_along_axis; an outside index gives an unconstrained element (:class:`Partly`)."""
    flat = axis is None
    a = a.reshape(-1) if flat else a
    axis = 0 if flat else axis
    out_of_range = outside(indices, a.shape[axis])
    expected = np.take_along_axis(a, np.where(out_of_range, 0, indices), axis=axis)
    return Partly(expected, out_of_range, "outside indices: undefined in MLX") if out_of_range.any() else expected


def start_outside(shape, starts, axes, sizes) -> bool:
    """Whether a box of ``sizes`` at ``starts`` along ``axes`` leaves the array (or starts
    below 0: MLX's dynamic slices neither clamp nor wrap a start)."""
    return any(int(s) < 0 or int(s) + n > shape[axis] for s, axis, n in zip(np.ravel(starts), axes, sizes))


def unconstrained(shape, why: str) -> Partly:
    """A golden of ``shape`` with every element free."""
    return Partly(np.zeros(shape), np.ones(shape, bool), why)
