"""References for sort, indexing, shape and creation ops whose numpy equivalent is missing or
differs.

Each one takes MLX's parameter names and the widened inputs (float64, complex128, int64, bool),
except the raw ones (arange, view), which get the output dtype itself.
"""

from __future__ import annotations

import numpy as np

from . import bounds, reference


@reference("topk")
def topk(a, k, axis=-1):
    """The ``k`` largest along ``axis`` (flattened when None), NaN counting as the largest like
    MLX and np.sort. Order within them is unspecified: compare with ``canonical: sorted``."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    return np.moveaxis(np.moveaxis(np.sort(a, axis=axis), axis, -1)[..., a.shape[axis] - k:], -1, axis)


@reference("put_along_axis")
def put_along_axis(a, indices, values, axis=None):
    """np.put_along_axis on a copy; MLX returns a new array instead of writing in place."""
    out = a.copy()
    if axis is None:  # numpy flattens a view; write through a flat copy instead
        flat = out.reshape(-1)
        np.put_along_axis(flat, indices.reshape(-1), np.broadcast_to(values, indices.shape).reshape(-1), 0)
        return flat.reshape(a.shape)
    np.put_along_axis(out, indices, values, axis)
    return out


def _scatter(ufunc, transform=None):
    """``a.at[indices].<op>(values)``: an unbuffered ``ufunc.at`` on a copy of ``a`` along axis 0,
    so repeated indices combine (add, multiply, max, min) instead of the last one winning."""

    def scatter(a, indices, values):
        out = a.copy()
        update = values if transform is None else transform(values)
        # MLX casts the update to a's dtype before combining (scatter of a.dtype).
        ufunc.at(out, indices, update.astype(out.dtype) if out.dtype.kind in "biu" else update)
        return out

    return scatter


def _negate(values):
    return np.logical_not(values) if values.dtype == bool else -values


def _reciprocal(values):
    """MLX divides by scattering a multiply by 1/values; for integers that reciprocal is cast to
    the integer dtype (0 unless |v| == 1)."""
    with np.errstate(divide="ignore"):
        return 1 / values


reference("at.add")(_scatter(np.add))
reference("at.subtract")(_scatter(np.add, _negate))
reference("at.multiply")(_scatter(np.multiply))
reference("at.divide")(_scatter(np.multiply, _reciprocal))
reference("at.maximum")(_scatter(np.maximum))
reference("at.minimum")(_scatter(np.minimum))


@reference("slice_update")
def slice_update(a, update, start_indices, axes):
    """``a`` with ``update`` written at ``start_indices`` along ``axes``; a start that puts the
    box outside is undefined in MLX (references/bounds.py): any values of ``a``'s shape."""
    if bounds.start_outside(a.shape, start_indices, axes, [update.shape[axis] for axis in axes]):
        return bounds.unconstrained(a.shape, "a start outside: undefined in MLX")
    out = a.copy()
    out[_window(a.ndim, start_indices, axes, [update.shape[axis] for axis in axes])] = update
    return out


@reference("setitem")
def setitem(a, index, values):
    """``a[index] = values`` on a copy of ``a``: a boolean mask fills its True places in row-major
    order. Values with one row per place of the mask (MLX's MaskedScatter, as torch's
    masked_scatter) fill the True places with their first rows, which numpy's assignment refuses."""
    out = a.copy()
    if getattr(index, "dtype", None) == np.bool_ and values.ndim == a.ndim - index.ndim + 1 and len(values) == index.size:
        values = values[: int(index.sum())]
    out[index] = values
    return out


@reference("getitem")
def getitem(a, index):
    """``a[index]``: numpy's indexing is MLX's for slices, integers and integer arrays, a
    negative index counting from the end."""
    return np.array(a[index])


@reference("flatten")
def flatten(a, start_axis=0, end_axis=-1):
    """Merge the axes ``start_axis..end_axis`` (inclusive) into one; a 0-d array becomes (1,)."""
    if a.ndim == 0:
        return a.reshape(1)
    start, end = start_axis % a.ndim, end_axis % a.ndim
    return a.reshape(a.shape[:start] + (-1,) + a.shape[end + 1:])


@reference("unflatten")
def unflatten(a, axis, shape):
    """Split ``axis`` into ``shape`` (one entry may be -1)."""
    axis = axis % a.ndim
    return a.reshape(a.shape[:axis] + tuple(shape) + a.shape[axis + 1:])


@reference("as_strided")
def as_strided(a, shape=None, strides=None, offset=0):
    """MLX's as_strided: strides in elements over the row-major copy of ``a``, from ``offset``."""
    flat = np.ascontiguousarray(a).reshape(-1)
    shape = a.shape if shape is None else tuple(shape)
    if strides is None:
        strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
    index = offset + sum(np.arange(n).reshape((-1,) + (1,) * (len(shape) - 1 - i)) * s
                         for i, (n, s) in enumerate(zip(shape, strides)))
    return flat[np.broadcast_to(index, shape)]


@reference("full")
def full(vals, shape, dtype=None):
    """``vals`` broadcast to ``shape``; MLX's ``vals`` may be an array."""
    out = np.broadcast_to(vals, tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))
    return out.astype(dtype) if dtype is not None else out.copy()


