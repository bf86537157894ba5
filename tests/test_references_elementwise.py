"""The elementwise, reduction and scan references against independent computations: series,
the math and cmath modules, and explicit Python loops."""

from __future__ import annotations

import cmath
import itertools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from mlxport.references import elementwise as R
from mlxport.references import lookup

# reciprocal(0) and log(0) are meant: the references return inf and -inf there
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")

rng = np.random.default_rng(0)
INT64_MIN, INT64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def close(got, want, tol=1e-12):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["erf", "erfinv", "sigmoid", "rsqrt", "reciprocal", "sign", "subtract",
                                "stop_gradient", "logaddexp", "logsumexp", "softmax", "cumsum", "cumprod",
                                "cummax", "cummin", "logcumsumexp", "degrees", "radians", "isclose",
                                "sum", "mean", "var", "exp", "divide", "divmod", "bitwise_invert"])
def test_registered_here(op):
    assert lookup(op).__module__ == R.__name__


# --- inputs as MLX sees them ------------------------------------------------------------------

def test_float_functions_of_bools_are_not_computed_in_float16():
    # np.exp(True) is float16 2.719; MLX computes exp(1.0f)
    assert lookup("exp")(np.array([True, False])).tolist() == [math.e, 1.0]
    close(lookup("arctan2")(np.array([True]), np.array([True])), [math.pi / 4])


def test_float_functions_of_integers_see_the_float32_cast():
    big = 2**31 + 1  # not a float32: MLX computes sin(2147483648.0)
    assert lookup("sin")(np.array([big]))[0] == math.sin(float(np.float32(big)))
    assert lookup("sin")(np.array([big]))[0] != math.sin(big)
    close(lookup("divide")(np.array([7]), np.array([2])), [3.5])


def test_sigmoid_of_uint64_does_not_wrap():
    close(R.sigmoid(np.array([0, 3], dtype=np.uint64)), [0.5, 1 / (1 + math.exp(-3))])


def test_reductions_take_a_yaml_list_of_axes():
    x = rng.standard_normal((3, 4, 5))
    want = [sum(x[i, j, k] for i in range(3) for k in range(5)) for j in range(4)]
    close(lookup("sum")(x, axis=[0, 2]), want)
    close(lookup("mean")(x, axis=[-1, 0], keepdims=True).reshape(-1), np.array(want) / 15)


def test_var_and_std_of_bools_are_those_of_zeros_and_ones():
    b = np.array([True, False, False, True, True])
    mean = 3 / 5
    want = sum((v - mean) ** 2 for v in (1, 0, 0, 1, 1)) / 4
    close(lookup("var")(b, ddof=1), want)
    close(lookup("std")(b, ddof=1), math.sqrt(want))



def _fraction_moments(column, ddof):
    """Mean and variance of Python ints by the two-pass formula in exact rationals."""
    n = len(column)
    mean = Fraction(sum(column), n)
    return mean, sum((Fraction(v) - mean) ** 2 for v in column) / (n - ddof)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_mean_var_std_of_extreme_integers_are_exact(dtype):
    """Near 2^63 a float64 sum rounds at 2^11 per addition, in an order-dependent way; the
    golden of an integer input is the exact value rounded once, as Fraction computes it."""
    info = np.iinfo(dtype)
    x = rng.integers(info.max - 5000, info.max, size=(33, 65), dtype=dtype, endpoint=True)
    x[rng.random(x.shape) < 0.5] = info.min + 7  # extremes of both signs (uint64: 7)
    mean, var, std = (lookup(op)(x, axis=0, ddof=1) if op != "mean" else lookup(op)(x, axis=0)
                      for op in ("mean", "var", "std"))
    for j in range(x.shape[1]):
        column = [int(v) for v in x[:, j]]
        want_mean, want_var = _fraction_moments(column, 1)
        assert mean[j] == float(want_mean)
        assert var[j] == float(want_var)
        assert std[j] == math.sqrt(float(want_var))
    inexact = np.mean(x.astype(np.float64), axis=0)
    if dtype == np.int64:  # the float64 mean the golden used to be is off somewhere
        assert np.any(inexact != mean)


