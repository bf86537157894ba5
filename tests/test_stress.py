"""The accuracy stress classes (cases/README.md, "Stress classes"): their value classes draw what
they claim, their goldens agree with independent computations, and their tolerances pass a
correct algorithm and fail a plausible wrong one, judged through mlxport's own compare path.

Why a float64 golden is enough for these cells (each is checked below):
- scale: float32 inputs are exact in float64; numpy's float64 sum is pairwise, off by at most
  about log2(n) 2^-53 of the sum of |x|, 1e-15 of these non-negative sums, against rtol 2e-6.
- cancellation: the float64 two-pass variance of float32 data near 16384 loses nothing the
  float32 output could show (its mean is off by ~1e-12, moving the variance by ~1e-24).
- argument: sin, cos and tan of float32 x are glibc's (or numpy's) float64 functions of the exact
  x, accurate to a float64 ulp of the result even next to a zero: the argument reduction is
  exact, which is what float32 implementations lack. float64 is not enough only for a float64
  op near a zero, which these float32 cells do not have.
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pytest

from mlxport import dtypes as dt
from mlxport.catalog import load_files
from mlxport.check import case_files
from mlxport.compare import compare_outputs
from mlxport.inputs import generate, make_array
from mlxport.model import InputSpec, Status
from mlxport.runner import golden



@pytest.fixture(scope="module")
def catalog():
    return {c.id: c for c in load_files(case_files(()))}


def _judge(case, actual, expected):
    return compare_outputs([np.asarray(actual, dtype=np.float32)], [np.asarray(expected)], case, [])


# --- the value classes --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, centre", [("float16", 128), ("bfloat16", 32), ("float32", 16384),
                                           ("float64", 2.0 ** 32)])
def test_offcenter_is_a_large_offset_with_a_unit_spread(dtype, centre):
    x = make_array(InputSpec((4096,), dtype, values="offcenter"), np.random.default_rng(0)).astype(np.float64)
    assert abs(x.mean() - centre) < 0.1 and 0.9 < x.std() < 1.1
    # the squares need 1.2 p bits: past the dtype's significand, so E[x^2] - E[x]^2 cannot hold
    assert centre ** 2 * dt.finfo(dtype).eps > 1


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_hundreds_sum_past_float16_while_their_mean_fits(dtype):
    x = make_array(InputSpec((512,), dtype, values="hundreds"), np.random.default_rng(1)).astype(np.float64)
    assert x.min() >= 100 and x.max() <= 400
    assert x.sum() > 65504 and x.max() ** 2 > 65504 and x.var() < 65504


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_halfpi_are_the_floats_nearest_multiples_of_half_pi(dtype):
    x = make_array(InputSpec((1024,), dtype, values="halfpi"), np.random.default_rng(2)).astype(np.float64)
    k = np.round(np.abs(x) / (np.pi / 2))
    spacing = np.ldexp(1.0, np.frexp(x)[1] - 1 - dt.finfo(dtype).nmant)
    off = np.abs(np.abs(x) - k * np.pi / 2) / spacing
    assert (k >= 1).all() and (k < 2 ** 24).all() and (x < 0).any() and (x > 0).any()
    # 16 candidates per element, the nearest kept: a random float is 0.25 ulp away on average
    assert np.median(off) < 0.05 and off.max() <= 0.5


# --- goldens against independent computations ---------------------------------------------------

def _decimal_pi(digits: int) -> Decimal:
    """pi by Machin's formula in Decimal arithmetic."""
    getcontext().prec = digits + 10

    def arctan_inv(n):
        x, total, k, sign = Decimal(1) / n, Decimal(0), 1, 1
        power = x
        while power > Decimal(10) ** -(digits + 5):
            total += sign * power / k
            power /= n * n
            k, sign = k + 2, -sign
        return total

    return 4 * (4 * arctan_inv(5) - arctan_inv(239))


def _decimal_sin_cos(x: float, pi: Decimal) -> tuple[Decimal, Decimal]:
    """sin and cos of the exact float ``x``: reduced by a 60-digit pi, then Taylor series."""
    r = Decimal(x) % (2 * pi)
    s, c, term, n = Decimal(0), Decimal(0), Decimal(1), 0
    while n < 200:
        if n % 4 == 1:
            s += term
        elif n % 4 == 3:
            s -= term
        elif n % 4 == 0:
            c += term
        else:
            c -= term
        n += 1
        term = term * r / n
    return s, c


