"""random references. numpy has no threefry, so the golden of a random op is the law the samples
must follow: a :class:`Distribution`, tested statistically at a fixed, very small false-alarm
rate. The key is an input (a uint32 array of shape (2,)), so every run draws the same samples.

False alarms: a cell's checks share ALPHA = 1e-6 evenly (``Distribution.test``), and each check
uses a critical value that holds for its share; ``stats`` derives each one.
Power: with n = 2^20 samples the Kolmogorov-Smirnov bound at alpha = 1e-6 is 0.0026, so a
normal with a 2% error in its mean (KS distance 0.008) or its scale (0.0046) fails.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import real, reference
from .stats import ALPHA, chi2_critical, hoeffding_critical, ks_critical, normal_critical


class Distribution:
    """A golden that is a law: ``shape`` (and ``dtype``) for the layout check, and
    ``test(sample)``, None when the sample is plausible, else a one-line message. Each check is
    ``check(sample, alpha)`` and may raise a false alarm with chance at most ``alpha``."""

    def __init__(self, shape, checks: list[Callable[[np.ndarray, float], str | None]], dtype=None):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dtype
        self.checks = checks

    def test(self, actual: np.ndarray, alpha: float = ALPHA) -> str | None:
        """The first failed check; the statistical checks share ``alpha`` evenly (a union
        bound); an exact check (a range) cannot raise a false alarm and takes no share."""
        share = alpha / max(1, sum(not getattr(c, "exact", False) for c in self.checks))
        for check in self.checks:
            message = check(actual, share)
            if message:
                return message
        return None


def _wide(x: np.ndarray) -> np.ndarray:
    return x.astype(np.complex128) if np.iscomplexobj(x) else x.astype(np.float64)


def ks_statistic(sample: np.ndarray, cdf: Callable) -> float:
    """The Kolmogorov-Smirnov distance between ``sample`` and a continuous ``cdf``, allowing for
    the rounding of each sample to its dtype: at each distinct value v the empirical P(X <= v)
    may lie anywhere in [cdf(v-), cdf(v+)], v- and v+ the representable neighbours of v (a
    faithful rounding of an exact sample). For float32 and wider this is the usual statistic;
    for float16 and bfloat16 it allows the width of their grid, and no more."""
    values, counts = np.unique(sample.reshape(-1), return_counts=True)
    ecdf = np.cumsum(counts) / counts.sum()
    up, down = (np.nextafter(values, np.array(v, dtype=values.dtype)) for v in (np.inf, -np.inf))
    below, above = cdf(down.astype(np.float64)), cdf(up.astype(np.float64))
    return float(max(np.max(ecdf - above, initial=0.0), np.max(below - ecdf, initial=0.0)))


def ks_check(cdf: Callable, what: str, part=lambda x: x):
    """A check that the sample (or ``part`` of it) follows ``cdf``."""

    def check(actual, alpha):
        sample = part(actual)
        if sample.size == 0:
            return None
        if not np.all(np.isfinite(sample)):
            return f"{what}: {int(np.sum(~np.isfinite(sample)))} non-finite samples"
        bound = ks_critical(sample.size, alpha)
        d = ks_statistic(sample, cdf)
        if d > bound:
            return f"{what}: KS statistic {d:.4g} > {bound:.4g} (n={sample.size}, alpha {alpha:.2g})"
        return None

    return check


def range_check(low, high, what: str, closed: bool = True):
    """Every sample in [low, high] (or [low, high) when not ``closed``)."""

    def check(actual, alpha=None):  # deterministic: no false alarm
        x = _wide(actual)
        bad = (x < low) | ((x > high) if closed else (x >= high))
        if bad.any():
            side = "]" if closed else ")"
            return f"{what}: {int(bad.sum())} samples outside [{low:g}, {high:g}{side}, e.g. {x[bad].reshape(-1)[0]!r}"
        return None

    check.exact = True
    return check


def chi2_check(expected_p: np.ndarray, what: str):
    """Counts of the integer outcomes 0..K-1 in each row against probabilities ``expected_p``
    (rows x K), pooled into one chi-square statistic."""

    def check(actual, alpha):
        rows = actual.reshape(expected_p.shape[0], -1).astype(np.int64)
        k = expected_p.shape[1]
        if rows.min(initial=0) < 0 or rows.max(initial=0) >= k:
            return f"{what}: outcomes outside [0, {k})"
        counts = np.stack([np.bincount(r, minlength=k) for r in rows])
        want = expected_p * rows.shape[1]
        stat = float(np.sum((counts - want) ** 2 / want))
        df = expected_p.shape[0] * (k - 1)
        bound = chi2_critical(df, alpha)
        if stat > bound:
            return f"{what}: chi-square {stat:.4g} > {bound:.4g} (df {df}, alpha {alpha:.2g})"
        return None

    return check


_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """erf within 1.5e-7 (Abramowitz and Stegun 7.1.26): far below any KS bound used here."""
    x = np.asarray(x, dtype=np.float64)
    t = 1 / (1 + _P * np.abs(x))
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    return np.sign(x) * (1 - poly * np.exp(-x * x))


def normal_cdf(x, loc=0.0, scale=1.0):
    return 0.5 * (1 + erf((np.asarray(x, dtype=np.float64) - loc) / (scale * math.sqrt(2))))


def _shape(shape) -> tuple:
    return () if shape is None else tuple(shape)


@reference("random.normal")
def normal(shape=(), dtype=None, loc=None, scale=None, key=None):
    """N(loc, scale^2); complex64: real and imaginary parts each N(loc, scale^2 / 2)."""
    loc, scale = 0.0 if loc is None else loc, 1.0 if scale is None else scale
    if dtype is not None and np.dtype(dtype).kind == "c":
        part = scale / math.sqrt(2)
        return Distribution(_shape(shape), [
            ks_check(lambda x: normal_cdf(x, np.real(loc), part), "real part", np.real),
            ks_check(lambda x: normal_cdf(x, np.imag(loc), part), "imaginary part", np.imag)])
    return Distribution(_shape(shape), [ks_check(lambda x: normal_cdf(x, loc, scale), f"normal({loc:g}, {scale:g})")])


@reference("random.uniform")
def uniform(low=0.0, high=1.0, shape=(), dtype=None, key=None):
    """U[low, high)."""
    cdf = lambda x: np.clip((x - low) / (high - low), 0.0, 1.0)  # noqa: E731
    what = f"uniform[{low:g}, {high:g})"
    return Distribution(_shape(shape), [range_check(low, high, what, closed=False), ks_check(cdf, what)])


@reference("random.multivariate_normal")
def multivariate_normal(mean, cov, shape=(), dtype=None, key=None):
    """N(mean, cov): whitened by the Cholesky factor of cov, every component must be N(0, 1),
    which a wrong mean, variance or correlation breaks."""
    # MLX 0.32.4 takes a complex mean and cov, but its samples are meaningless: the imaginary
    # part of every sample is the mean's, unscattered (measured); no golden describes that.
    why = "MLX accepts it, but every sample's imaginary part is the mean's: no distribution"
    mean, cov = real(mean, "random.multivariate_normal", why=why), real(cov, "random.multivariate_normal", why=why)
    n = mean.shape[-1]
    lower = np.linalg.cholesky(cov)

    def whitened(i):
        return lambda x: np.linalg.solve(lower, (_wide(x).reshape(-1, n) - mean).T)[i]

    checks = [ks_check(normal_cdf, f"whitened component {i}", whitened(i)) for i in range(n)]
    return Distribution(_shape(shape) + (n,), checks)


@reference("random.truncated_normal")
def truncated_normal(lower, upper, shape=None, dtype=None, key=None):
    """N(0, 1) conditioned on [lower, upper] (MLX clips to the bounds, so they are included)."""
    lo, hi = normal_cdf(lower), normal_cdf(upper)
    what = f"truncated_normal[{lower:g}, {upper:g}]"
    cdf = lambda x: np.clip((normal_cdf(x) - lo) / (hi - lo), 0.0, 1.0)  # noqa: E731
    return Distribution(_shape(shape), [range_check(lower, upper, what), ks_check(cdf, what)])


@reference("random.gumbel")
def gumbel(shape=(), dtype=None, key=None):
    """The standard Gumbel law, CDF exp(-exp(-x))."""
    return Distribution(_shape(shape), [ks_check(lambda x: np.exp(-np.exp(-x)), "gumbel")])


@reference("random.laplace")
def laplace(shape=(), dtype=None, loc=0.0, scale=1.0, key=None):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale)."""

    def cdf(x):
        z = (x - loc) / scale
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))

    return Distribution(_shape(shape), [ks_check(cdf, f"laplace({loc:g}, {scale:g})")])


