"""Mann-Whitney U: is one target's time really different from another's? Written out here so
that scipy is not a dependency; tests check it against exact enumeration of every arrangement.

    mann_whitney([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])  # -> (0.0, 0.1)  (U of the first, two-sided p)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

ALPHA = 0.002  # a difference is stated only with p below this ...
MARGIN = 0.10  # ... and a ratio outside +-10%
EXACT_MAX = 40  # n1 + n2 up to this, without ties: the exact distribution of U


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def u_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """U of ``a``: the number of pairs (x in a, y in b) with x > y, ties counting one half."""
    r = ranks(list(a) + list(b))
    return sum(r[: len(a)]) - len(a) * (len(a) + 1) / 2


@lru_cache(maxsize=None)
def _arrangements(n1: int, n2: int, u: int) -> int:
    """How many of the C(n1+n2, n1) orderings without ties give the first sample U = u."""
    if u < 0 or u > n1 * n2:
        return 0
    if n1 == 0 or n2 == 0:
        return 1 if u == 0 else 0
    # The largest value is from the first sample (beating all n2) or from the second.
    return _arrangements(n1 - 1, n2, u - n2) + _arrangements(n1, n2 - 1, u)


def _exact_p(u: float, n1: int, n2: int) -> float:
    total = math.comb(n1 + n2, n1)
    low = sum(_arrangements(n1, n2, k) for k in range(0, int(u) + 1)) / total
    high = sum(_arrangements(n1, n2, k) for k in range(int(math.ceil(u)), n1 * n2 + 1)) / total
    return min(1.0, 2 * min(low, high))


def _normal_p(u: float, a: Sequence[float], b: Sequence[float]) -> float:
    n1, n2 = len(a), len(b)
    n = n1 + n2
    counts: dict[float, int] = {}
    for v in list(a) + list(b):
        counts[v] = counts.get(v, 0) + 1
    ties = sum(t ** 3 - t for t in counts.values())
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of a difference
        return 1.0
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)  # with continuity correction
    return min(1.0, math.erfc(z / math.sqrt(2)))


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(U of ``a``, two-sided p): exact for small samples without ties, else the normal
    approximation with the tie correction."""
    if not a or not b:
        raise ValueError("mann_whitney needs two non-empty samples")
    u = u_statistic(a, b)
    tied = len(set(a) | set(b)) < len(a) + len(b)
    if not tied and len(a) + len(b) <= EXACT_MAX:
        return u, _exact_p(u, len(a), len(b))
    return u, _normal_p(u, a, b)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ratio_if_significant(times: Sequence[float], other: Sequence[float], alpha: float = ALPHA,
                         margin: float = MARGIN) -> float | None:
    """median(other) / median(times) when the two differ (p < ``alpha`` and the ratio outside
    1 +- ``margin``, symmetric in log scale); None means "about the same" (printed as ≈)."""
    ratio = median(other) / median(times)
    if abs(math.log(ratio)) <= math.log(1 + margin):
        return None
    return ratio if mann_whitney(times, other)[1] < alpha else None


@lru_cache(maxsize=None)
def can_differ(n1: int, n2: int, alpha: float = ALPHA) -> bool:
    """Whether samples of ``n1`` and ``n2`` times can show a difference at all: the most extreme
    arrangement (every time of one below every time of the other) has p < ``alpha``.

        can_differ(3, 3)  # -> False: the smallest two-sided p of 3 and 3 values is 0.1
    """
    return n1 > 0 and n2 > 0 and mann_whitney(range(n1), range(n1, n1 + n2))[1] < alpha
