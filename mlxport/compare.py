"""Compare an output with its golden: shape, then dtype, then values. Pure; never raises on a
mismatch, never prints."""

from __future__ import annotations

import numpy as np

from . import canonical
from . import dtypes as dt
from .model import Case, Outcome, Status

_ORDERED = {2: np.int16, 4: np.int32, 8: np.int64}


def compare(actual: np.ndarray, expected: np.ndarray, dtype: str, tol: dt.Tolerance) -> Outcome:
    """Compare ``actual`` with the float64 (or integer) golden ``expected`` in ``dtype``.

    >>> compare(np.float32([1, 2]), np.float64([1, 2]), "float32", dt.EXACT).status
    <Status.PASS: 'pass'>
    """
    return check_layout(actual, expected, dtype) or compare_values(actual, expected, dtype, tol)


def check_layout(actual: np.ndarray, expected, dtype: str) -> Outcome | None:
    """A mismatch if the shape or the dtype is wrong, else None. Shape is checked first."""
    if actual.shape != tuple(expected.shape):
        return Outcome(Status.MISMATCH, f"shape {actual.shape}, expected {tuple(expected.shape)}")
    if actual.dtype != dt.np_dtype(dtype):
        return Outcome(Status.MISMATCH, f"dtype {_name(actual.dtype)}, expected {dtype}")
    return None


def compare_values(actual: np.ndarray, expected: np.ndarray, dtype: str, tol: dt.Tolerance) -> Outcome:
    """Compare values of equal shape: exactly for integers and bools, within ``tol`` for floats."""
    if dt.kind(dtype) in ("float", "complex"):
        return _compare_inexact(actual, expected, dtype, tol)
    return _compare_exact(actual, expected, dtype)


def compare_outputs(actual: list, expected: list, case: Case, inputs: list[np.ndarray]) -> Outcome:
    """Compare every output of a cell: count, then each shape and dtype, then the values.

    A golden that is a distribution (random ops) is tested statistically; a case with a
    ``canonical`` form is canonicalised first (argsort ties, eigenvector signs, ...).
    """
    if len(actual) != len(expected):
        return Outcome(Status.MISMATCH, f"{len(actual)} outputs, expected {len(expected)}")
    dtypes = case.out if len(case.out) == len(expected) else case.out[:1] * len(expected)
    label = (lambda i: f"output {i}: ") if len(expected) > 1 else (lambda i: "")
    for i, (a, e, d) in enumerate(zip(actual, expected, dtypes)):
        bad = check_layout(a, e, d)
        if bad:
            return Outcome(Status.MISMATCH, label(i) + bad.message)
    if hasattr(expected[0], "test"):
        message = expected[0].test(actual[0])
        return Outcome(Status.MISMATCH if message else Status.PASS, message)
    exact = False
    if case.canonical:
        actual, expected, exact = canonical.apply(case.canonical, actual, expected, inputs, case.params)
        dtypes = tuple(dt.name_of(a.dtype) for a in actual) if exact else dtypes
    outcomes = [compare_values(a, e, d, dt.EXACT if exact else tolerance_of(case, d))
                for a, e, d in zip(actual, expected, dtypes)]
    return _merge(outcomes, label)


def tolerance_of(case: Case, dtype: str) -> dt.Tolerance:
    """The tolerance of one output of ``case``: the case's own, else the default of ``dtype``
    (scaled with the case's reduction length K for float16/bfloat16)."""
    if dt.kind(dtype) not in ("float", "complex"):
        return dt.EXACT
    return case.tolerance or dt.default_tolerance(dtype, case.reduction)


def _merge(outcomes: list[Outcome], label) -> Outcome:
    """One outcome for a cell: the first mismatch, with the worst errors over all outputs."""
    def worst(field):
        values = [getattr(o, field) for o in outcomes if getattr(o, field) is not None]
        return max(values) if values else None

    bad = next(((i, o) for i, o in enumerate(outcomes) if o.status is not Status.PASS), None)
    status, message = (bad[1].status, label(bad[0]) + bad[1].message) if bad else (Status.PASS, None)
    return Outcome(status, message, worst("max_abs_err"), worst("max_rel_err"), worst("max_ulp"),
                   sum(o.bad for o in outcomes), worst("p99_ulp"))


