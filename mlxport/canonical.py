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


@form("partition")
def _partition(actual, expected, inputs, params):
    """partition / argpartition: the kth element, and each side sorted."""
    x, axis, kth = inputs[0], _axis(params), params["kth"]
    if np.issubdtype(actual[0].dtype, np.integer) and not np.issubdtype(x.dtype, np.integer):
        actual, expected = [_gather(x, actual[0], axis)], [_gather(x, expected[0], axis)]
    else:
        actual, expected = [actual[0]], [expected[0].astype(x.dtype)]

    def sides(r):
        r = np.moveaxis(r.reshape(-1) if axis is None else r, -1 if axis is None else axis, -1)
        return np.concatenate([np.sort(r[..., :kth], -1), r[..., kth:kth + 1], np.sort(r[..., kth + 1:], -1)], -1)

    return [sides(actual[0])], [sides(expected[0])], True


@form("sorted")
def _sorted(actual, expected, inputs, params):
    """topk: the k largest, in any order."""
    axis = _axis(params)
    return [np.sort(actual[0], axis)], [np.sort(expected[0].astype(actual[0].dtype), axis)], True


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
