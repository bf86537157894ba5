"""MLX's dtype rules as mlxport states them, checked against the installed MLX."""

from __future__ import annotations

import itertools

import pytest

from mlxport import dtypes as dt

mx = pytest.importorskip("mlx.core")


def _mx(name):
    return getattr(mx, "bool_" if name == "bool" else name)


@pytest.mark.parametrize("a,b", list(itertools.combinations_with_replacement(dt.DTYPES, 2)))
def test_promotion_matches_mlx(a, b):
    got = mx.result_type(mx.zeros(1, _mx(a)), mx.zeros(1, _mx(b)))
    assert dt.promote(a, b) == dt.promote(b, a) == str(got).split(".")[-1].replace("bool_", "bool")


@pytest.mark.parametrize("name", list(dt.DTYPES))
def test_sum_accumulates_like_mlx(name):
    got = mx.sum(mx.zeros(2, _mx(name))).dtype
    assert dt.accumulated(name) == str(got).split(".")[-1]


def test_float_results_of_integers_are_float32():
    assert mx.exp(mx.zeros(1, mx.int16)).dtype == _mx(dt.inexact("int16"))
    assert dt.inexact("float16") == "float16" and dt.inexact("complex64") == "complex64"
