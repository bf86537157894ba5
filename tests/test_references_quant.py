"""The quantization references against independent computations (bit loops, bounds, tables)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from mlxport.references import lookup
from mlxport.references import quant as Q

AFFINE = [(bits, gs) for bits in (2, 3, 4, 5, 6, 8) for gs in (32, 64, 128)]
ALL_BITS = [(1, 32), (1, 128)] + AFFINE


def bit_loop_unpack(words: np.ndarray, bits: int) -> np.ndarray:
    """Codes of one row of uint32 words, one bit at a time."""
    n = words.size * 32 // bits
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for b in range(bits):
            pos = i * bits + b
            out[i] |= ((int(words[pos // 32]) >> (pos % 32)) & 1) << b
    return out


def test_accepts_widened_inputs():
    """The runner widens uint32 words and uint8 scales to int64 before calling a reference."""
    w = np.random.default_rng(0).standard_normal((2, 3, 64))
    wq, scales, biases = Q.quantize(w, 32, 6)
    np.testing.assert_array_equal(Q.dequantize(wq.astype(np.int64), scales, biases, 32, 6),
                                  Q.dequantize(wq, scales, biases, 32, 6))
    fq, fs = Q.quantize(w, mode="mxfp8")
    np.testing.assert_array_equal(Q.dequantize(fq.astype(np.int64), fs.astype(np.int64), mode="mxfp8"),
                                  Q.dequantize(fq, fs, mode="mxfp8"))


def e2m1_value(code: int) -> float:
    """E2M1 decoded from its sign, 2 exponent bits and 1 mantissa bit."""
    sign, exp, man = code >> 3, (code >> 1) & 3, code & 1
    mag = man * 0.5 if exp == 0 else (1 + man / 2) * 2.0 ** (exp - 1)
    return -mag if sign else mag


def test_registered():
    for op in ("quantize", "dequantize", "quantized_matmul"):
        assert lookup(op) is getattr(Q, op)


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 8])
def test_unpack_matches_bit_loop(bits):
    words = np.random.default_rng(bits).integers(0, 2**32, (2, 3 * bits), dtype=np.uint32)
    for row in range(2):
        np.testing.assert_array_equal(Q.unpack(words, bits)[row], bit_loop_unpack(words[row], bits))
    np.testing.assert_array_equal(Q.pack(Q.unpack(words, bits), bits), words)


@pytest.mark.parametrize("bits,group_size", ALL_BITS)
def test_affine_codes_are_nearest_grid_points(bits, group_size):
    """Each code names the nearest of the group's 2**bits grid points ``bias + k * scale``.

    Inside the grid the error is at most half a step. MLX shrinks the step so that zero is a
    grid point, so the far end of a group may be clipped by up to one step, never more.
    """
    w = np.random.default_rng(bits * group_size).standard_normal((4, 256)).astype(np.float32)
    wq, scales, biases = Q.quantize(w.astype(np.float64), group_size, bits)
    assert wq.dtype == np.uint32 and wq.shape == (4, 256 * bits // 32)
    assert scales.shape == biases.shape == (4, 256 // group_size)
    grid = biases[..., None] + scales[..., None] * np.arange(2**bits)  # (4, groups, 2**bits)
    g = w.reshape(4, -1, group_size)
    dist = np.abs(g[..., None] - grid[:, :, None, :])
    codes = Q.unpack(wq, bits).reshape(g.shape)
    picked = np.take_along_axis(dist, codes[..., None], -1)[..., 0]
    np.testing.assert_allclose(picked, dist.min(-1), rtol=1e-6, atol=1e-7)
    step = np.abs(scales)[..., None]
    inside = (g >= grid.min(-1)[..., None]) & (g <= grid.max(-1)[..., None])
    assert np.all(picked[inside] <= (step / 2 * (1 + 1e-5) + 1e-7).repeat(group_size, -1)[inside])
    assert np.all(picked <= step * (1 + 1e-5))


@pytest.mark.parametrize("bits,group_size", AFFINE[::2])
def test_affine_recovers_a_known_grid(bits, group_size):
    """Values built on a zero-containing grid ``bias + k * scale`` quantize back to that grid."""
    rng = np.random.default_rng(bits + group_size)
    n = 2**bits - 1
    q0 = rng.integers((n + 1) // 2, n + 1, (3, 1))  # zero is code q0; |min| <= |max|
    bias = rng.uniform(0.5, 4, (3, 1)) * rng.choice([-1, 1], (3, 1))
    codes = rng.integers(0, n + 1, (3, group_size))
    codes[:, :2] = [0, n]
    w = (bias - bias / q0 * codes).astype(np.float32).astype(np.float64)
    wq, scales, biases = Q.quantize(w, group_size, bits)
    np.testing.assert_array_equal(Q.unpack(wq, bits), codes)
    np.testing.assert_allclose(scales, -bias / q0, rtol=1e-6)
    np.testing.assert_array_equal(biases, w[:, :1])


def test_one_bit_splits_at_the_midpoint():
    """One bit: bias = min, scale = max - min, code 1 strictly above the midpoint."""
    w = np.random.default_rng(9).integers(-4, 5, (3, 64)) / 2.0
    wq, scales, biases = Q.quantize(w, 32, 1)
    g = w.reshape(3, 2, 32)
    np.testing.assert_array_equal(biases, g.min(-1))
    np.testing.assert_array_equal(scales, g.max(-1) - g.min(-1))
    mid = (g.max(-1, keepdims=True) + g.min(-1, keepdims=True)) / 2
    np.testing.assert_array_equal(Q.unpack(wq, 1), (g > mid).reshape(3, 64))


def test_affine_ties_round_to_even_codes():
    """Halfway values take the even code, as ``std::rint`` does in MLX's CPU quantizer."""
    w = np.zeros((1, 32))
    w[0, :6] = [2.0, -1.0, 1.5, -0.5, 0.5, 0.0]  # bias 2, scale -1: steps at 2, 1, 0, -1
    wq, scales, biases = Q.quantize(w, 32, 2)
    assert (scales[0, 0], biases[0, 0]) == (-1.0, 2.0)
    assert list(Q.unpack(wq, 2)[0, :6]) == [0, 3, 0, 2, 2, 2]