@reference("random.bernoulli")
def bernoulli(p=0.5, shape=None, key=None):
    """True with probability p: the count of True within Hoeffding's bound of n p."""

    def check(actual, alpha):
        n = actual.size
        k = int(np.count_nonzero(actual))
        t = hoeffding_critical(n, alpha)
        if abs(k - n * p) > t + 1e-9:
            return f"bernoulli({p:g}): {k} of {n} True, expected {n * p:.1f} +- {t:.1f} (alpha {alpha:.2g})"
        return None

    return Distribution(np.shape(p) if shape is None else _shape(shape), [check])


@reference("random.randint")
def randint(low, high, shape=(), dtype=None, key=None):
    """Integers uniform in [low, high): all in range, and a chi-square test of uniformity."""
    k = int(high) - int(low)
    p = np.full((1, k), 1 / k)
    shifted = chi2_check(p, f"randint[{low}, {high})")
    return Distribution(_shape(shape), [
        range_check(low, high - 1, f"randint[{low}, {high})"),
        lambda actual, alpha: shifted(actual.astype(np.int64) - int(low), alpha)])


def _softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@reference("random.categorical")
def categorical(logits, axis=-1, shape=None, num_samples=None, key=None):
    """Indices drawn from softmax(logits) along ``axis``, ``num_samples`` per distribution."""
    # MLX 0.32.4 takes complex logits, but draws by neither softmax of the real part nor of the
    # modulus (logits [0, 9j, 5, -9j]: 11, 0, 19989, 0 of 20000 draws; the real part wants ~132
    # for each of the others): no golden describes that.
    why = "MLX accepts them, but its draws follow no softmax of the logits"
    probs = np.moveaxis(_softmax(real(logits, "random.categorical", why=why), axis), axis, -1)
    batch = probs.shape[:-1]
    out_shape = batch + (num_samples,) if num_samples is not None else _shape(shape) or batch
    per_row = int(np.prod(out_shape)) // max(int(np.prod(batch)), 1)
    table = probs.reshape(-1, probs.shape[-1])
    check = chi2_check(table, "categorical")
    if num_samples is None:  # samples broadcast over the batch; put each distribution in a row
        return Distribution(out_shape, [lambda a, alpha: check(a.reshape(-1, int(np.prod(batch))).T, alpha)])
    return Distribution(out_shape, [lambda a, alpha: check(a.reshape(-1, per_row), alpha)])