def _name(dtype: np.dtype) -> str:
    try:
        return dt.name_of(dtype)
    except KeyError:
        return str(dtype)


def _compare_exact(actual: np.ndarray, expected: np.ndarray, dtype: str) -> Outcome:
    """Integers and bools: every element equal. The golden is cast, so overflow wraps as in C."""
    want = expected.astype(dt.np_dtype(dtype))
    bad = actual != want
    if not bad.any():
        return Outcome(Status.PASS, max_abs_err=0.0, max_rel_err=0.0, max_ulp=0, p99_ulp=0)
    errors = [abs(int(a) - int(e)) for a, e in zip(actual[bad], want[bad])]
    return _mismatch(bad, actual, want, float(max(errors)), None, None, "exact")


def rounded(expected: np.ndarray, dtype: str) -> np.ndarray:
    """The golden rounded to the output dtype; past its range it becomes inf, as the target's would."""
    with np.errstate(invalid="ignore", over="ignore"):
        return expected.astype(dt.np_dtype(dtype))


def _compare_inexact(actual, expected, dtype, tol) -> Outcome:
    """Floats and complex: NaN where the golden has NaN, equal infinities, and the tolerance."""
    want = rounded(expected, dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return _inexact_outcome(actual, want, tol)


def _inexact_outcome(actual, want, tol) -> Outcome:
    a, e = _wide(actual), _wide(want)
    nan_a, nan_e = _isnan(a), _isnan(e)
    finite = ~nan_a & ~nan_e & np.isfinite(a) & np.isfinite(e)
    mag = np.abs(e)
    tol, refused = refuse_vacuous(tol, mag[finite], want.dtype)
    err = np.where(finite, np.abs(a - e), 0.0)
    infinite = ~finite & ~nan_a & ~nan_e
    bad = (nan_a != nan_e) | (infinite & (_part_bad(a.real, e.real, tol) | _part_bad(a.imag, e.imag, tol)))
    bad |= finite & (err > tol.atol + tol.rtol * mag)
    if refused and vacuous(mag[finite], tol):  # rtol >= 1/2: no bound is left to compare with
        bad |= finite & (err > 0)
    rel = np.where(finite & (mag > 0), err / np.where(mag > 0, mag, 1), 0.0)
    max_abs = float(err.max(initial=0.0))
    max_rel = float(rel.max(initial=0.0))
    max_ulp, p99_ulp = ulp_summary(actual, want, finite)
    if not bad.any():
        return Outcome(Status.PASS, max_abs_err=max_abs, max_rel_err=max_rel, max_ulp=max_ulp, p99_ulp=p99_ulp)
    bound = f"rtol {tol.rtol:g}, atol {tol.atol:g}{refused}"
    return _mismatch(bad, actual, want, max_abs, max_rel, max_ulp, bound, p99_ulp)


def refuse_vacuous(tol: dt.Tolerance, magnitude: np.ndarray, dtype: np.dtype) -> tuple[dt.Tolerance, str]:
    """``tol``, unless it would pass an all-zero output for this golden (:func:`vacuous`): then
    its atol is refused and replaced by the output's own scale, rtol x max |expected|, floored
    at two of the dtype's smallest subnormals (no finer absolute error exists near 0). An
    all-zero output then fails, unless the golden is itself within two subnormals of 0.
    Returns the tolerance to use and, when refused, a note for the message."""
    if not vacuous(magnitude, tol):
        return tol, ""
    top = float(magnitude.max())
    floor = 2 * float(dt.finfo(dtype).smallest_subnormal)
    note = f"; atol {tol.atol:g} refused: it would pass an all-zero output (max |expected| {top:.3g})"
    return dt.Tolerance(tol.rtol, max(tol.rtol * top, floor)), note


def vacuous(magnitude: np.ndarray, tol: dt.Tolerance) -> bool:
    """Whether ``tol`` would pass an all-zero output for a golden of these (finite) magnitudes
    that is not itself all zeros: the tolerance is then at least the size of the output, and
    the comparison would say nothing."""
    return bool(magnitude.size) and float(magnitude.max()) > 0 and bool(
        np.all(magnitude <= tol.atol + tol.rtol * magnitude))


def ulp_summary(actual: np.ndarray, want: np.ndarray, finite: np.ndarray) -> tuple[int, int]:
    """The largest and the 99th-percentile ULP distance over the elements finite on both sides."""
    ulp = ulp_distance(actual, want)[finite] if actual.size else np.zeros(0, np.uint64)
    if not ulp.size:
        return 0, 0
    return int(ulp.max()), int(np.percentile(ulp, 99, method="higher"))


def _part_bad(a: np.ndarray, e: np.ndarray, tol: dt.Tolerance) -> np.ndarray:
    """One real part of a value that is infinite somewhere: an infinite part must be equal, a
    finite one within the tolerance (``inf+1.0000001j`` matches ``inf+1j``)."""
    both_finite = np.isfinite(a) & np.isfinite(e)
    return np.where(both_finite, np.abs(a - e) > tol.atol + tol.rtol * np.abs(e), a != e)


def _wide(x: np.ndarray) -> np.ndarray:
    return x.astype(np.complex128) if np.iscomplexobj(x) else x.astype(np.float64)


def _isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x.real) | np.isnan(x.imag) if np.iscomplexobj(x) else np.isnan(x)


