"""The nn references against independent computations: loops, complex numbers, scatter, norms."""

from __future__ import annotations

import cmath
import itertools
import math

import numpy as np
import pytest

from mlxport.references import lookup
from mlxport.references import nn as R

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def close(got, want, tol=1e-12):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_registered():
    for op, fn in [("fast.rms_norm", R.rms_norm), ("fast.rope", R.rope), ("conv2d", R.conv),
                   ("conv_transpose3d", R.conv_transpose), ("conv_general", R.conv_general),
                   ("fast.scaled_dot_product_attention", R.scaled_dot_product_attention),
                   ("hadamard_transform", R.hadamard_transform), ("segmented_mm", R.segmented_mm)]:
        assert lookup(op) is fn


@pytest.mark.parametrize("with_weight", [True, False])
def test_rms_norm_via_linalg_norm(with_weight):
    x, w = randn(3, 4, 10), randn(10)
    rms = np.linalg.norm(x, axis=-1, keepdims=True) / math.sqrt(10)
    want = x / np.sqrt(rms**2 + 1e-3) * (w if with_weight else 1)
    close(R.rms_norm(x, w if with_weight else None, eps=1e-3), want)


@pytest.mark.parametrize("weight,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_via_row_statistics(weight, bias):
    x, w, b = randn(5, 12) * 3 + 1, randn(12), randn(12)
    got = R.layer_norm(x, w if weight else None, b if bias else None, eps=1e-4)
    for row, out in zip(x, got):
        want = (row - row.mean()) / math.sqrt(row.var() + 1e-4)
        close(out, want * (w if weight else 1) + (b if bias else 0))


def rope_by_complex(a, dims, traditional, base, scale, offsets, freqs=None):
    """Rotate feature pairs as complex numbers ``z * exp(i * theta)``, one position at a time."""
    out = a.copy()
    half = dims // 2
    for idx in itertools.product(*map(range, a.shape[:-1])):
        t, off = idx[-1], offsets[idx[0] % len(offsets)]
        for i in range(half):
            f = freqs[i] if freqs is not None else base ** (2 * i / dims)
            j, k = (2 * i, 2 * i + 1) if traditional else (i, i + half)
            z = complex(a[idx][j], a[idx][k]) * cmath.exp(1j * (off + t) * scale / f)
            out[idx][j], out[idx][k] = z.real, z.imag
    return out


@pytest.mark.parametrize("traditional", [True, False])
@pytest.mark.parametrize("dims,offset", [(8, 0), (4, 3), (6, np.array([2, 9]))])
def test_rope_via_complex_rotation(traditional, dims, offset):
    a = randn(2, 3, 4, 8)
    got = R.rope(a, dims, traditional=traditional, base=500.0, scale=0.75, offset=offset)
    close(got, rope_by_complex(a, dims, traditional, 500.0, 0.75, np.atleast_1d(offset)))


def test_rope_with_freqs_and_3d_input():
    a, freqs = randn(2, 5, 6), np.array([1.0, 3.0, 7.5])
    got = R.rope(a, 6, traditional=False, base=None, scale=1.0, offset=4, freqs=freqs)
    close(got, rope_by_complex(a, 6, False, None, 1.0, [4], freqs))


def attention_by_loops(q, k, v, scale, keep, sinks=None):
    """Per batch, head and query: a softmax over the kept keys, with ``math.exp``."""
    out = np.zeros(q.shape[:-1] + v.shape[-1:])
    rep = q.shape[1] // k.shape[1]
    for b, h, i in itertools.product(*map(range, q.shape[:-1])):
        keys = [j for j in range(k.shape[2]) if keep(b, h, i, j)]
        logits = [scale * float(np.dot(q[b, h, i], k[b, h // rep, j])) for j in keys]
        top = max(logits + ([sinks[h]] if sinks is not None else []))
        weights = [math.exp(s - top) for s in logits]
        total = sum(weights) + (math.exp(sinks[h] - top) if sinks is not None else 0)
        out[b, h, i] = sum(wt * v[b, h // rep, j] for wt, j in zip(weights, keys)) / total
    return out


@pytest.mark.parametrize("t_q,t_kv", [(4, 4), (2, 5)])
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "additive"])
@pytest.mark.parametrize("with_sinks", [False, True])
def test_sdpa_via_per_head_loops(t_q, t_kv, mask, with_sinks):
    q, k, v = randn(2, 4, t_q, 3), randn(2, 2, t_kv, 3), randn(2, 2, t_kv, 5)
    sinks = randn(4) if with_sinks else None
    bool_mask = rng.random((2, 1, t_q, t_kv)) > 0.3
    bool_mask[..., -1] = True  # no fully masked rows: their meaning is backend-specific
    add_mask = np.where(bool_mask, 0.0, -np.inf)
    keep = {"none": lambda b, h, i, j: True,
            "causal": lambda b, h, i, j: j <= i + t_kv - t_q,
            "bool": lambda b, h, i, j: bool_mask[b, 0, i, j],
            "additive": lambda b, h, i, j: bool_mask[b, 0, i, j]}[mask]
    arg = {"none": None, "causal": "causal", "bool": bool_mask, "additive": add_mask}[mask]
    got = R.scaled_dot_product_attention(q, k, v, scale=0.4, mask=arg, sinks=sinks)
    close(got, attention_by_loops(q, k, v, 0.4, keep, sinks))


def test_sdpa_additive_mask_adds():
    q, k, v, m = randn(1, 2, 3, 4), randn(1, 2, 3, 4), randn(1, 2, 3, 4), randn(3, 3)
    shifted = R.scaled_dot_product_attention(q, k, v, scale=1.0, mask=m)
    for h, i in itertools.product(range(2), range(3)):
        s = q[0, h, i] @ k[0, h].T + m[i]
        p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        close(shifted[0, h, i], p @ v[0, h])


def conv_by_loops(x, w, stride, lo, hi, kdil, idil, groups, flip):
    """Direct definition: each output sums kernel taps that land on a real input sample."""
    nd = x.ndim - 2
    n_in, ks = x.shape[1:-1], w.shape[1:-1]
    full = [(n - 1) * d + 1 + l + h for n, d, l, h in zip(n_in, idil, lo, hi)]
    n_out = [(f - (k - 1) * d - 1) // s + 1 for f, k, d, s in zip(full, ks, kdil, stride)]
    o_per_g, c_per_g = w.shape[0] // groups, w.shape[-1]
    out = np.zeros((x.shape[0], *n_out, w.shape[0]))
    for b, pos, o in itertools.product(range(x.shape[0]), itertools.product(*map(range, n_out)),
                                       range(w.shape[0])):
        g, acc = o // o_per_g, 0.0
        for tap in itertools.product(*map(range, ks)):
            u = [p * s + t * d - l for p, s, t, d, l in zip(pos, stride, tap, kdil, lo)]
            if any(ui % di or not 0 <= ui // di < n for ui, di, n in zip(u, idil, n_in)):
                continue
            src = tuple(ui // di for ui, di in zip(u, idil))
            wtap = tuple(k - 1 - t for k, t in zip(ks, tap)) if flip else tap
            for c in range(c_per_g):
                acc += x[(b, *src, g * c_per_g + c)] * w[(o, *wtap, c)]
        out[(b, *pos, o)] = acc
    return out


@pytest.mark.parametrize("nd,stride,pad,kdil,groups", [
    (1, 1, 0, 1, 1), (1, 2, 2, 2, 2), (1, 3, 1, 1, 4),
    (2, (1, 2), (0, 1), (2, 1), 1), (2, 2, 1, 1, 2), (3, (1, 2, 1), (1, 0, 2), (1, 1, 2), 1),
])
def test_conv_via_loops(nd, stride, pad, kdil, groups):
    x = randn(2, *[7, 6, 5][:nd], 4)
    w = randn(4, *[3, 2, 2][:nd], 4 // groups)
    got = R.conv(x, w, stride=stride, padding=pad, dilation=kdil, groups=groups)
    per = lambda v: R._per_dim(v, nd)
    close(got, conv_by_loops(x, w, per(stride), per(pad), per(pad), per(kdil), [1] * nd, groups, False))


@pytest.mark.parametrize("kwargs", [
    dict(stride=[2, 1], padding=([1, 0], [2, 3])),
    dict(padding=1, kernel_dilation=2, input_dilation=[2, 3]),
    dict(flip=True, padding=[1, 2], groups=2),
    dict(padding=([-1, 2], [0, -2]), input_dilation=2),
])
def test_conv_general_via_loops(kwargs):
    groups = kwargs.get("groups", 1)
    x, w = randn(1, 5, 4, 4), randn(2, 3, 2, 4 // groups)
    lo, hi = R._padding_pair(kwargs.get("padding", 0), 2)
    want = conv_by_loops(x, w, R._per_dim(kwargs.get("stride", 1), 2), lo, hi,
                         R._per_dim(kwargs.get("kernel_dilation", 1), 2),
                         R._per_dim(kwargs.get("input_dilation", 1), 2), groups,
                         kwargs.get("flip", False))
    close(R.conv_general(x, w, **kwargs), want)


def conv_transpose_by_scatter(x, w, stride, pad, dil, out_pad, groups):
    """Definition: input sample i spreads ``x[i] * w[tap]`` to output ``i*s + tap*d - p``."""
    nd = x.ndim - 2
    ks, c_per_g, o_per_g = w.shape[1:-1], w.shape[-1], w.shape[0] // groups
    n_out = [(n - 1) * s - 2 * p + d * (k - 1) + 1 + op
             for n, s, p, d, k, op in zip(x.shape[1:-1], stride, pad, dil, ks, out_pad)]
    out = np.zeros((x.shape[0], *n_out, w.shape[0]))
    for b, src, tap in itertools.product(range(x.shape[0]), itertools.product(*map(range, x.shape[1:-1])),
                                         itertools.product(*map(range, ks))):
        dst = [i * s + t * d - p for i, s, t, d, p in zip(src, stride, tap, dil, pad)]
        if all(0 <= u < n for u, n in zip(dst, n_out)):
            for o in range(w.shape[0]):
                g = o // o_per_g
                xs = x[(b, *src)][g * c_per_g:(g + 1) * c_per_g]
                out[(b, *dst, o)] += xs @ w[(o, *tap)]
    return out


@pytest.mark.parametrize("nd,stride,pad,dil,out_pad,groups", [
    (1, 1, 0, 1, 0, 1), (1, 2, 1, 1, 1, 2), (1, 3, 2, 2, 1, 1), (1, 2, 1, 1, 0, 1),
    (2, (2, 1), (1, 0), (1, 2), (1, 0), 1), (2, 2, 1, 1, 1, 2), (3, (2, 1, 1), (1, 0, 1), 1, (1, 0, 0), 1),
])
def test_conv_transpose_via_scatter(nd, stride, pad, dil, out_pad, groups):
    x = randn(2, *[5, 4, 3][:nd], 4)
    w = randn(6, *[3, 2, 2][:nd], 4 // groups)
    per = lambda v: R._per_dim(v, nd)
    got = R.conv_transpose(x, w, stride=stride, padding=pad, dilation=dil, output_padding=out_pad,
                           groups=groups)
    close(got, conv_transpose_by_scatter(x, w, per(stride), per(pad), per(dil), per(out_pad), groups))


def test_conv_transpose_padding_beyond_kernel():
    """Padding larger than ``dilation * (k - 1)`` crops the full result (MLX crops too much)."""
    x, w = randn(1, 6, 2), randn(3, 1, 2)
    close(R.conv_transpose(x, w, stride=2, padding=1), conv_transpose_by_scatter(x, w, [2], [1], [1], [0], 1))


def test_gather_mm_via_loops():
    a, b = randn(2, 3, 4, 5), randn(4, 5, 6)
    lhs, rhs = rng.integers(0, 6, (3, 2)), rng.integers(0, 4, (3, 1))
    got = R.gather_mm(a, b, lhs, rhs)
    for i, j in itertools.product(range(3), range(2)):
        la, rb = np.unravel_index(lhs[i, j], (2, 3)), rhs[i, 0]
        close(got[i, j], [[sum(a[la][m, t] * b[rb, t, n] for t in range(5)) for n in range(6)]
                          for m in range(4)])
    close(R.gather_mm(a[0, 0], b, None, rhs[:, 0]), np.stack([a[0, 0] @ b[r] for r in rhs[:, 0]]))
    close(R.gather_mm(a, b[0]), a @ b[0])
    rhs = rng.integers(0, 4, (2, 3))  # lhs defaults to a's own batch entries, in order
    got = R.gather_mm(a, b, None, rhs)
    for i, j in itertools.product(range(2), range(3)):
        close(got[i, j], a[i, j] @ b[rhs[i, j]])


@pytest.mark.parametrize("dtype", [bool, float])
def test_block_masked_mm_via_loops(dtype):
    a, b, bs = randn(2, 40, 35), randn(2, 35, 33), 32
    mo, ml, mr = [(rng.random(s) > 0.4).astype(dtype) * (1 if dtype is bool else rng.random(s))
                  for s in [(2, 2, 2), (2, 2, 2), (1, 2, 2)]]
    got = R.block_masked_mm(a, b, bs, mo, ml, mr)
    for z, m, n in itertools.product(range(2), range(40), range(33)):
        lhs = np.array([ml[z, m // bs, t // bs] for t in range(35)], float)
        rhs = np.array([mr[0, t // bs, n // bs] for t in range(35)], float)
        want = float(np.dot(a[z, m] * lhs, b[z, :, n] * rhs)) * float(mo[z, m // bs, n // bs])
        assert abs(got[z, m, n] - want) <= 1e-12 * (1 + abs(want)), (z, m, n)


def test_block_masked_mm_bool_mask_clears_inf():
    """A False tile is cleared, inf and NaN included; a 0.0 float mask multiplies (inf*0 = NaN)."""
    a, b = np.ones((64, 32)), np.ones((32, 32))
    a[0, 0], a[40, 1] = np.inf, np.nan
    mask = np.array([[False], [True]])
    got = R.block_masked_mm(a, b, 32, None, mask)
    np.testing.assert_array_equal(got[:32], 0.0)
    with np.errstate(invalid="ignore"):
        scaled = R.block_masked_mm(a, b, 32, None, mask * 1.0)
    assert np.isnan(got[40]).all() and np.isnan(scaled[0]).all()


def test_segmented_mm_via_loops():
    a, b = randn(3, 10), randn(10, 4)
    seg = np.array([[[0, 3], [3, 10]], [[5, 5], [7, 4]]])
    got = R.segmented_mm(a, b, seg)
    assert got.shape == (2, 2, 3, 4)
    for i, j, m, n in itertools.product(range(2), range(2), range(3), range(4)):
        s, e = seg[i, j]
        close(got[i, j, m, n], sum(a[m, t] * b[t, n] for t in range(s, e)))


@pytest.mark.parametrize("n", [1, 2, 16, 12, 24, 20, 40, 28, 112])
def test_hadamard_matrix_is_hadamard(n):
    h = R.hadamard_matrix(n)
    assert set(np.unique(h)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(h @ h.T, n * np.eye(n))


def walsh_butterfly(x):
    """Fast Walsh-Hadamard transform, recursive, natural (Sylvester) order."""
    if x.shape[-1] == 1:
        return x
    lo, hi = walsh_butterfly(x[..., ::1][..., : x.shape[-1] // 2]), walsh_butterfly(x[..., x.shape[-1] // 2:])
    return np.concatenate([lo + hi, lo - hi], axis=-1)


def test_hadamard_transform_power_of_two_via_butterfly():
    x = randn(3, 64)
    close(R.hadamard_transform(x), walsh_butterfly(x) / 8)
    close(R.hadamard_transform(x, scale=0.25), walsh_butterfly(x) * 0.25)
    with pytest.raises(ValueError, match="hadamard"):
        R.hadamard_transform(randn(2, 36))


@pytest.mark.parametrize("m,k", [(12, 4), (20, 2), (28, 1)])
def test_hadamard_transform_two_stage(m, k):
    """MLX's CPU order: a butterfly within each of m blocks of 2**k, then H_m across blocks."""
    x = randn(2, m * 2**k)
    inner = walsh_butterfly(x.reshape(2, m, 2**k))
    h_m = np.array([[1.0 if c == "+" else -1.0 for c in row] for row in R._H_ROWS[m].split()])
    want = np.einsum("jb,zbi->zji", h_m, inner).reshape(2, -1) * 0.5
    close(R.hadamard_transform(x, scale=0.5), want)


def test_addmm_via_loops():
    c, a, b = randn(3, 4), randn(2, 3, 5), randn(5, 4)
    got = R.addmm(c, a, b, alpha=0.5, beta=-2.0)
    for z, m, n in itertools.product(range(2), range(3), range(4)):
        close(got[z, m, n], 0.5 * sum(a[z, m, t] * b[t, n] for t in range(5)) - 2.0 * c[m, n])


mx = pytest.importorskip("mlx.core")


def from_mlx(fn, *args, **kwargs):
    conv = lambda v: mx.array(v.astype(np.float32) if v.dtype == np.float64 else v) \
        if isinstance(v, np.ndarray) else v
    out = fn(*map(conv, args), **{k: conv(v) for k, v in kwargs.items()})
    return np.array(out).astype(np.float64)


@pytest.mark.parametrize("case", [
    ("fast.rope", (randn(2, 3, 5, 16), 8), dict(traditional=True, base=1e4, scale=0.5, offset=3)),
    ("fast.scaled_dot_product_attention", (randn(1, 4, 6, 8), randn(1, 2, 3, 8), randn(1, 2, 3, 8)),
     dict(scale=0.3, mask="causal")),
    ("conv_transpose2d", (randn(1, 5, 6, 4), randn(4, 3, 2, 2)),
     dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_general", (randn(1, 5, 6, 4), randn(3, 3, 2, 4)),
     dict(stride=[2, 1], padding=([1, 0], [2, 3]), input_dilation=2, flip=True)),
    ("hadamard_transform", (randn(2, 12 * 4),), {}),
    ("hadamard_transform", (randn(2, 20),), {}),
    ("hadamard_transform", (randn(2, 28 * 2),), dict(scale=0.5)),
    ("block_masked_mm", (randn(70, 40), randn(40, 50), 32, rng.random((3, 2)) > 0.5), {}),
], ids=lambda c: c[0])
def test_agrees_with_mlx_cpu(case):
    """Secondary check on MLX's CPU: the references mean what MLX means (float32 tolerance)."""
    op, args, kwargs = case
    fn = mx
    for part in op.split("."):
        fn = getattr(fn, part)
    want = lookup(op)(*args, **kwargs)
    np.testing.assert_allclose(from_mlx(fn, *args, **kwargs), want, rtol=2e-5, atol=2e-5)
