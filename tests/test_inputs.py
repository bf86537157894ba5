"""Inputs: deterministic per case id, in their value class and domain, with real views."""

from __future__ import annotations

import numpy as np
import pytest

from mlxport import dtypes as dt
from mlxport.inputs import generate, make_array
from mlxport.model import Case, InputSpec


def _case(case_id="exp[float32,(64,64)]", **spec):
    spec = {"shape": (64, 64), "dtype": "float32", **spec}
    return Case(id=case_id, op="exp", category="unary", dtype=spec["dtype"], inputs=(InputSpec(**spec),))


def test_inputs_are_a_function_of_the_case_id():
    a, b = generate(_case()), generate(_case())
    assert np.array_equal(a[0].value, b[0].value)
    c = generate(_case("exp[float32,(64,64),other]"))
    assert not np.array_equal(a[0].value, c[0].value)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_small_and_large_classes_have_their_magnitudes(dtype):
    small = np.abs(generate(_case(dtype=dtype, values="small"))[0].value.astype(np.float64))
    large = np.abs(generate(_case(dtype=dtype, values="large"))[0].value.astype(np.float64))
    assert small.max() <= 1.01e-2 and small.min() >= 9e-7
    assert large.min() >= 99 and large.max() <= min(1.01e6, float(dt.np_dtype(dtype).type(65504)) if dtype == "float16" else 1.01e6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "complex64"])
def test_special_class_holds_every_special_value(dtype):
    x = generate(_case(dtype=dtype, values="special"))[0].value
    parts = [x.real, x.imag] if dtype == "complex64" else [x]
    x = parts[0].astype(np.float64)
    assert np.isnan(x).any() and (x == np.inf).any() and (x == -np.inf).any()
    assert (np.signbit(x) & (x == 0)).any() and (~np.signbit(x) & (x == 0)).any()
    tiny = float(np.finfo(np.float32).tiny) if dtype != "float16" else 6.1e-5
    assert ((x != 0) & (np.abs(x) < (tiny if dtype not in ("float64",) else 2.3e-308))).any()


def test_domain_is_respected_in_every_class():
    for values in ("normal", "small", "large"):
        x = generate(_case(values=values, domain=(1e-3, 5.0)))[0].value
        assert x.min() >= 1e-3 and x.max() <= 5.0, values


@pytest.mark.parametrize("dtype", dt.INTEGERS)
def test_integer_specials_are_the_extremes(dtype):
    x = generate(_case(dtype=dtype, values="special"))[0].value
    info = np.iinfo(dt.np_dtype(dtype))
    assert x.dtype == dt.np_dtype(dtype) and info.min in x and info.max in x and 0 in x


def test_views_are_real_views_of_a_contiguous_base():
    t = generate(_case(shape=(3, 5), layout="transposed"))[0]
    assert t.base.shape == (5, 3) and t.value.shape == (3, 5) and not t.value.flags.c_contiguous
    s = generate(_case(shape=(3, 5), layout="strided"))[0]
    assert s.base.shape == (3, 10) and s.value.shape == (3, 5)


def test_structures():
    rng = np.random.default_rng(0)
    spd = make_array(InputSpec(shape=(6, 6), dtype="float64", structure="spd"), rng)
    assert np.all(np.linalg.eigvalsh(spd) > 0)
    unique = make_array(InputSpec(shape=(10,), dtype="int32", structure="unique", domain=(0, 19)), rng)
    assert len(set(unique.tolist())) == 10 and unique.max() <= 19
    rows = make_array(InputSpec(shape=(3, 50), dtype="float32", structure="sorted"), rng)
    assert np.all(np.diff(rows, axis=-1) >= 0)


def test_empty_and_zero_d_shapes():
    assert generate(_case(shape=(0, 4)))[0].value.shape == (0, 4)
    assert generate(_case(shape=(), values="special"))[0].value.shape == ()


def test_quantized_structure_gives_packed_words_scales_and_biases():
    spec = InputSpec(shape=(4, 128), dtype="float16", structure="quantized")
    case = Case(id="dequantize[q]", op="dequantize", category="quantized", dtype="float16",
                inputs=(spec,), params={"group_size": 32, "bits": 4})
    words, scales, biases = (i.value for i in generate(case))
    assert words.dtype == np.uint32 and words.shape == (4, 128 * 4 // 32)
    assert scales.dtype == biases.dtype == np.float16 and scales.shape == biases.shape == (4, 128 // 32)
    from mlxport.references.quant import dequantize

    w = dequantize(words, scales.astype(np.float64), biases.astype(np.float64), group_size=32, bits=4)
    assert w.shape == (4, 128) and np.isfinite(w).all() and np.abs(w).max() < 10
