"""The random references: each statistical test passes on samples of the right law and fails on
a law that is 2-5% off, checked with numpy's generator (and MLX's, where installed)."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from mlxport.references import lookup
from mlxport.references import random as R

N = 1 << 20  # the catalog's sample size: needed to see a 2% error
M = 1 << 18  # enough to see the 5% errors of the other tests, and 4x faster


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20261125)


def test_registered():
    for name in ("normal", "uniform", "truncated_normal", "gumbel", "laplace", "bernoulli",
                 "randint", "categorical", "permutation"):
        assert lookup(f"random.{name}") is getattr(R, name)


def test_erf_matches_math_erf():
    x = np.linspace(-6, 6, 2001)
    exact = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(R.erf(x) - exact)) < 2e-7


def test_ks_statistic_of_evenly_spread_sample_is_half_a_step():
    """Midpoint quantiles of U[0,1) are as close to the CDF as n points can be: 1/(2n)."""
    n = 1000
    sample = (np.arange(n) + 0.5) / n
    d = R.ks_statistic(sample, lambda x: np.clip(x, 0, 1))
    assert d == pytest.approx(0.5 / n)


def test_ks_statistic_sees_atoms():
    """All mass at 0.25 and 0.75 against U[0,1): off by 0.25 at each atom. A float64 grid is too
    fine to explain the atoms by rounding, so the allowance for rounding does not hide them."""
    sample = np.repeat([0.25, 0.75], 500)
    assert R.ks_statistic(sample, lambda x: np.clip(x, 0, 1)) == pytest.approx(0.25)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16])
def test_normal_passes_and_a_wrong_scale_or_mean_fails(rng, dtype):
    law = R.normal(shape=(N,))
    x = rng.standard_normal(N)
    assert law.shape == (N,)
    assert law.test(x.astype(dtype)) is None
    assert "KS statistic" in law.test((1.05 * x).astype(dtype))
    if dtype is not ml_dtypes.bfloat16:  # bfloat16 keeps 8 bits: a 2% shift is below its grid
        assert "KS statistic" in law.test((x + 0.02).astype(dtype))
        assert "KS statistic" in law.test((1.02 * x).astype(dtype))


def test_normal_loc_scale_and_complex(rng):
    x = rng.standard_normal(M)
    assert R.normal(shape=(M,), loc=2.0, scale=0.5).test(2 + 0.5 * x) is None
    assert R.normal(shape=(M,), loc=2.0, scale=0.5).test(2 + 0.525 * x) is not None
    z = (x + 1j * rng.standard_normal(M)) / math.sqrt(2)
    law = R.normal(shape=(M,), dtype=np.complex128)
    assert law.test(z.astype(np.complex64)) is None
    assert "imaginary part" in law.test(z.real + 1.05j * z.imag)
    assert law.test(np.full(M, np.nan)) is not None


def test_uniform(rng):
    u = rng.random(N)
    law = R.uniform(low=-3.0, high=5.0, shape=(N,))
    assert law.test(-3 + 8 * u) is None
    assert "KS statistic" in law.test(-3 + 8 * u ** 1.05)
    assert "outside" in law.test(-3 + 8.02 * u)
    # Truncation to the bfloat16 grid (steps of 2^-8 below 1) is a faithful rounding: allowed for
    # a bfloat16 sample, but the same values claimed as float64 are a law off by 0.004.
    down = np.where(u < 0.5, u, np.floor(u * 256) / 256)
    assert R.uniform(shape=(N,)).test(down.astype(ml_dtypes.bfloat16)) is None
    assert "KS statistic" in R.uniform(shape=(N,)).test(down)


def test_gumbel_and_laplace(rng):
    u = rng.random(M)
    gumbel = -np.log(-np.log(u))
    assert R.gumbel(shape=(M,)).test(gumbel) is None
    assert R.gumbel(shape=(M,)).test(gumbel + 0.03) is not None
    laplace = -1 + 3 * rng.laplace(size=M)
    assert R.laplace(shape=(M,), loc=-1.0, scale=3.0).test(laplace) is None
    assert R.laplace(shape=(M,), loc=-1.0, scale=3.0).test(1.05 * laplace) is not None


def test_truncated_normal(rng):
    x = rng.standard_normal(4 * M)
    kept = x[(x >= -1) & (x <= 2)][:M]
    law = R.truncated_normal(-1.0, 2.0, shape=kept.shape)
    assert law.test(kept) is None
    assert "outside" in law.test(np.append(kept[:-1], 2.01))
    shifted = x[(x >= -1.1) & (x <= 1.9)][:M] + 0.1  # the law of N(0.1, 1) on the same interval
    assert "KS statistic" in R.truncated_normal(-1.0, 2.0, shape=shifted.shape).test(shifted)


def test_multivariate_normal(rng):
    mean, cov = np.array([1.0, -2.0, 0.5]), np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]])
    x = rng.multivariate_normal(mean, cov, size=1 << 18)
    law = R.multivariate_normal(mean, cov, shape=[1 << 18])
    assert law.shape == (1 << 18, 3)
    assert law.test(x.astype(np.float32)) is None
    assert "component 1" in law.test(x * [1, 1.05, 1])
    wrong = cov.copy()
    wrong[0, 1] = wrong[1, 0] = -0.3  # right marginals, wrong correlation
    assert law.test(rng.multivariate_normal(mean, wrong, size=1 << 18)) is not None


def test_bernoulli(rng):
    law = R.bernoulli(p=0.3, shape=(M,))
    assert law.test(rng.random(M) < 0.3) is None
    assert law.test(rng.random(M) < 0.31) is not None
    assert R.bernoulli(p=0.3).shape == ()


def test_randint(rng):
    law = R.randint(-3, 9, shape=(M,))
    x = rng.integers(-3, 9, M)
    assert law.test(x) is None
    assert "outside" in law.test(np.append(x[:-1], 9))
    heavy = np.where(rng.random(M) < 0.005, -3, x)  # outcome -3 about 6% more likely
    assert "chi-square" in law.test(heavy)


def test_categorical(rng):
    logits = rng.standard_normal((4, 8))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    draws = np.stack([rng.choice(8, 1 << 16, p=row) for row in p])
    law = R.categorical(logits, num_samples=1 << 16)
    assert law.shape == (4, 1 << 16)
    assert law.test(draws) is None
    wrong = np.stack([rng.choice(8, 1 << 16, p=np.roll(row, 1)) for row in p])
    assert "chi-square" in law.test(wrong)
    by_shape = R.categorical(logits, shape=[1 << 14, 4])
    assert by_shape.shape == (1 << 14, 4) and by_shape.test(draws[:, : 1 << 14].T) is None
    along0 = R.categorical(logits.T, axis=0, num_samples=1 << 16)
    assert along0.test(draws) is None


def test_permutation(rng):
    law = R.permutation(1000)
    assert law.shape == (1000,)
    assert law.test(rng.permutation(1000)) is None
    assert "fixed points" in law.test(np.arange(1000))
    assert "not a permutation" in law.test(np.append(rng.permutation(999), 5))
    near = np.arange(1000)
    for i in range(0, 1000, 4):  # rotate blocks of 4: no fixed point, but order kept
        near[i:i + 4] = np.roll(near[i:i + 4], 1)
    assert "rank correlation" in law.test(near)


def test_permutation_of_rows(rng):
    x = rng.standard_normal((100, 3))
    law = R.permutation(x)
    assert law.shape == (100, 3)
    assert law.test(x[rng.permutation(100)].astype(np.float32)) is None
    assert law.test(x[::-1] + 1) is not None
    cols = R.permutation(x.T, axis=1)
    assert cols.test(x.T[:, rng.permutation(100)]) is None


def test_mlx_samples_pass_and_distorted_ones_fail():
    """The catalog's setting end to end: a raw uint32 (2,) array is MLX's key."""
    mx = pytest.importorskip("mlx.core")
    key = mx.array(np.array([0, 42], dtype=np.uint32))
    x = np.array(mx.random.normal(shape=(1024, 1024), key=key))
    assert R.normal(shape=(1024, 1024)).test(x) is None
    assert R.normal(shape=(1024, 1024)).test(1.05 * x) is not None
    h = np.array(mx.random.normal(shape=(1024, 1024), dtype=mx.float16, key=key))
    assert R.normal(shape=(1024, 1024)).test(h) is None