def test_exact_mean_keeps_numpy_shapes_and_edge_cases():
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    for params in ({}, {"axis": [0, 2]}, {"axis": -1, "keepdims": True}, {"axis": [0, 2], "keepdims": True}):
        np_params = {**params, "axis": tuple(params["axis"]) if isinstance(params.get("axis"), list)
                     else params.get("axis")}
        for op, fn in (("mean", np.mean), ("var", np.var), ("std", np.std)):
            got, want = lookup(op)(x, **params), fn(x.astype(np.float64), **np_params)
            assert np.shape(got) == np.shape(want), (op, params)
            close(got, want)
    one = np.array([[1, 2]], dtype=np.int64)
    with np.errstate(all="ignore"), warnings.catch_warnings():  # n - ddof = 0: numpy's answer
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(lookup("var")(one, axis=0, ddof=1), np.var(one * 1.0, axis=0, ddof=1))


# --- special functions -------------------------------------------------------------------------

def erf_series(x: float) -> float:
    """erf by its Maclaurin series, exact enough in float64 for |x| <= 2."""
    total, term, n = 0.0, x, 0
    while abs(term) > 1e-18 * max(abs(total), 1e-300):
        total += term / (2 * n + 1)
        n += 1
        term = -term * x * x / n
    return 2 / math.sqrt(math.pi) * total


@pytest.mark.parametrize("x", [0.0, 1e-8, -0.3, 0.5, 1.2, -2.0])
def test_erf_against_its_series(x):
    close(R.erf(np.array([x])), [erf_series(x)], tol=1e-14)


def test_erf_far_out_against_erfc():
    close(R.erf(np.array([3.5, -5.0])), [1 - math.erfc(3.5), -(1 - math.erfc(5.0))], tol=1e-15)


@pytest.mark.parametrize("y", [0.0, 1e-45, -3e-8, 0.1, 0.5, -0.7, 0.9, 0.999, -0.99951171875,
                               1 - 2**-24, -(1 - 2**-40), 1 - 2**-52])
def test_erfinv_inverts_erf(y):
    x = float(R.erfinv(np.array([y]))[0])
    if abs(y) < 0.5:
        assert math.erf(x) == pytest.approx(y, rel=1e-14, abs=0)
    else:  # compare in the tail, where 1 - |y| carries the information
        assert math.erfc(abs(x)) == pytest.approx(1 - abs(y), rel=1e-12)
    assert math.copysign(1, x) == math.copysign(1, y)


def test_erfinv_known_values_and_edges():
    got = R.erfinv(np.array([0.5, -0.5, 1.0, -1.0, 1.5, np.nan, -0.0]))
    close(got[:2], [0.4769362762044699, -0.4769362762044699], tol=1e-15)
    assert got[2] == np.inf and got[3] == -np.inf
    assert np.isnan(got[4]) and np.isnan(got[5])
    assert got[6] == 0 and math.copysign(1, got[6]) == -1


@pytest.mark.parametrize("x", [-30.0, -2.5, 0.0, 0.7, 40.0])
def test_sigmoid_against_the_logistic_formula(x):
    close(R.sigmoid(np.array([x])), [1 / (1 + math.exp(-x))], tol=1e-15)


def test_sigmoid_does_not_overflow_or_lose_tiny_values():
    got = R.sigmoid(np.array([-740.0, 800.0]))  # e^740 overflows float64; e^-740 is subnormal
    assert got[0] == math.exp(-740) > 0
    assert got[1] == 1.0


def test_rsqrt_and_reciprocal():
    close(R.rsqrt(np.array([4.0, 0.25, 2])), [0.5, 2.0, 1 / math.sqrt(2)])
    assert R.reciprocal(np.array([0.0]))[0] == np.inf
    close(R.reciprocal(np.array([8])), [0.125])


# --- small semantic references -----------------------------------------------------------------

def test_sign_of_bools_is_the_identity_and_of_numbers_numpy_sign():
    assert R.sign(np.array([True, False])).tolist() == [True, False]
    assert R.sign(np.array([-2.5, 0.0, 3.0])).tolist() == [-1.0, 0.0, 1.0]


