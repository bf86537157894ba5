"""Accuracy: ULP statistics, the sqrt(K) tolerance of narrow reductions, the refusal of a
vacuous tolerance, and the float64 re-check (which must never pass a wrong result)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from mlxport import accuracy
from mlxport import dtypes as dt
from mlxport.catalog import load_file
from mlxport.compare import compare, compare_outputs, refuse_vacuous, vacuous
from mlxport.model import Case, InputSpec, Outcome, Status

F32 = dt.default_tolerance("float32")


def _case(dtype="float32", out=("float32",), **kw) -> Case:
    return Case(id="t", op="exp", category="unary", dtype=dtype,
                inputs=(InputSpec((8,), dtype),), out=out, **kw)


def test_p99_ulp_ignores_the_worst_one_percent():
    want = np.linspace(1, 2, 1000).astype(np.float32)
    got = want.copy()
    got[:15] = np.nextafter(np.nextafter(want[:15], np.float32(3)), np.float32(3))  # 2 ulp off
    got[15] = want[15] + 100 * np.spacing(want[15])  # the worst 0.1%
    out = compare(got, want.astype(np.float64), "float32", dt.Tolerance(rtol=0, atol=1))
    assert (out.max_ulp, out.p99_ulp) == (100, 2)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_ulps_are_counted_against_the_golden_rounded_to_the_output_dtype(dtype):
    np_type = dt.np_dtype(dtype)
    golden = np.float64([1 / 3, -0.0, 1e-30])  # 1e-30: 0 or subnormal in narrow types
    rounded = golden.astype(np_type)
    up = np.nextafter(rounded, np.array(np.inf, dtype=np_type)) if dtype != "bfloat16" else \
        (rounded.view(np.uint16) + np.uint16(1)).view(ml_dtypes.bfloat16)
    out = compare(up, golden, dtype, dt.Tolerance(rtol=1, atol=1))
    assert (out.max_ulp, out.p99_ulp) == (1, 1)
    assert compare(rounded, golden, dtype, dt.EXACT).max_ulp == 0


def test_a_tolerance_that_would_pass_all_zeros_is_refused():
    golden = np.full(16, 1e-9)  # far below float32's default atol 1e-7
    assert vacuous(np.abs(golden), F32)
    zeros = compare(np.zeros(16, np.float32), golden, "float32", F32)
    assert zeros.status is Status.MISMATCH and "atol 1e-07 refused" in zeros.message
    close = golden.astype(np.float32) * np.float32(1 + 2e-7)  # a few ulp: within rtol 1e-5
    assert compare(close, golden, "float32", F32).status is Status.PASS


def test_an_all_zero_golden_still_passes_zeros():
    assert not vacuous(np.zeros(4), F32)
    assert compare(np.zeros(4, np.float32), np.zeros(4), "float32", F32).status is Status.PASS


def test_a_refused_atol_keeps_a_floor_of_two_subnormals():
    tol, note = refuse_vacuous(F32, np.float64([2e-44]), np.dtype(np.float32))
    assert note and tol.rtol == F32.rtol and tol.atol == pytest.approx(2 * 1.401298e-45)
    one_ulp = compare(np.float32([1.401298e-45]), np.float64([0.0, 2e-44])[:1], "float32", F32)
    assert one_ulp.status is Status.PASS  # an all-zero golden: nothing to refuse


def test_an_rtol_of_one_half_or_more_cannot_pass_zeros_either():
    loose = dt.Tolerance(rtol=0.6, atol=0.0)
    out = compare(np.zeros(3, np.float32), np.float64([1, 2, 3]), "float32", loose)
    assert out.status is Status.MISMATCH


def test_narrow_reductions_scale_rtol_with_sqrt_k():
    assert dt.default_tolerance("float16", 4) == dt.default_tolerance("float16")  # 2u < 2e-3
    assert dt.default_tolerance("float16", 10_000).rtol == pytest.approx(100 * 2 ** -11)
    assert dt.default_tolerance("bfloat16", 2145).rtol == pytest.approx(2145 ** 0.5 * 2 ** -8)
    assert dt.default_tolerance("float32", 10_000) == F32  # wide types: the table


def test_reduces_gives_k_from_the_axis_param(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("""
category: reduction
ops:
  - op: sum
    dtypes: [float16]
    shapes: ["(5,6,7)"]
    reduces: axis
    variants: [{}, {params: {axis: 1}}, {params: {axis: [0, 2]}}]
  - op: matmul
    dtypes: [float16]
    shapes: ["(3,9) (9,4)"]
    reduces: -1