def test_the_sin_cos_tan_goldens_hold_next_to_their_zeros_and_poles(catalog):
    pi = _decimal_pi(60)
    for op in ("sin", "cos", "tan"):
        case = catalog[f"{op}[float32,(4096,),halfpi,argument]"]
        inputs = generate(case)
        (want,) = golden(case, inputs)
        for i in range(0, 4096, 128):  # 32 of them
            s, c = _decimal_sin_cos(float(inputs[0].value[i]), pi)
            exact = {"sin": s, "cos": c, "tan": s / c}[op]
            assert abs(want[i] - float(exact)) <= 4e-16 * abs(float(exact)), (op, i)


def _golden_and_inputs(case):
    inputs = generate(case)
    return golden(case, inputs)[0], [i.value.astype(np.float64) for i in inputs]


def test_the_scale_goldens_are_the_exactly_rounded_sums(catalog):
    # float32 values and their squares and products are exact in float64, so fsum is exact
    for cell, exact in (("sum[float32,(4194304,),scale]", math.fsum),
                        ("linalg.norm[float32,(1048576,),scale]", lambda x: math.sqrt(math.fsum(x * x)))):
        want, (x,) = _golden_and_inputs(catalog[cell])
        assert abs(float(want) - exact(x)) <= 1e-13 * exact(x), cell
    want, (a, b) = _golden_and_inputs(catalog["matmul[float32,(1,1048576)x(1048576,1),scale]"])
    assert abs(float(want[0, 0]) - math.fsum(a[0] * b[:, 0])) <= 1e-13 * float(want[0, 0])
    want, (x,) = _golden_and_inputs(catalog["cumsum[float32,(262144,),scale]"])
    for end in (1, 1000, 65537, x.size):
        assert abs(want[end - 1] - math.fsum(x[:end])) <= 1e-13 * want[end - 1]


def test_the_cancellation_variance_golden_is_the_exact_one(catalog):
    case = catalog["var[float32,(8,1024),offcenter,cancellation,axis=-1]"]
    inputs = generate(case)
    (want,) = golden(case, inputs)
    for row, v in zip(inputs[0].value, want):
        exact = statistics.pvariance(row.astype(np.float64).tolist())  # exact rationals, rounded once
        assert abs(v - exact) <= 1e-14 * exact


# --- tolerances that separate right from wrong --------------------------------------------------

def _pairwise(x: np.ndarray) -> np.float32:
    """A float32 pairwise sum: adjacent pairs, level by level (zeros pad to a power of two)."""
    x = np.concatenate([x, np.zeros((1 << (x.size - 1).bit_length()) - x.size, np.float32)])
    while x.size > 1:
        x = x[0::2] + x[1::2]
    return x[0]


def test_a_pairwise_float32_sum_of_ten_million_passes_the_scale_class_and_a_sequential_one_fails(catalog):
    case = catalog["sum[float32,(4194304,),scale]"]
    spec = case.inputs[0]
    x = make_array(InputSpec((10_000_000,), spec.dtype, spec.values, spec.domain), np.random.default_rng(7))
    want = np.float64(math.fsum(x.astype(np.float64)))
    pairwise, sequential = _pairwise(x), np.cumsum(x, dtype=np.float32)[-1]
    assert _judge(case, pairwise, want).status is Status.PASS
    out = _judge(case, sequential, want)
    assert out.status is Status.MISMATCH and out.max_rel_err > 3 * case.tolerance.rtol


def test_a_two_pass_variance_passes_the_cancellation_class_and_a_one_pass_one_fails(catalog):
    case = catalog["var[float32,(8,1024),offcenter,cancellation,axis=-1]"]
    inputs = generate(case)
    (want,) = golden(case, inputs)
    x = inputs[0].value  # float32
    two_pass = np.var(x, axis=-1)  # numpy in float32: a pairwise mean, then the squared deviations
    one_pass = np.mean(x * x, axis=-1) - np.mean(x, axis=-1) ** 2
    assert _judge(case, two_pass, want).status is Status.PASS
    assert _judge(case, one_pass, want).status is Status.MISMATCH


def test_the_argument_tolerance_is_a_few_ulps_without_an_absolute_floor(catalog):
    case = catalog["sin[float32,(4096,),halfpi,argument]"]
    inputs = generate(case)
    (want,) = golden(case, inputs)
    right = want.astype(np.float32)
    assert _judge(case, np.nextafter(right, np.float32(np.inf)), want).status is Status.PASS  # 1 ulp
    tiny = np.argmin(np.abs(right))
    wrong = right.copy()
    wrong[tiny] += 2e-8  # far below the default atol 1e-7, thousands of ulp of this output
    out = _judge(case, wrong, want)
    assert out.status is Status.MISMATCH and out.max_ulp > 100
