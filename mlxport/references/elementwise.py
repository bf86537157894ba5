"""References for elementwise math, reductions and scans that numpy lacks or names differently."""

from __future__ import annotations

import math

import numpy as np

from . import reference

_erf = np.vectorize(math.erf, otypes=[np.float64])


@reference("erf")
def erf(a):
    return _erf(a)


@reference("erfinv")
def erfinv(a):
    """Newton's method on erf, from a closed-form first guess; exact at ±1 and outside."""
    a = np.asarray(a, dtype=np.float64)
    inside = np.abs(a) < 1
    y = np.where(inside, a, 0.0)
    # Giles' single-precision approximation as the start; Newton makes it exact in float64.
    w = -np.log((1.0 - y) * (1.0 + y))
    x = y * np.where(w < 5, 1.5 + 0.25 * (w - 2.5), 3.0 + 0.3 * (np.sqrt(np.maximum(w, 5)) - 3))
    for _ in range(60):
        step = (_erf(x) - y) / (2 / np.sqrt(np.pi) * np.exp(-x * x))
        x = x - np.where(np.isfinite(step), step, 0.0)
    edge = np.where(np.abs(a) == 1, np.sign(a) * np.inf, np.nan)
    return np.where(inside, x, edge)


@reference("sigmoid")
def sigmoid(a):
    """1 / (1 + e^-x), written so that neither side overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


@reference("rsqrt")
def rsqrt(a):
    return 1 / np.sqrt(a)


@reference("reciprocal")
def reciprocal(a):
    return 1 / a


@reference("logsumexp")
def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) with the max shifted out; -inf rows stay -inf."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@reference("softmax")
def softmax(a, axis=None, precise=False):
    """exp(a - max) / sum(exp(a - max)) along ``axis`` (all axes when None)."""
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _scan(ufunc, a, axis, reverse, inclusive, identity):
    """An inclusive or exclusive scan, forwards or backwards, like MLX's Scan primitive."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    if reverse:
        a = np.flip(a, axis)
    out = ufunc.accumulate(a, axis=axis)
    if not inclusive:
        pad = np.full_like(np.take(out, [0], axis=axis), identity)
        out = np.concatenate([pad, np.delete(out, -1, axis=axis)], axis=axis)
    return np.flip(out, axis) if reverse else out


def _scan_reference(name, ufunc, identity):
    @reference(name)
    def scan(a, axis=None, reverse=False, inclusive=True, dtype=None):
        return _scan(ufunc, a, axis, reverse, inclusive, identity)

    return scan


_scan_reference("cumsum", np.add, 0)
_scan_reference("cumprod", np.multiply, 1)
_scan_reference("cummax", np.maximum, -np.inf)
_scan_reference("cummin", np.minimum, np.inf)
_scan_reference("logcumsumexp", np.logaddexp, -np.inf)


@reference("var")
def var(a, axis=None, keepdims=False, ddof=0):
    return np.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


@reference("std")
def std(a, axis=None, keepdims=False, ddof=0):
    return np.std(a, axis=axis, keepdims=keepdims, ddof=ddof)


@reference("bitwise_invert")
def bitwise_invert(a):
    return np.invert(a)


@reference("divmod")
def divmod_(a, b):
    return np.floor_divide(a, b), np.remainder(a, b)