@reference("astype")
def astype(a, dtype):
    """A cast; complex to real keeps the real part (numpy warns), complex to bool tests both."""
    if np.iscomplexobj(a) and np.dtype(dtype).kind != "c":
        return (a != 0) if np.dtype(dtype) == bool else a.real.astype(dtype)
    return a.astype(dtype)


@reference("asarray")
def asarray(a, dtype=None, copy=None):
    """mx.asarray of an array: itself, or cast to ``dtype`` as astype casts."""
    return a.copy() if dtype is None else astype(a, dtype)


_WIDE = {"i": np.int64, "u": np.int64, "b": np.int64, "c": np.complex128}


@reference("arange", raw=True)
def arange(start, stop=None, step=None, dtype=None):
    """``ceil((stop - start) / step)`` values ``start + i * delta``, where the step taken is
    ``delta = dtype(start + step) - dtype(start)`` (numpy's convention, stated by MLX's
    docstring), computed wide and rounded once to ``dtype``. Raw, because ``delta`` depends on
    the output dtype; without one, MLX's default: float32 if an argument is a float, else int32,
    or int64 when one does not fit."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, stop, step))
        fits = all(-(2**31) <= v < 2**31 for v in (start, stop, step)) if ints else True
        dtype = np.dtype(np.float32 if not ints else np.int32 if fits else np.int64)
    wide = _WIDE.get(np.dtype(dtype).kind, np.float64)
    first = np.array(start).astype(dtype).astype(wide)
    delta = np.array(start + step).astype(dtype).astype(wide) - first
    count = max(int(np.ceil((stop - start) / step)), 0)
    return (first + np.arange(count).astype(wide) * delta).astype(dtype)


@reference("view", raw=True)
def view(a, dtype):
    """The bytes of ``a``'s elements, in logical row-major order, read as ``dtype``; a size
    change splits or joins the last axis. MLX views a non-contiguous array's logical elements,
    so it is made contiguous first (numpy would refuse a strided last axis)."""
    return np.array(a, order="C").view(dtype)


def _window(ndim: int, start_indices, axes, sizes) -> tuple:
    """The index of a box of ``sizes`` at ``start_indices`` along ``axes`` (in-bounds starts)."""
    window = [slice(None)] * ndim
    for start, axis, size in zip(np.ravel(start_indices), axes, sizes):
        window[axis] = slice(int(start), int(start) + size)
    return tuple(window)


@reference("slice")
def slice_(a, start_indices, axes, slice_size):
    """MLX's dynamic slice: the box of shape ``slice_size`` (every axis) that starts at
    ``start_indices`` (an array) on ``axes`` and at 0 on the others."""
    starts = np.zeros(a.ndim, dtype=np.int64)
    starts[list(axes)] = np.ravel(start_indices)
    if bounds.start_outside(a.shape, starts, range(a.ndim), slice_size):  # undefined in MLX
        return bounds.unconstrained(tuple(slice_size), "a start outside: undefined in MLX")
    return a[_window(a.ndim, starts, range(a.ndim), slice_size)]


@reference("contiguous")
def contiguous(a, allow_col_major=False):
    """The same values, in a row-contiguous copy."""
    return np.ascontiguousarray(a)


@reference("depends")
def depends(inputs, dependencies):
    """``inputs`` unchanged: the dependency only orders the graph."""
    return inputs


@reference("positive")
def positive(a):
    """A copy; numpy's positive refuses bool, MLX's returns it unchanged."""
    return a.copy()


@reference("trunc")
def trunc(a):
    """Rounding toward zero; integers and bools are already whole."""
    return a.copy() if a.dtype.kind in "biu" else np.trunc(a)


@reference("allclose")
def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    """A 0-d bool array, as MLX returns (numpy returns a Python bool)."""
    return np.array(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


@reference("array_equal")
def array_equal(a, b, equal_nan=False):
    """A 0-d bool array, as MLX returns (numpy returns a Python bool)."""
    return np.array(np.array_equal(a, b, equal_nan=equal_nan))


@reference("minmax")
def minmax(a, axis=None, keepdims=False):
    """``(min, max)`` over ``axis``, NaN propagating as in min and max."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.min(a, axis=axis, keepdims=keepdims), np.max(a, axis=axis, keepdims=keepdims)


@reference("unique")
def unique(a, size, return_index=False, return_inverse=False, return_counts=False, fill_value=None):
    """MLX's fixed-size unique: the ``size`` smallest sorted unique values of flattened ``a``
    (NaNs each distinct), padded with ``fill_value`` (default the first unique value), the
    padded index taking the first entry's, the padded counts 0, and ``inverse`` clamped to
    ``size - 1`` when the output is truncated."""
    values, index, inverse, counts = np.unique(a.reshape(-1), return_index=True, return_inverse=True,
                                               return_counts=True, equal_nan=False)
    n = len(values)

    def fit(x, pad):
        return np.concatenate([x[:size], np.full(max(size - n, 0), pad, dtype=x.dtype)])

    out = [fit(values, values[0] if fill_value is None and n else (fill_value or 0))]
    out += [fit(index, index[0] if n else 0)] if return_index else []
    out += [np.minimum(inverse, max(size - 1, 0)).reshape(a.shape)] if return_inverse else []
    out += [fit(counts, 0)] if return_counts else []
    return tuple(out) if len(out) > 1 else out[0]