def _mismatch(bad, actual, want, max_abs, max_rel, max_ulp, bound, p99_ulp=None) -> Outcome:
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad.reshape(-1))), bad.shape))
    where = f" at {index}" if index else ""
    first = f"{_scalar(actual[index])} vs expected {_scalar(want[index])}"
    parts = [f"{int(bad.sum())} of {bad.size} elements differ; first{where}: {first}",
             f"max abs err {max_abs:.3g}"]
    parts += [f"max rel err {max_rel:.3g}"] if max_rel is not None else []
    parts += [f"max ulp {max_ulp}"] if max_ulp is not None else []
    parts += [f"p99 ulp {p99_ulp}"] if p99_ulp is not None else []
    message = "; ".join(parts) + f" ({bound})"
    return Outcome(Status.MISMATCH, message, max_abs, max_rel, max_ulp, int(bad.sum()), p99_ulp)


def _scalar(x) -> str:
    """A plain number for messages: ``1.5``, not ``np.float32(1.5)``."""
    if np.iscomplexobj(x):
        return repr(complex(x))
    return repr(int(x) if x.dtype.kind in "biu" else float(x))


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Units in the last place between two arrays of one float (or complex) dtype: how many
    representable values of that dtype lie between them, counting one end. The golden is first
    rounded to the output dtype (round to nearest), so a correctly rounded result is 0 ULP off
    and a faithfully rounded one at most 1. Subnormals are steps like any other; ±0 are 0
    apart; NaN and inf have no distance (callers count only elements finite on both sides).
    For complex, the larger of the real and imaginary distances.
    """
    if np.iscomplexobj(a):
        return np.maximum(ulp_distance(a.real, b.real), ulp_distance(a.imag, b.imag))
    oa, ob = _ordered(a), _ordered(b)
    return np.where(oa > ob, oa - ob, ob - oa)


def _ordered(x: np.ndarray) -> np.ndarray:
    """Map float bits onto unsigned integers in the order of the values they encode; ±0 meet."""
    signed = np.ascontiguousarray(x).view(_ORDERED[x.dtype.itemsize]).astype(np.int64)
    magnitude = (signed & np.int64(np.iinfo(_ORDERED[x.dtype.itemsize]).max)).astype(np.uint64)
    middle = np.uint64(1 << 63)
    return np.where(signed < 0, middle - magnitude, middle + magnitude)
