"""References for elementwise math, reductions and scans that numpy lacks or names differently.

Three habits of numpy need correcting before it can be MLX's golden:

- MLX computes a float function of an integer array on the array cast to float32, so that is
  the input its golden sees (the widened int64 would let sin(2**31 + 1) differ from MLX's
  sin(float32(2**31 + 1)) by its whole range).
- numpy computes float functions of bool arrays in float16 (``np.exp(True)`` is 2.719), where
  MLX computes them in float32. Bools are widened to float64 first.
- numpy takes several axes only as a tuple; the case files, being YAML, give a list.
"""

from __future__ import annotations

import math

import numpy as np

from . import reference

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _float(a):
    """``a`` with bools as float64, so numpy does not compute in float16; other dtypes as given."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype == np.bool_ else a


def _inexact(a):
    """The input of a float op as MLX sees it: integers and bools cast to float32, in float64."""
    a = np.asarray(a)
    return a.astype(np.float32).astype(np.float64) if a.dtype.kind in "biu" else a


def _axis(axis):
    """A YAML list of axes as the tuple numpy wants."""
    return tuple(axis) if isinstance(axis, list) else axis


def _inexact_reference(name, fn):
    @reference(name)
    def wrapped(*arrays, **params):
        return fn(*map(_inexact, arrays), **params)

    return wrapped


# numpy's own float functions, on their inputs as MLX casts them.
for _name in ("sqrt exp expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan sinh cosh "
              "tanh arcsinh arccosh arctanh divide arctan2").split():
    _inexact_reference(_name, getattr(np, _name))


def _angle_reference(name, scale):
    """numpy has no complex degrees or radians; MLX multiplies by the constant either way."""
    @reference(name)
    def convert(a):
        return _inexact(a) * scale

    return convert


_angle_reference("degrees", 180 / np.pi)
_angle_reference("radians", np.pi / 180)


@reference("isclose")
def isclose(a, b, **params):
    """np.isclose, with bools as numbers (numpy cannot subtract bools)."""
    return np.isclose(_float(a), _float(b), **params)


def _reduction_reference(name, fn):
    @reference(name)
    def reduce(a, axis=None, **params):
        return fn(a, axis=_axis(axis), **params)

    return reduce


def _moment(a, axis=None, keepdims=False, ddof=None):
    """The mean (``ddof`` None) or the variance of an integer array, exact and rounded once.

    numpy converts to float64 and sums there, and near +-2^63 each addition rounds at 2^11, so the
    result depends on the order of summation: for one column of int64 specials the float64 mean
    was 1.42 where the exact one is 68.06. Python ints sum exactly, and int / int rounds once.
    None where the answer is not a finite quotient (nothing to average, n - ddof <= 0)."""
    wide = np.asarray(a).astype(object)
    s1 = np.asarray(np.sum(wide, axis=axis, keepdims=keepdims), dtype=object)
    n = wide.size // s1.size if s1.size else 0
    if n == 0 or (ddof is not None and n - ddof <= 0):
        return None
    if ddof is None:
        exact = s1
        scale = n
    else:  # sum((x - s1/n)^2) = (n * s2 - s1^2) / n
        s2 = np.asarray(np.sum(wide * wide, axis=axis, keepdims=keepdims), dtype=object)
        exact = n * s2 - s1 * s1
        scale = n * (n - ddof)
    return np.vectorize(lambda v: v / scale, otypes=[np.float64])(exact)


def _mean_or_var(fallback, ddof: bool, root: bool = False):
    """mean, var or std: exact for integer inputs (``_moment``), numpy's float64 otherwise."""
    def compute(a, axis=None, keepdims=False, **k):
        a = np.asarray(a)
        exact = _moment(a, axis, keepdims, k.get("ddof", 0) if ddof else None) \
            if a.dtype.kind in "iu" else None
        if exact is None:
            return fallback(_float(a), axis=axis, keepdims=keepdims, **k)
        return np.sqrt(exact) if root else exact

    return compute


# numpy's reductions, taking the axes of a YAML list.
for _name, _fn in [("sum", np.sum), ("prod", np.prod), ("max", np.max), ("min", np.min),
                   ("all", np.all), ("any", np.any), ("count_nonzero", np.count_nonzero),
                   ("mean", _mean_or_var(np.mean, ddof=False)),
                   ("median", lambda a, **k: np.median(_float(a), **k)),
                   ("var", _mean_or_var(np.var, ddof=True)),
                   ("std", _mean_or_var(np.std, ddof=True, root=True))]:
    _reduction_reference(_name, _fn)


@reference("erf")
def erf(a):
    return _erf(_inexact(a))


@reference("erfinv")
def erfinv(a):
    """The x with erf(x) = a: ±inf at ±1, NaN outside [-1, 1].

    Near 0, Newton's method on erf (its slope is near 2/sqrt(pi) there). Nearer ±1, where erf
    is flat and Newton overshoots, bisection on erfc(|x|) = 1 - |a|, which is exact in float64
    for the float inputs MLX has.
    """
    a = _inexact(a)
    y = np.abs(a)
    inner = np.where(y < 0.5, y, 0.0)
    x = inner * np.sqrt(np.pi) / 2
    for _ in range(8):
        x = x - (_erf(x) - inner) / (2 / np.sqrt(np.pi) * np.exp(-x * x))
    tail = np.where((y >= 0.5) & (y < 1), 1 - y, 0.5)
    lo, hi = np.zeros_like(tail), np.full_like(tail, 27.0)  # erfc(27) underflows float64
    for _ in range(80):
        mid = (lo + hi) / 2
        above = _erfc(mid) > tail
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    x = np.where(y < 0.5, x, (lo + hi) / 2)
    x = np.where(y == 1, np.inf, np.where((y > 1) | np.isnan(y), np.nan, x))
    return np.copysign(x, a)


