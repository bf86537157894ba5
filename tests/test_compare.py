"""The comparison: shape, dtype, values; ±0, NaN, ±inf, denormals, ULPs, integer extremes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from mlxport import dtypes as dt
from mlxport.compare import compare, compare_outputs, ulp_distance
from mlxport.model import Case, InputSpec, Status

F32 = dt.default_tolerance("float32")


def test_equal_floats_pass_with_zero_error():
    out = compare(np.float32([1, 2, 3]), np.float64([1, 2, 3]), "float32", F32)
    assert (out.status, out.max_abs_err, out.max_ulp) == (Status.PASS, 0.0, 0)


def test_shape_is_checked_before_dtype():
    out = compare(np.zeros((2, 3), np.int32), np.zeros((3, 2)), "float32", F32)
    assert out.status is Status.MISMATCH and out.message == "shape (2, 3), expected (3, 2)"


def test_dtype_is_checked_before_values():
    out = compare(np.zeros(3, np.float16), np.zeros(3), "float32", F32)
    assert out.message == "dtype float16, expected float32"


def test_signed_zeros_are_equal():
    assert compare(np.float32([-0.0, 0.0]), np.float64([0.0, -0.0]), "float32", dt.EXACT).status is Status.PASS


def test_nan_positions_must_match():
    out = compare(np.float32([1.0, np.nan]), np.float64([np.nan, 1.0]), "float32", F32)
    assert out.status is Status.MISMATCH and out.bad == 2
    assert "first at (0,): 1.0 vs expected nan" in out.message
    assert compare(np.float32([np.nan]), np.float64([np.nan]), "float32", F32).status is Status.PASS


def test_infinities_must_match_in_sign():
    assert compare(np.float32([np.inf]), np.float64([np.inf]), "float32", F32).status is Status.PASS
    assert compare(np.float32([-np.inf]), np.float64([np.inf]), "float32", F32).status is Status.MISMATCH
    assert compare(np.float32([3e38]), np.float64([np.inf]), "float32", F32).status is Status.MISMATCH


def test_golden_is_rounded_to_the_output_dtype_first():
    # 70000 overflows float16: the right float16 answer is inf.
    assert compare(np.float16([np.inf]), np.float64([70000.0]), "float16", dt.EXACT).status is Status.PASS


def test_denormals_are_compared_not_flushed():
    tiny = np.finfo(np.float32).smallest_subnormal
    out = compare(np.float32([0.0]), np.float64([tiny * 4]), "float32", dt.Tolerance(0, 0))
    assert out.status is Status.MISMATCH and out.max_ulp == 4


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64])
def test_ulp_distance_counts_representable_values(dtype):
    one = np.array([1.0, -1.0], dtype)
    moved = one.copy()
    moved.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[one.itemsize])[...] += 3
    assert list(ulp_distance(one, moved)) == [3, 3]


def test_ulp_distance_across_zero_and_extremes():
    tiny = np.finfo(np.float32).smallest_subnormal
    assert ulp_distance(np.float32([-tiny]), np.float32([tiny]))[0] == 2
    big = np.finfo(np.float64).max
    assert ulp_distance(np.float64([big]), np.float64([-big]))[0] == 2 * 0x7FEFFFFFFFFFFFFF


def test_tolerance_is_relative_plus_absolute():
    tol = dt.Tolerance(rtol=1e-3, atol=0.0)
    assert compare(np.float32([1000.5]), np.float64([1000.0]), "float32", tol).status is Status.PASS
    assert compare(np.float32([1001.5]), np.float64([1000.0]), "float32", tol).status is Status.MISMATCH


def test_mismatch_reports_the_errors_and_first_bad_index():
    out = compare(np.float32([[1, 2], [3, 5]]), np.float64([[1, 2], [3, 4]]), "float32", F32)
    assert out.bad == 1 and out.max_abs_err == 1.0 and out.max_rel_err == 0.25
    assert "1 of 4 elements differ; first at (1, 1): 5.0 vs expected 4.0" in out.message


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64", "uint64"])
def test_integers_are_exact_at_their_extremes(dtype):
    info = np.iinfo(dt.np_dtype(dtype))
    top = np.array([info.max, info.min], dt.np_dtype(dtype))
    assert compare(top, top.astype(dt.golden_dtype(dtype)), dtype, dt.EXACT).status is Status.PASS
    off = np.array([info.max - 1, info.min], dt.np_dtype(dtype))
    out = compare(off, top.astype(dt.golden_dtype(dtype)), dtype, dt.EXACT)
    assert out.status is Status.MISMATCH and out.max_abs_err == 1.0


def test_integer_golden_wraps_like_c():
    # int8: 127 + 1 computed in int64 is 128, which int8 holds as -128.
    assert compare(np.int8([-128]), np.int64([128]), "int8", dt.EXACT).status is Status.PASS


def test_bools_are_exact():
    assert compare(np.bool_([True, False]), np.bool_([True, True]), "bool", dt.EXACT).bad == 1


def test_complex_nan_in_either_part_and_magnitude_tolerance():
    tol = dt.default_tolerance("complex64")
    nan = complex(1, np.nan)
    assert compare(np.complex64([nan]), np.complex128([nan]), "complex64", tol).status is Status.PASS
    assert compare(np.complex64([1 + 1j]), np.complex128([nan]), "complex64", tol).status is Status.MISMATCH
    assert compare(np.complex64([1 + 2j]), np.complex128([1 + 2.1j]), "complex64", tol).status is Status.MISMATCH


def _case(out, canonical=None, params=None):
    spec = InputSpec(shape=(4,), dtype="float32")
    return Case(id="t", op="t", category="t", dtype="float32", inputs=(spec,), out=out,
                canonical=canonical, params=params or {})


def test_outputs_are_counted_then_compared_each():
    case = _case(("float32", "int32"))
    two = [np.float32([1.0]), np.int32([2])]
    assert compare_outputs(two, [np.float64([1.0])], case, []).message == "2 outputs, expected 1"
    out = compare_outputs(two, [np.float64([1.0]), np.int64([3])], case, [])
    assert out.status is Status.MISMATCH and out.message.startswith("output 1: ")


def test_argsort_ties_are_canonicalised_by_the_values_they_pick():
    x = np.float32([3.0, 1.0, 1.0, 2.0])
    case = _case(("uint32",), canonical="gathered", params={"axis": -1})
    mlx_order, numpy_order = np.uint32([2, 1, 3, 0]), np.int64([1, 2, 3, 0])
    assert compare_outputs([mlx_order], [numpy_order], case, [x]).status is Status.PASS
    wrong = np.uint32([1, 3, 2, 0])
    assert compare_outputs([wrong], [numpy_order], case, [x]).status is Status.MISMATCH


def test_argpartition_with_integer_ties_compares_the_values_picked():
    x = np.int8([3, 1, 1, 2, 1, 0])
    case = _case(("uint32",), canonical="argpartition", params={"kth": 2, "axis": -1})
    # two valid answers that differ among the equal 1s, and one that puts a 2 at kth
    mlx, numpy = np.uint32([5, 4, 1, 2, 3, 0]), np.int64([5, 1, 2, 4, 0, 3])
    assert compare_outputs([mlx], [numpy], case, [x]).status is Status.PASS
    wrong = np.uint32([5, 1, 3, 2, 4, 0])
    assert compare_outputs([wrong], [numpy], case, [x]).status is Status.MISMATCH


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_partition_of_half_floats_with_infinities_and_nan(dtype):
    x = np.array([-np.inf] * 799 + [-1.0, np.nan, np.inf], dtype)
    case = _case((dt.name_of(np.dtype(dtype)),), canonical="partition", params={"kth": 5, "axis": -1})
    shuffled = x[np.random.default_rng(0).permutation(x.size)]
    assert compare_outputs([shuffled], [x.astype(np.float64)], case, [x]).status is Status.PASS


def test_complex_with_an_infinite_part_compares_the_other_part_within_tolerance():
    tol = dt.default_tolerance("complex64")
    near = np.complex64([complex(np.inf, 1.0000001)])
    assert compare(near, np.complex128([complex(np.inf, 1.0)]), "complex64", tol).status is Status.PASS
    far = np.complex64([complex(np.inf, 1.5)])
    assert compare(far, np.complex128([complex(np.inf, 1.0)]), "complex64", tol).status is Status.MISMATCH
    flipped = np.complex64([complex(-np.inf, 1.0)])
    assert compare(flipped, np.complex128([complex(np.inf, 1.0)]), "complex64", tol).status is Status.MISMATCH