def test_subtract_of_bools_is_true_where_they_differ():
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    want = [int(x) - int(y) != 0 for x, y in zip(a, b)]
    assert R.subtract(a, b).tolist() == want
    assert R.subtract(np.array([5]), np.array([7])).tolist() == [-2]


def test_stop_gradient_is_the_identity():
    x = rng.standard_normal(5)
    assert R.stop_gradient(x) is x


@pytest.mark.parametrize("name,factor", [("degrees", 180 / math.pi), ("radians", math.pi / 180)])
def test_angle_conversions_scale_each_part(name, factor):
    z = np.array([1.5 - 2j, -0.25 + 0j])
    want = [complex(v.real * factor, v.imag * factor) for v in z]
    close(lookup(name)(z), want)
    close(lookup(name)(np.array([90.0])), [math.degrees(90.0) if name == "degrees" else math.radians(90.0)])


def test_isclose_of_bools_compares_them_as_numbers():
    assert lookup("isclose")(np.array([True, True]), np.array([True, False])).tolist() == [True, False]
    assert lookup("isclose")(np.array([True]), np.array([False]), atol=1).tolist() == [True]


@pytest.mark.parametrize("a,b", [(7, 2), (-7, 2), (7, -2), (-7, -2), (7.5, 2.0), (-7.5, 2.0)])
def test_divmod_matches_python(a, b):
    q, r = R.divmod_(np.array([a]), np.array([b]))
    assert (q[0], r[0]) == divmod(a, b)


def test_bitwise_invert_matches_python():
    x = np.array([0, 5, -6, INT64_MAX])
    assert R.bitwise_invert(x).tolist() == [~int(v) for v in x]


# --- logaddexp, logsumexp, softmax -------------------------------------------------------------

@pytest.mark.parametrize("a,b", [(0.5, -1.25), (-3.0, -3.0), (700.0, 699.0), (-np.inf, 2.0)])
def test_logaddexp_real(a, b):
    want = max(a, b) + math.log1p(math.exp(min(a, b) - max(a, b))) if min(a, b) > -np.inf else max(a, b)
    close(R.logaddexp(np.array([a]), np.array([b])), [want], tol=1e-15)
    if max(a, b) < 700:
        close(R.logaddexp(np.array([a]), np.array([b])), [math.log(math.exp(a) + math.exp(b))], tol=1e-14)


@pytest.mark.parametrize("a,b", [(0.5 + 1j, -1 + 2.5j), (2 - 3j, 2 + 3j), (-1 + 0.2j, 1.5 - 0.1j)])
def test_logaddexp_complex_is_a_log_of_the_sum(a, b):
    got = complex(R.logaddexp(np.array([a]), np.array([b]))[0])
    assert cmath.exp(got) == pytest.approx(cmath.exp(a) + cmath.exp(b), rel=1e-13)
    hi = a if (a.real, a.imag) >= (b.real, b.imag) else b
    assert abs(got.imag - hi.imag) < math.pi  # continuous from the larger operand, not folded


def test_logaddexp_complex_with_a_zero_term_is_the_other_one():
    got = R.logaddexp(np.array([complex(-np.inf, 0.3)]), np.array([1 + 2j]))
    assert complex(got[0]) == 1 + 2j


def test_logsumexp_against_log_sum_exp_on_small_integers():
    x = rng.integers(-5, 6, (3, 4))
    rows = [math.log(sum(math.exp(v) for v in row)) for row in x.tolist()]
    close(R.logsumexp(x, axis=-1), rows)
    close(R.logsumexp(x, axis=[0, 1]), math.log(sum(math.exp(v) for v in x.reshape(-1).tolist())))
    assert R.logsumexp(x, axis=1, keepdims=True).shape == (3, 1)


def test_logsumexp_of_large_values_and_of_minus_infinity():
    close(R.logsumexp(np.array([1000.0, 1000.0])), 1000 + math.log(2))
    assert R.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert R.logsumexp(np.zeros((0, 3)), axis=0).tolist() == [-np.inf] * 3