def _permutation_checks(n: int, order: Callable[[np.ndarray], np.ndarray]):
    """``order(actual)`` must be a permutation of 0..n-1 that looks random: fewer than 12 fixed
    points (for a uniform permutation P(>= k) <= 1/k!, the union bound over k-sets: 2e-9) and no
    rank correlation with the identity, |rho| <= z/sqrt(n-1) with z two-sided at alpha (rho is
    asymptotically normal with variance 1/(n-1) under uniform permutations: approximate)."""

    def check(actual, alpha):
        perm = order(actual)
        if perm is None or not np.array_equal(np.sort(perm), np.arange(n)):
            return f"permutation: not a permutation of {n} items"
        fixed = int(np.sum(perm == np.arange(n)))
        if fixed >= 12:
            return f"permutation: {fixed} fixed points (expected about 1)"
        if n > 2:
            rho = float(np.corrcoef(perm, np.arange(n))[0, 1])
            bound = normal_critical(alpha - 1 / math.factorial(12)) / math.sqrt(n - 1)  # the rest of alpha
            if abs(rho) > bound:
                return f"permutation: rank correlation {rho:.3g} with the identity > {bound:.3g}"
        return None

    return check


@reference("random.permutation")
def permutation(x, axis=0, key=None):
    """A uniformly random permutation of arange(x), or of ``x``'s entries along ``axis``."""
    if np.ndim(x) == 0:
        n = int(x)
        return Distribution((n,), [_permutation_checks(n, lambda a: a.astype(np.int64))])
    rows = np.moveaxis(np.asarray(x), axis, 0).reshape(np.shape(x)[axis], -1)

    def order(actual):
        """Where each output row came from, matching rows exactly (inputs have unique rows)."""
        got = np.moveaxis(actual, axis, 0).reshape(rows.shape)
        index = {r.tobytes(): i for i, r in enumerate(rows.astype(actual.dtype))}
        found = [index.get(r.tobytes()) for r in got]
        return None if None in found else np.array(found)

    return Distribution(np.shape(x), [_permutation_checks(rows.shape[0], order)])