""")
    assert [c.reduction for c in load_file(path)] == [210, 6, 35, 9]
    case = load_file(path)[0]
    golden = np.full(3, 100.0)
    off = np.float16(100 * (1 + 0.006))  # 0.6%: beyond 2e-3, within sqrt(210) u = 0.7%
    assert compare_outputs([np.full(3, off)], [golden], case, []).status is Status.PASS
    assert compare(np.full(3, off), golden, "float16", dt.default_tolerance("float16")).status is Status.MISMATCH


def test_reduces_must_name_an_axis_of_the_first_input(tmp_path):
    from mlxport.model import InputError
    path = tmp_path / "r.yaml"
    path.write_text("category: reduction\nops:\n  - {op: sum, dtypes: [float16], shapes: ['(5,)'], reduces: 3}\n")
    with pytest.raises(InputError, match="reduces"):
        load_file(path)


# The float64 re-check, on arrays: golden g (float64), the target's float64 run p.
TOL = dt.default_tolerance("float32")  # rtol 1e-5, atol 1e-7


def _recheck(actual, golden, precise):
    case = _case()
    first = compare_outputs([actual], [golden], case, [])
    assert first.status is Status.MISMATCH
    return accuracy.recheck(first, [actual], [golden], [precise], case)


def test_a_result_nearer_the_targets_float64_answer_passes_with_a_note():
    golden = np.float64([1.0, 2.0])
    precise = golden * (1 + 0.9e-5)  # the target's float64 run: within tolerance of our golden
    actual = (golden * (1 + 1.5e-5)).astype(np.float32)  # fails ours by a little
    out = _recheck(actual, golden, precise)
    assert out.status is Status.PASS and "float64 re-check" in out.message


def test_a_genuinely_wrong_result_still_fails_the_recheck():
    golden = np.float64([1.0, 2.0])
    precise = golden.copy()  # the target's float64 run is right
    actual = (golden * (1 + 3e-5)).astype(np.float32)  # 3x the tolerance
    assert _recheck(actual, golden, precise).status is Status.MISMATCH


def test_a_bug_in_every_precision_is_not_rescued():
    golden = np.float64([1.0, 2.0])
    precise = golden * (1 + 3e-5)  # the float64 run has the same error
    actual = precise.astype(np.float32)
    assert _recheck(actual, golden, precise).status is Status.MISMATCH


def test_a_large_failure_is_not_rechecked():
    golden = np.float64([1.0, 2.0])
    precise = golden * (1 + 0.99e-5)
    actual = (golden * (1 + 60e-5)).astype(np.float32)  # 60x: not slight
    assert _recheck(actual, golden, precise).status is Status.MISMATCH


def test_a_wrong_dtype_or_shape_is_never_rescued():
    golden = np.float64([1.0, 2.0])
    case = _case(out=("float16",))  # the op should return float16; it returned float32
    for actual, precise in ((golden.astype(np.float32), golden), (np.float16([1.0]), golden[:1])):
        first = compare_outputs([actual], [golden], case, [])
        assert first.status is Status.MISMATCH and first.message.split()[0] in ("dtype", "shape")
        assert accuracy.recheck(first, [actual], [golden], [precise], case) is first


def test_no_float64_run_means_no_recheck():
    first = Outcome(Status.MISMATCH, "x")
    assert accuracy.recheck(first, [np.float32([1])], [np.float64([2])], None, _case()) is first


def test_only_narrow_elementwise_outputs_are_eligible():
    miss = Outcome(Status.MISMATCH, "x")
    assert accuracy.eligible(_case(), (np.zeros(1),), miss)
    assert not accuracy.eligible(_case("float64", ("float64",)), (np.zeros(1),), miss)
    assert not accuracy.eligible(_case(canonical="eig"), (np.zeros(1),), miss)
    assert not accuracy.eligible(_case(), (np.zeros(1),), Outcome(Status.PASS))


def test_the_precise_run_is_a_real_float64_call_on_the_target():
    mx = pytest.importorskip("mlx.core")
    del mx
    from mlxport.backends.mlx_backend import targets  # noqa: F401
    from mlxport.backends import discover
    from mlxport.inputs import generate
    from mlxport.runner import _precise

    target = next(t for t in discover() if t.name == "mlx:cpu")
    case = _case("float16", ("float16",))
    inputs = generate(case)
    wide = _precise(target, target.function("exp"), case, inputs)
    assert wide[0].dtype == np.float64
    exact = np.exp(inputs[0].value.astype(np.float64))
    assert np.max(np.abs(wide[0] - exact) / exact) < 1e-5  # float64 inputs, MLX's float32 exp