def test_softmax_against_exp_over_sum():
    x = rng.integers(-4, 5, (2, 3, 4))
    e = np.vectorize(math.exp)(x)
    close(R.softmax(x, axis=-1), e / e.sum(-1, keepdims=True))
    close(R.softmax(x, axis=[0, 2]), e / e.sum((0, 2), keepdims=True))
    close(R.softmax(x), e / e.sum())
    close(R.softmax(np.array([1000.0, 1000.0]), axis=0), [0.5, 0.5])


# --- scans, against explicit loops -------------------------------------------------------------

def loop_scan(x, fn, axis, reverse, inclusive, identity):
    """A scan written out element by element, with Python numbers."""
    x = np.asarray(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    out = np.empty(x.shape, dtype=object)
    moved, res = np.moveaxis(x, axis, -1), np.moveaxis(out, axis, -1)
    for idx in itertools.product(*map(range, moved.shape[:-1])):
        row = [v.item() for v in moved[idx]]
        order = range(len(row) - 1, -1, -1) if reverse else range(len(row))
        acc = identity
        for i in order:
            if inclusive:
                acc = fn(acc, row[i])
                res[idx + (i,)] = acc
            else:
                res[idx + (i,)] = acc
                acc = fn(acc, row[i])
    return out


def _logaddexp(a, b):
    return b if a == -math.inf else (a if b == -math.inf else max(a, b) + math.log1p(math.exp(-abs(a - b))))


SCANS = [("cumsum", lambda a, b: a + b, 0), ("cumprod", lambda a, b: a * b, 1),
         ("cummax", max, -math.inf), ("cummin", min, math.inf), ("logcumsumexp", _logaddexp, -math.inf)]


@pytest.mark.parametrize("name,fn,identity", SCANS, ids=[s[0] for s in SCANS])
@pytest.mark.parametrize("axis,reverse,inclusive",
                         [(-1, False, True), (0, True, True), (1, False, False), (0, True, False),
                          (None, False, True), (None, True, False)])
def test_scans_against_loops(name, fn, identity, axis, reverse, inclusive):
    x = rng.uniform(-2, 2, (3, 5))
    want = loop_scan(x, fn, axis, reverse, inclusive, identity).astype(np.float64)
    close(lookup(name)(x, axis=axis, reverse=reverse, inclusive=inclusive), want)


@pytest.mark.parametrize("name,identity", [("cummax", INT64_MIN), ("cummin", INT64_MAX)])
def test_integer_extremum_scans_start_at_the_dtype_limit(name, identity):
    x = rng.integers(-50, 50, (2, 6))
    fn = max if name == "cummax" else min
    want = loop_scan(x, fn, 1, False, False, identity).astype(np.int64)
    assert lookup(name)(x, axis=1, inclusive=False).tolist() == want.tolist()


def test_exclusive_scans_of_bools_and_complex():
    b = np.array([True, False, True, True])
    assert lookup("cumsum")(b, axis=0, inclusive=False).tolist() == [0, 1, 1, 2]  # counts, not or
    assert lookup("cummax")(b, axis=0, inclusive=False).tolist() == [False, True, True, True]
    assert lookup("cummin")(b, axis=0, inclusive=False).tolist() == [True, True, False, False]
    z = np.array([1 + 1j, 2 + 0j])
    first = lookup("cummax")(z, axis=0, inclusive=False)[0]
    assert first == complex(-np.inf, -np.inf)  # below every complex number in MLX's order


def test_logcumsumexp_of_complex_against_a_loop():
    z = np.array([0.5 + 1j, -1 + 0.5j, 2 - 3j])
    got = lookup("logcumsumexp")(z, axis=0)
    total = 0
    for i, v in enumerate(z):
        total += cmath.exp(v)
        assert cmath.exp(complex(got[i])) == pytest.approx(total, rel=1e-13)


def test_empty_scans_stay_empty():
    for name, _, _ in SCANS:
        assert lookup(name)(np.zeros((0, 3)), axis=0, inclusive=False).shape == (0, 3)
