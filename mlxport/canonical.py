"""Canonical forms of results that are not unique: ties in argsort, the order inside a partition,
the signs of eigen- and singular vectors. Both sides are mapped to the same form, then compared."""

from __future__ import annotations

from typing import Callable

import numpy as np

# name -> fn(actual, expected, inputs, params) -> (actual, expected, exact)
FORMS: dict[str, Callable] = {}


def form(name: str):
    def register(fn):
        FORMS[name] = fn
        return fn

    return register


def apply(name, actual, expected, inputs, params):
    """Both sides in canonical form, and whether they must now be equal bit for bit (values
    gathered from the same input are)."""
    return FORMS[name](list(actual), list(expected), inputs, params)


def _axis(params, default=-1):
    return params.get("axis", default)


def _gather(x: np.ndarray, indices: np.ndarray, axis) -> np.ndarray:
    if axis is None:
        return x.reshape(-1)[indices.astype(np.int64)]
    return np.take_along_axis(x, indices.astype(np.int64), axis=axis)


@form("gathered")
def _gathered(actual, expected, inputs, params):
    """argsort: the input values the indices pick, which ties cannot change."""
    x, axis = inputs[0], _axis(params)
    return [_gather(x, actual[0], axis)], [_gather(x, expected[0], axis)], True


def _sortable(x: np.ndarray) -> np.ndarray:
    """float16 and bfloat16 as float32, which holds them exactly: numpy's AVX-512 float16 sort
    and ml_dtypes' bfloat16 sort both misplace values (infinities, NaN) here."""
    return x.astype(np.float32) if x.dtype.itemsize == 2 and x.dtype.kind not in "biuc" else x


def _sides(r: np.ndarray, axis, kth: int) -> np.ndarray:
    """The kth element in place, and each side of it sorted: a partition's canonical form."""
    r = _sortable(r.reshape(-1) if axis is None else np.moveaxis(r, axis, -1))
    return np.concatenate([np.sort(r[..., :kth], -1), r[..., kth:kth + 1], np.sort(r[..., kth + 1:], -1)], -1)


@form("partition")
def _partition(actual, expected, inputs, params):
    """partition: the kth element, and each side sorted."""
    axis, kth = _axis(params), params["kth"]
    want = expected[0].astype(actual[0].dtype)
    return [_sides(actual[0], axis, kth)], [_sides(want, axis, kth)], True


@form("argpartition")
def _argpartition(actual, expected, inputs, params):
    """argpartition: the values the indices pick, in partition form."""
    x, axis = inputs[0], _axis(params)
    picked = [_gather(x, actual[0], axis)], [_gather(x, expected[0], axis)]
    return _partition(*picked, inputs, params)


@form("sorted")
def _sorted(actual, expected, inputs, params):
    """topk: the k largest, in any order."""
    axis = _axis(params)
    return [np.sort(_sortable(actual[0]), axis)], [np.sort(_sortable(expected[0].astype(actual[0].dtype)), axis)], True


def _sign_fix(columns: np.ndarray) -> np.ndarray:
    """+1 or -1 per column, so that the largest-magnitude entry of each column is positive."""
    pick = np.argmax(np.abs(columns), axis=-2)[..., None, :]
    return np.sign(np.take_along_axis(columns, pick, axis=-2)).real + (
        np.take_along_axis(columns, pick, axis=-2) == 0)


@form("eig")
def _eig(actual, expected, inputs, params):
    """eigh: eigenvectors up to sign."""
    def fix(w, v):
        return w, v * _sign_fix(v)

    return list(fix(*actual)), list(fix(*expected)), False


@form("qr")
def _qr(actual, expected, inputs, params):
    """qr: Q and R up to the signs of R's diagonal."""
    def fix(q, r):
        d = np.sign(np.diagonal(r, axis1=-2, axis2=-1)) + (np.diagonal(r, axis1=-2, axis2=-1) == 0)
        return q * d[..., None, :], r * d[..., :, None]

    return list(fix(*actual)), list(fix(*expected)), False


@form("svd")
def _svd(actual, expected, inputs, params):
    """svd: each pair of singular vectors up to a common sign."""
    def fix(u, s, vt):
        d = _sign_fix(u)
        return u * d, s, vt * np.swapaxes(d, -1, -2)

    if len(actual) == 1:  # compute_uv=False: the singular values are unique
        return actual, expected, False
    return list(fix(*actual)), list(fix(*expected)), False


def _nearest_order(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """For each row, the indices of ``actual`` that put it in ``expected``'s order: each golden
    value, largest first, takes the nearest actual value not yet taken."""
    flat_a, flat_e = actual.reshape(-1, actual.shape[-1]), expected.reshape(-1, expected.shape[-1])
    order = np.zeros(flat_a.shape, dtype=np.int64)
    for row, (a, e) in enumerate(zip(flat_a, flat_e)):
        free = np.ones(len(a), dtype=bool)
        for i in np.argsort(-np.abs(e), kind="stable"):
            distance = np.where(free, np.abs(np.nan_to_num(a - e[i], nan=np.inf)), np.inf)
            order[row, i] = j = int(np.argmin(distance))
            free[j] = False
    return order.reshape(actual.shape)


def _unit_phase(columns: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Each column divided by the phase of its entry at row ``pick``."""
    entry = np.take_along_axis(columns, pick, axis=-2)
    magnitude = np.abs(entry)
    return columns * np.where(magnitude > 0, np.conj(entry) / np.where(magnitude > 0, magnitude, 1), 1)


@form("general_eig")
def _general_eig(actual, expected, inputs, params):
    """eig of a general matrix: eigenvalues in the golden's order, and each eigenvector (a unit
    column, unique up to a complex phase) turned so that the entry where the golden's column is
    largest is real and positive, on both sides."""
    order = _nearest_order(actual[0], expected[0])
    actual[0] = np.take_along_axis(actual[0], order, axis=-1)
    if len(actual) == 2:
        actual[1] = np.take_along_axis(actual[1], order[..., None, :], axis=-1)
        pick = np.argmax(np.abs(expected[1]), axis=-2)[..., None, :]
        actual[1], expected[1] = _unit_phase(actual[1], pick), _unit_phase(expected[1], pick)
    return actual, expected, False