def test_affine_keeps_zero_and_edge_exact():
    """MLX's scheme stores the larger-magnitude end as the bias and makes zero a code."""
    w = np.random.default_rng(3).standard_normal((2, 64))
    w[:, 5] = 0.0
    w = w.astype(np.float32).astype(np.float64)
    wq, scales, biases = Q.quantize(w, 32, 4)
    back = Q.dequantize(wq, scales, biases, 32, 4).reshape(2, 2, 32)
    assert np.all(np.abs(back[:, 0, 5]) <= 1e-6 * np.abs(scales[:, 0]))
    g = w.reshape(2, 2, 32)
    edge = np.where(-g.min(-1) > g.max(-1), g.min(-1), g.max(-1))
    np.testing.assert_array_equal(biases, edge.astype(np.float32))


@pytest.mark.parametrize("bits,group_size", [(3, 32), (4, 64), (6, 128), (8, 32)])
def test_affine_dequantize_matches_loops(bits, group_size):
    rng = np.random.default_rng(bits)
    wq = rng.integers(0, 2**32, (2, group_size * 2 * bits // 32), dtype=np.uint32)
    scales, biases = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    got = Q.dequantize(wq, scales, biases, group_size=group_size, bits=bits)
    for r in range(2):
        codes = bit_loop_unpack(wq[r], bits)
        want = [codes[i] * scales[r, i // group_size] + biases[r, i // group_size]
                for i in range(codes.size)]
        np.testing.assert_allclose(got[r], want, rtol=1e-15)


@pytest.mark.parametrize("transpose", [True, False])
def test_quantized_matmul_identity_gives_dense(transpose):
    """``I @ W.T`` is ``W.T`` and ``I @ W`` is ``W``, whatever dequantize computes."""
    rng = np.random.default_rng(1)
    rows, k = (8, 64) if transpose else (64, 8 * 4)
    w = rng.standard_normal((rows, k))
    wq, scales, biases = Q.quantize(w, 32, 4)
    dense = Q.dequantize(wq, scales, biases, 32, 4)
    eye = np.eye(k if transpose else rows)
    got = Q.quantized_matmul(eye, wq, scales, biases, transpose, 32, 4)
    np.testing.assert_array_equal(got, dense.T if transpose else dense)
    x = rng.standard_normal((3, k if transpose else rows))
    loop = [[sum(x[i, j] * (dense[n, j] if transpose else dense[j, n]) for j in range(x.shape[1]))
             for n in range(got.shape[1])] for i in range(3)]
    np.testing.assert_allclose(Q.quantized_matmul(x, wq, scales, biases, transpose, 32, 4), loop,
                               rtol=1e-12, atol=1e-12)


def test_e4m3_tables_match_ml_dtypes():
    codes = np.arange(256, dtype=np.uint8)
    want = codes.view(ml_dtypes.float8_e4m3fn).astype(np.float64)
    np.testing.assert_array_equal(Q.e4m3_decode(codes), want)
    x = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 50
    x = np.concatenate([x, want[np.isfinite(want)], (want[1:126] + want[:125]) / 2])
    np.testing.assert_array_equal(Q.e4m3_encode(x), x.astype(np.float32)
                                  .astype(ml_dtypes.float8_e4m3fn).view(np.uint8))
    assert list(Q.e4m3_encode(np.array([500.0, -1e9, np.inf]))) == [0x7E, 0xFE, 0x7E]


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8", "nvfp4"])
def test_fp_dequantize_matches_bit_fields(mode):
    gs, bits = Q._DEFAULTS[mode]
    rng = np.random.default_rng(5)
    wq = rng.integers(0, 2**32, (2, gs * bits // 32), dtype=np.uint32)
    scales = rng.integers(100, 140, (2, 1)) if mode != "nvfp4" else np.array([[56], [0x3A]])
    got = Q.dequantize(wq, scales, mode=mode)
    for r in range(2):
        codes = bit_loop_unpack(wq[r], bits)
        if bits == 4:
            values = np.array([e2m1_value(c) for c in codes])
        else:
            values = codes.astype(np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64)
        s = (2.0 ** (scales[r, 0] - 127) if mode != "nvfp4"
             else float(np.uint8(scales[r, 0]).view(ml_dtypes.float8_e4m3fn)))
        np.testing.assert_array_equal(got[r], values * s)


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8", "nvfp4"])
def test_fp_quantize_picks_nearest_code(mode):
    """Every code is a nearest representable value, and mx scales are the least power of two."""
    gs, bits = Q._DEFAULTS[mode]
    w = np.random.default_rng(2).standard_normal((4, 64)).astype(np.float32).astype(np.float64)
    wq, scales = Q.quantize(w, mode=mode)
    assert wq.dtype == np.uint32 and scales.dtype == np.uint8
    back = Q.dequantize(wq, scales, mode=mode)
    step = np.repeat(Q._fp_scales(scales, mode, None), gs, axis=-1)
    table = Q._FP4 if bits == 4 else Q.e4m3_decode(np.arange(256))
    table = table[np.isfinite(table)]
    best = np.abs(w[..., None] - table * step[..., None]).min(-1)
    np.testing.assert_allclose(np.abs(back - w), best, rtol=1e-6, atol=1e-12)
    if mode != "nvfp4":
        amax = np.abs(w).reshape(4, -1, gs).max(-1) / (6.0 if bits == 4 else 448.0)
        s = 2.0 ** (scales.astype(np.int64) - 127)
        assert np.all((amax <= s) & (amax > s / 2))


def test_nvfp4_global_scale_divides_out():
    w = np.random.default_rng(4).standard_normal((2, 32)) * 1e3
    gs = np.float32(np.abs(w).max())
    wq, scales = Q.quantize(w, mode="nvfp4", global_scale=gs)
    back = Q.dequantize(wq, scales, mode="nvfp4", global_scale=gs)
    assert np.max(np.abs(back - w)) <= np.abs(w).max() / 6  # half of the largest E2M1 gap, 2


mx = pytest.importorskip("mlx.core")
MX_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


@pytest.mark.parametrize("bits,group_size", ALL_BITS)
@pytest.mark.parametrize("dtype", MX_DTYPES)
def test_affine_quantize_bit_exact_vs_mlx(bits, group_size, dtype):
    """Secondary: MLX's CPU quantizer gives the same uint32 words (its scales are float32)."""
    w = np.random.default_rng(bits).standard_normal((8, 256)).astype(MX_DTYPES[dtype])
    got = mx.quantize(mx.array(w.astype(np.float32)).astype(getattr(mx, dtype)), group_size, bits)
    want = Q.quantize(w.astype(np.float64), group_size, bits)
    np.testing.assert_array_equal(np.array(got[0]), want[0])
    for g, r in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(np.array(g.astype(mx.float32)),
                                      r.astype(np.float32).astype(MX_DTYPES[dtype]).astype(np.float32))


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8", "nvfp4"])
def test_fp_quantize_bit_exact_vs_mlx(mode):
    w = np.random.default_rng(0).standard_normal((8, 128)).astype(np.float32)
    w[1] = np.round(w[1] * 4) / 4  # ties between E2M1 values
    got = mx.quantize(mx.array(w), mode=mode)
    want = Q.quantize(w.astype(np.float64), mode=mode)
    for g, r in zip(got, want):
        np.testing.assert_array_equal(np.array(g), r)
    deq = mx.dequantize(got[0], got[1], mode=mode, dtype=mx.float32)
    np.testing.assert_array_equal(np.array(deq), Q.dequantize(want[0], want[1], mode=mode))


@pytest.mark.parametrize("transpose", [True, False])
def test_quantized_matmul_vs_mlx(transpose):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 128)).astype(np.float32)
    x = rng.standard_normal((5, 128 if transpose else 64)).astype(np.float32)
    wq, s, b = mx.quantize(mx.array(w), 64, 5)
    got = mx.quantized_matmul(mx.array(x), wq, s, b, transpose=transpose, group_size=64, bits=5)
    want = Q.quantized_matmul(x.astype(np.float64), np.array(wq), np.array(s), np.array(b),
                              transpose=transpose, group_size=64, bits=5)
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-4)


def test_nvfp4_global_scale_bit_exact_vs_mlx():
    """float32 input: codes and scale bytes with a global scale equal MLX's CPU quantizer's."""
    w = np.random.default_rng(5).standard_normal((8, 128)).astype(np.float32)
    gs = np.float32(2.7)
    got = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(gs))
    want = Q.quantize(w.astype(np.float64), mode="nvfp4", global_scale=gs)
    for g, r in zip(got, want):
        np.testing.assert_array_equal(np.array(g), r)


def _half_nvfp4_replay(w: np.ndarray, gs: np.float32) -> np.ndarray:
    """Codes of MLX's composed nvfp4 quantizer, rounding to w's dtype where it computes in it."""
    t = w.dtype.type
    g = w.reshape(-1, 16)
    amax = (np.abs(g).max(-1, keepdims=True) / t(6.0)).astype(w.dtype)
    enc = np.float32(448.0 * 6.0) / gs
    scales = Q.e4m3_encode(amax.astype(np.float32) * enc)
    x = (g / Q.e4m3_decode(scales).astype(w.dtype)).astype(w.dtype).astype(np.float32) * enc
    return np.argmin(np.abs(x[..., None] - Q._FP4.astype(np.float32)), -1).reshape(w.shape)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_nvfp4_global_scale_divergence_is_double_rounding(dtype):
    """Backs the recorded divergence: MLX's codes are the replay's, and differ from ours."""
    w = np.random.default_rng(6).standard_normal((64, 256)).astype(MX_DTYPES[dtype])
    gs = np.float32(1.46)
    got = mx.quantize(mx.array(w.astype(np.float32)).astype(getattr(mx, dtype)), mode="nvfp4",
                      global_scale=mx.array(gs))
    codes = Q.unpack(np.array(got[0]), 4)
    np.testing.assert_array_equal(codes, _half_nvfp4_replay(w, gs))
    ours = Q.unpack(Q.quantize(w.astype(np.float64), mode="nvfp4", global_scale=gs)[0], 4)
    assert 0 < np.count_nonzero(codes != ours) < 0.01 * codes.size


def _half_qmm_replay(x, deq_t):
    """``x @ w.T`` with every product and partial sum rounded to x's dtype, k ascending."""
    out = np.zeros((x.shape[0], deq_t.shape[0]), x.dtype)
    for k in range(x.shape[1]):
        out = (out + (x[:, k:k + 1] * deq_t[None, :, k]).astype(x.dtype)).astype(x.dtype)
    return out


@pytest.mark.parametrize("bits,group_size", [(3, 32), (4, 64), (8, 128)])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_affine_qmm_divergence_is_half_accumulation(bits, group_size, dtype):
    """Backs the recorded divergence: MLX's CPU _qmm_t sums ``x * (scale * q + bias)`` in T."""
    t = MX_DTYPES[dtype]
    rng = np.random.default_rng(bits)
    w = rng.standard_normal((16, 256)).astype(np.float32)
    x = rng.standard_normal((3, 256)).astype(t)
    wq, s, b = Q.quantize(w.astype(np.float64), group_size, bits)
    s, b = s.astype(np.float32).astype(t), b.astype(np.float32).astype(t)
    codes = Q.unpack(wq, bits).astype(t)
    deq = (np.repeat(s, group_size, -1) * codes).astype(t) + np.repeat(b, group_size, -1)
    to_mx = lambda a: mx.array(a.astype(np.float32)).astype(getattr(mx, dtype))  # noqa: E731
    got = mx.quantized_matmul(to_mx(x), mx.array(wq), to_mx(s), to_mx(b), transpose=True,
                              group_size=group_size, bits=bits)
    want = _half_qmm_replay(x, deq.astype(t))
    np.testing.assert_array_equal(np.array(got.astype(mx.float32)), want.astype(np.float32))
    exact = Q.quantized_matmul(x.astype(np.float64), wq, s.astype(np.float64), b.astype(np.float64),
                               group_size=group_size, bits=bits)
    u = float(ml_dtypes.finfo(t).eps) / 2
    assert np.abs(want.astype(np.float64) - exact).max() > 64 * u  # beyond the catalog's atol


def _half_fp_replay(x, vals, scale, group_size, transpose):
    """MLX's CPU fp_qmm_t / fp_qmm in T: ``vals`` the decoded codes, ``scale`` per group, both T.
    fp_qmm_t sums ``x * v`` per group, then adds ``scale * gsum``; fp_qmm adds
    ``(x * scale) * v`` k by k. Every operation rounds to T."""
    t = x.dtype
    if not transpose:
        terms = ((x[:, None, :] * np.repeat(scale, group_size, -1).T[None]).astype(t)
                 * vals.T[None]).astype(t)  # (M, N, K)
        return _sum_in(terms, t)
    prod = (x[:, None, :] * vals[None]).astype(t)
    groups = prod.reshape(*prod.shape[:2], -1, group_size)
    gsum = _sum_in(groups.reshape(-1, groups.shape[2], group_size), t).reshape(groups.shape[:3])
    return _sum_in((scale[None] * gsum).astype(t), t)


def _sum_in(terms, t):
    """Sum over the last axis, k ascending, every partial sum rounded to ``t``."""
    out = np.zeros(terms.shape[:-1], t)
    for k in range(terms.shape[-1]):
        out = (out + terms[..., k]).astype(t)
    return out


@pytest.mark.parametrize("mode,transpose", [("affine", False), ("mxfp4", True), ("mxfp8", False),
                                            ("nvfp4", True)])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_gather_qmm_divergence_is_half_accumulation(mode, transpose, dtype):
    """Backs the recorded divergence on gather_qmm's other CPU loops (_qmm, fp_qmm_t, fp_qmm):
    each index pair's product is the in-T replay, bit for bit, and beyond the catalog's atol."""
    t = MX_DTYPES[dtype]
    rng = np.random.default_rng(len(mode) + transpose)
    gs, bits = Q._params(mode, None, None)
    w = rng.standard_normal((3, 32, 256) if transpose else (3, 256, 64)).astype(np.float32)
    x = rng.standard_normal((2, 2, 256)).astype(t)
    lhs, rhs = np.array([1, 0, 1], np.uint32), np.array([2, 2, 0], np.uint32)
    wq, s, *b = Q.quantize(w.astype(np.float64), gs, bits, mode)
    s = s if mode != "affine" else s.astype(np.float32).astype(t)
    b = [a.astype(np.float32).astype(t) for a in b]
    to_mx = lambda a: mx.array(a.astype(np.float32)).astype(getattr(mx, dtype))  # noqa: E731
    got = mx.gather_qmm(to_mx(x), mx.array(wq), to_mx(s) if b else mx.array(s), *map(to_mx, b),
                        lhs_indices=mx.array(lhs), rhs_indices=mx.array(rhs), transpose=transpose,
                        mode=mode)
    codes = Q.unpack(wq, bits)
    want = []
    for i, j in zip(lhs, rhs):
        if mode == "affine":
            deq = ((np.repeat(s[j], gs, -1) * codes[j].astype(t)).astype(t) + np.repeat(b[0][j], gs, -1)).astype(t)
            want.append(_half_qmm_replay(x[i], deq if transpose else deq.T))
        else:
            vals = (Q._FP4[codes[j]] if bits == 4 else Q.e4m3_decode(codes[j])).astype(t)
            want.append(_half_fp_replay(x[i], vals, Q._fp_scales(s[j], mode, None).astype(t), gs, transpose))
    want = np.stack(want)
    np.testing.assert_array_equal(np.array(got.astype(mx.float32)), want.astype(np.float32))
    exact = Q.gather_qmm(x.astype(np.float64), wq, s.astype(np.float64), *[a.astype(np.float64) for a in b],
                         lhs_indices=lhs, rhs_indices=rhs, transpose=transpose, mode=mode)
    u = float(ml_dtypes.finfo(t).eps) / 2
    assert np.abs(want.astype(np.float64) - exact).max() > 64 * u  # beyond the catalog's atol
