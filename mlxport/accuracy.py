"""The float64 re-check of a cell that fails by a small margin, after PyTorch's reference tests
(test_ops.py ``_ref_test_helper``): when a low-precision result and its golden disagree, run
the same op on the same target in float64 and ask which of the two is nearer that answer.

Our golden is already float64, so it can only lose to the target where our reference itself is
off (an ill-conditioned formula, or a different but valid definition within rounding). The
re-check must not turn a real bug into a pass, so a cell passes on it only when all of these hold:

1. the failure is slight: every shape and dtype is right, no NaN, inf or sign pattern differs,
   and every element is within ``SLIGHT`` times its allowed error ``atol + rtol |golden|``;
2. the target's own float64 run agrees with our float64 golden within the cell's tolerance, so
   the target computes the right function (a bug present in every precision fails here);
3. every failing element of the result is at least as close to the target's float64 answer as
   our golden (rounded to the output dtype) is: ``|actual - precise| <= |golden - precise|``.

By the triangle inequality 2 and 3 admit only errors that the tolerance would admit for the
target's precise answer itself: the re-check moves the reference point, never the tolerance.
A target without float64 (a GPU) cannot re-check, and the cell stays a mismatch.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as dt
from .compare import check_layout, rounded, tolerance_of
from .model import Case, Outcome, Status

SLIGHT = 4.0  # a failure within 4x its allowed error is worth a second opinion
NARROW = ("float16", "bfloat16", "float32")


def eligible(case: Case, expected, outcome: Outcome) -> bool:
    """Whether a mismatch may be re-checked: plain float outputs narrower than float64, compared
    elementwise (no statistical or canonical form), and the dtype not chosen by a param."""
    return (outcome.status is Status.MISMATCH and not case.canonical and "dtype" not in case.params
            and not hasattr(expected[0], "test") and bool(case.out)
            and all(d in NARROW for d in case.out) and case.dtype in NARROW)


def widened(value: np.ndarray) -> np.ndarray:
    """An input for the float64 run: narrow floats become float64 (exactly), the rest stay."""
    return value.astype(np.float64) if value.dtype in [dt.np_dtype(d) for d in NARROW] else value


def recheck(outcome: Outcome, actual: list, expected: list, precise: list | None, case: Case) -> Outcome:
    """``outcome`` unless the three conditions of the module docstring hold; then a pass that
    says so in its message."""
    if precise is None or len(precise) != len(actual):
        return outcome
    dtypes = case.out if len(case.out) == len(actual) else case.out[:1] * len(actual)
    notes = []
    for a, e, p, d in zip(actual, expected, precise, dtypes):
        if check_layout(np.asarray(a), np.asarray(e), d) is not None:  # only values get a second opinion
            return outcome
        note = _closer(np.asarray(a), np.asarray(e, dtype=np.float64), np.asarray(p), tolerance_of(case, d), d)
        if note is None:
            return outcome
        notes.append(note)
    message = ("passed on the float64 re-check (" + "; ".join(n for n in notes if n)
               + f"), after: {outcome.message}")
    return Outcome(Status.PASS, message, outcome.max_abs_err, outcome.max_rel_err, outcome.max_ulp,
                   p99_ulp=outcome.p99_ulp)


def _closer(actual, golden, precise, tol: dt.Tolerance, dtype: str) -> str | None:
    """'' when this output passes as it is, a note when it passes on the re-check, else None."""
    if precise.shape != golden.shape or precise.dtype != np.float64:
        return None
    a = actual.astype(np.float64)
    want = rounded(golden, dtype).astype(np.float64)
    if not (_same_specials(a, want) and _same_specials(precise, golden)):
        return None
    finite = np.isfinite(want)
    g, r, p, x = golden[finite], want[finite], precise[finite], a[finite]
    allowed = tol.atol + tol.rtol * np.abs(r)
    err = np.abs(x - r)
    bad = err > allowed
    if not bad.any():
        return ""
    if np.any(err > SLIGHT * allowed) or np.any(np.abs(p - g) > tol.atol + tol.rtol * np.abs(g)):
        return None
    ours, theirs = np.abs(r - p)[bad], np.abs(x - p)[bad]
    if np.any(theirs > ours):
        return None
    return (f"{int(bad.sum())} elements outside the tolerance are as close to the target's float64 "
            f"result as our golden: max |actual - f64| {theirs.max():.3g} <= |golden - f64| {ours.max():.3g}")


def _same_specials(a: np.ndarray, b: np.ndarray) -> bool:
    """NaN in the same places, and equal infinities."""
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    inf = np.isinf(a) | np.isinf(b)
    return bool(np.array_equal(a[inf], b[inf]))