@reference("sigmoid")
def sigmoid(a):
    """1 / (1 + e^-x), written so that neither side overflows."""
    a = _inexact(a)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


@reference("rsqrt")
def rsqrt(a):
    return 1 / np.sqrt(_inexact(a))


@reference("reciprocal")
def reciprocal(a):
    return 1 / _inexact(a)


@reference("sign")
def sign(a):
    """numpy has no sign of bools; MLX's is the identity, as sign(0) = 0 and sign(1) = 1."""
    return a if a.dtype == np.bool_ else np.sign(a)


@reference("subtract")
def subtract(a, b):
    """numpy refuses to subtract bools; in MLX (C++) a - b of bools is nonzero where they differ."""
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        return a != b
    return np.subtract(a, b)


@reference("stop_gradient")
def stop_gradient(a):
    """The identity on values: it only cuts the graph for transforms."""
    return a


@reference("logaddexp")
def logaddexp(a, b):
    """log(e^a + e^b). numpy has no complex loop: there it is max + log1p(e^(min - max)), the
    max taken by real part as MLX orders complex numbers, which keeps the imaginary part
    continuous instead of folding it into (-pi, pi]."""
    a, b = _inexact(a), _inexact(b)
    if not (np.iscomplexobj(a) or np.iscomplexobj(b)):
        return np.logaddexp(a, b)
    a, b = np.broadcast_arrays(a.astype(np.complex128), b.astype(np.complex128))
    first = (a.real > b.real) | ((a.real == b.real) & (a.imag >= b.imag))
    hi, lo = np.where(first, a, b), np.where(first, b, a)
    return np.where(np.isinf(lo.real) & (lo.real < 0), hi, hi + np.log1p(np.exp(lo - hi)))


@reference("logsumexp")
def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) with the max shifted out; -inf rows, and empty ones, are -inf."""
    a, axis = _inexact(a), _axis(axis)
    m = np.max(a, axis=axis, keepdims=True, **({"initial": -np.inf} if a.size == 0 else {}))
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@reference("softmax")
def softmax(a, axis=None, precise=False):
    """exp(a - max) / sum(exp(a - max)) along ``axis`` (all axes when None)."""
    a, axis = _inexact(a), _axis(axis)
    e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))  # initial: an empty axis
    return e / np.sum(e, axis=axis, keepdims=True)


def _scan(accumulate, a, axis, reverse, inclusive, identity):
    """An inclusive or exclusive scan, forwards or backwards, like MLX's Scan primitive."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    if reverse:
        a = np.flip(a, axis)
    out = accumulate(a, axis)
    if not inclusive and out.shape[axis]:
        pad = np.full_like(np.take(out, [0], axis=axis), identity)
        out = np.concatenate([pad, np.delete(out, -1, axis=axis)], axis=axis)
    return np.flip(out, axis) if reverse else out


def _scan_reference(name, accumulate, identity, widen=lambda a: a):
    @reference(name)
    def scan(a, axis=None, reverse=False, inclusive=True, dtype=None):
        a = widen(a)
        return _scan(accumulate, a, axis, reverse, inclusive, identity(a.dtype))

    return scan


def _lowest(dtype):
    """The identity of max: where an exclusive cummax starts. Complex numbers are ordered by
    real part, then imaginary part, so the lowest one is -inf - inf j."""
    if dtype == np.bool_:
        return False
    return {"f": -np.inf, "c": complex(-np.inf, -np.inf)}.get(dtype.kind) or np.iinfo(dtype).min


def _highest(dtype):
    """The identity of min: where an exclusive cummin starts."""
    if dtype == np.bool_:
        return True
    return {"f": np.inf, "c": complex(np.inf, np.inf)}.get(dtype.kind) or np.iinfo(dtype).max


def _logaddexp_accumulate(a, axis):
    """np.logaddexp.accumulate, with a loop for complex, which numpy has no logaddexp of."""
    if not np.iscomplexobj(a):
        return np.logaddexp.accumulate(a, axis=axis)
    out = np.moveaxis(a.astype(np.complex128), axis, 0).copy()
    for i in range(1, out.shape[0]):
        out[i] = logaddexp(out[i - 1], out[i])
    return np.moveaxis(out, 0, axis)


def _widen_bools(a):
    return a.astype(np.int64) if a.dtype == np.bool_ else a


_scan_reference("cumsum", lambda a, axis: np.cumsum(a, axis=axis), lambda d: 0, _widen_bools)
_scan_reference("cumprod", np.multiply.accumulate, lambda d: 1)
_scan_reference("cummax", np.maximum.accumulate, _lowest)
_scan_reference("cummin", np.minimum.accumulate, _highest)
_scan_reference("logcumsumexp", _logaddexp_accumulate, lambda d: -np.inf, _inexact)


@reference("bitwise_invert")
def bitwise_invert(a):
    return np.invert(a)


@reference("divmod")
def divmod_(a, b):
    return np.floor_divide(a, b), np.remainder(a, b)
