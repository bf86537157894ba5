"""Critical values of the statistical tests of random ops, each for a false-alarm chance of at
most ``alpha`` (1e-6 per cell in the catalog, split evenly over the tests of the cell: the union
bound then keeps the whole cell's chance of a false alarm at or below 1e-6).

- Kolmogorov-Smirnov: ``sqrt(ln(2/alpha) / (2n))``. The Dvoretzky-Kiefer-Wolfowitz inequality
  with Massart's constant (Ann. Probab. 18, 1990) gives P(D_n > e) <= 2 exp(-2 n e^2) for every
  n and every continuous law, so this bound holds exactly, not only asymptotically. It is also
  the first term of Kolmogorov's limit law P(sqrt(n) D > x) = 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2),
  whose next term is below (alpha/2)^4 here: the bound gives away no power. For a law with
  atoms (rounded samples) the statistic can only shrink, so the bound stays valid.
- Chi-square: the exact 1 - alpha quantile of the chi-square law, from the regularized upper
  incomplete gamma function Q(df/2, x/2) (series and continued fraction, Numerical Recipes
  6.2) solved by bisection. The Wilson-Hilferty approximation used before is off by 15% at
  df = 1 and alpha = 1e-6. The Pearson statistic follows this law as the counts grow; the
  catalog keeps every expected count above 100 (the least is 131, randint's wide case), where
  the approximation is close.
- Binomial counts: Hoeffding's inequality, P(|k - np| >= t) <= 2 exp(-2 t^2 / n), exact for
  every n and p: t = sqrt(n ln(2/alpha) / 2).
- A standard normal statistic (two-sided): the quantile z with 2 Q(z) = alpha, from math.erfc.
"""

from __future__ import annotations

import math

ALPHA = 1e-6  # the chance of a false alarm, per cell


def ks_critical(n: int, alpha: float = ALPHA) -> float:
    """The largest Kolmogorov-Smirnov distance that ``n`` samples of the right law exceed with
    chance at most ``alpha``: ``ks_critical(1, 0.05)`` is 1.358, the asymptotic table value."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


def kolmogorov_tail(x: float, terms: int = 100) -> float:
    """P(sqrt(n) D_n > x) in the limit of large n (Kolmogorov's series)."""
    return 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, terms + 1))


def hoeffding_critical(n: int, alpha: float = ALPHA) -> float:
    """The deviation ``t`` of a count of ``n`` Bernoulli trials from n p exceeded with chance at
    most ``alpha``, whatever p is."""
    return math.sqrt(n * math.log(2 / alpha) / 2)


def normal_critical(alpha: float = ALPHA) -> float:
    """The two-sided standard normal quantile: P(|Z| > z) = alpha (4.892 for 1e-6)."""
    return _bisect(lambda z: alpha - math.erfc(z / math.sqrt(2)), 0.0, 40.0)


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X chi-square with ``df`` degrees of freedom."""
    return _gamma_q(df / 2, x / 2) if x > 0 else 1.0


def chi2_critical(df: int, alpha: float = ALPHA) -> float:
    """The exact 1 - ``alpha`` quantile of chi-square with ``df`` degrees of freedom."""
    high = df + 10 * math.sqrt(2 * df) + 100  # the tail is far below 1e-6 there
    while chi2_sf(high, df) > alpha:
        high *= 2
    return _bisect(lambda x: alpha - chi2_sf(x, df), 0.0, high)


def _bisect(f, low: float, high: float) -> float:
    """The root of an increasing ``f`` between ``low`` and ``high``, to double precision."""
    for _ in range(200):
        mid = (low + high) / 2
        if f(mid) > 0:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def _gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the series of P converges fast
        term = total = 1 / a
        for n in range(1, 10_000):
            term *= x / (a + n)
            total += term
            if term < total * 1e-17:
                break
        return 1 - total * math.exp(log_prefix)
    # Lentz's continued fraction for Q.
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h * math.exp(log_prefix)
