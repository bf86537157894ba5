"""The references added for full API coverage, against independent computations: ml_dtypes'
float8, explicit loops and sets on tiny inputs, and identities (A v = w v, istft(stft(x)) = x,
a delta rule that recalls what it stored)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from mlxport import canonical
from mlxport.references import lookup
from mlxport.references import quant, recurrent, signal
from mlxport.references import structural as S


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# --- elementwise, shape and indexing ----------------------------------------------------------

def test_slice_takes_the_box_at_the_start_indices(rng):
    a = rng.normal(size=(8, 9, 10))
    out = S.slice_(a, np.array([3, 2]), axes=[0, 2], slice_size=[4, 9, 5])
    assert out.shape == (4, 9, 5)
    for i, j, k in [(0, 0, 0), (3, 8, 4), (1, 5, 2)]:
        assert out[i, j, k] == a[3 + i, j, 2 + k]


def test_unique_against_a_set(rng):
    a = rng.integers(-3, 4, size=(5, 7))
    values, index, inverse, counts = S.unique(a, 10, True, True, True, fill_value=0)
    distinct = sorted(set(a.reshape(-1).tolist()))
    n = len(distinct)
    assert values[:n].tolist() == distinct and (values[n:] == 0).all()
    assert [a.reshape(-1).tolist().index(v) for v in distinct] == index[:n].tolist()
    assert counts[:n].tolist() == [a.reshape(-1).tolist().count(v) for v in distinct]
    assert (counts[n:] == 0).all() and (values[inverse] == a).all()


def test_unique_truncates_and_clamps_the_inverse():
    values, inverse = S.unique(np.array([5, 1, 3, 1]), 2, return_inverse=True)
    assert values.tolist() == [1, 3] and inverse.tolist() == [1, 0, 1, 0]
    assert S.unique(np.array([2.0, 2.0]), 3).tolist() == [2.0, 2.0, 2.0]  # padded with the first


def test_small_references():
    assert S.trunc(np.array([-1.7, 1.7, -0.2])).tolist() == [-1.0, 1.0, -0.0]
    assert S.positive(np.array([True, False])).tolist() == [True, False]
    assert S.allclose(np.array([1.0]), np.array([1.0 + 1e-9])).shape == ()
    assert not S.array_equal(np.zeros(3), np.zeros(4))
    low, high = S.minmax(np.array([[1, 5], [3, 2]]), axis=0)
    assert low.tolist() == [1, 2] and high.tolist() == [3, 5]
    assert S.asarray(np.array([1 + 2j]), np.float64).tolist() == [1.0]


# --- float8 -------------------------------------------------------------------------------------

def test_to_fp8_rounds_like_ml_dtypes_and_saturates(rng):
    x = np.concatenate([rng.normal(size=2000) * 10.0 ** rng.integers(-4, 3, size=2000),
                        [0.0, -0.0, 448.0, 464.0, -1e6, np.inf, -np.inf]]).astype(np.float32)
    got = quant.to_fp8(x)
    want = np.clip(x, -448, 448).astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
    assert (got == want).all()
    assert quant.to_fp8(np.array([np.nan, -np.nan], np.float32)).tolist() == [0x7F, 0xFF]


def test_from_fp8_decodes_every_byte_like_ml_dtypes():
    codes = np.arange(256, dtype=np.uint8)
    want = codes.view(ml_dtypes.float8_e4m3fn).astype(np.float64)
    np.testing.assert_array_equal(quant.from_fp8(codes), want)


# --- quantized matmuls ------------------------------------------------------------------------

def test_gather_qmm_is_a_loop_of_quantized_matmuls(rng):
    w = rng.integers(0, 2**32, size=(3, 8, 8), dtype=np.uint64).astype(np.uint32)
    scales, biases = rng.uniform(-0.1, 0.1, (3, 8, 1)), rng.uniform(-1, 1, (3, 8, 1))
    x = rng.normal(size=(2, 5, 64))
    lhs, rhs = np.array([1, 0, 1]), np.array([2, 2, 0])
    out = quant.gather_qmm(x, w, scales, biases, lhs, rhs, group_size=64, bits=4)
    for i, (l, r) in enumerate(zip(lhs, rhs)):
        want = quant.quantized_matmul(x[l], w[r], scales[r], biases[r], group_size=64, bits=4)
        np.testing.assert_allclose(out[i], want, rtol=1e-13)


def test_qqmm_of_an_input_on_the_grid_is_a_plain_matmul(rng):
    # Values of E2M1 times a power-of-two group scale survive mxfp4 quantization exactly.
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.5, -1, -1.5, -2, -3, -4, -6])
    x = rng.choice(grid, size=(4, 64))
    x[:, ::32] = 6.0  # every group's max is 6, so its scale is 1
    w = rng.normal(size=(8, 64))
    wq, ws = quant.quantize(w, mode="mxfp4")
    dense = quant.dequantize(wq, ws, mode="mxfp4")
    np.testing.assert_allclose(quant.qqmm(x, wq, ws, mode="mxfp4"), x @ dense.T, rtol=1e-13)


# --- fast -----------------------------------------------------------------------------------

def test_cross_entropy_is_minus_log_softmax(rng):
    logits, targets = rng.normal(size=(3, 10)) * 30, np.array([0, 9, 4])
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    want = -np.log(p[np.arange(3), targets])
    np.testing.assert_allclose(lookup("fast.cross_entropy")(logits, targets), want, rtol=1e-12)


def test_delta_rule_recalls_what_it_stored(rng):
    # Orthonormal keys, no decay, full update rate: querying key i returns value i exactly.
    keys = np.linalg.qr(rng.normal(size=(8, 8)))[0][:4]
    values = rng.normal(size=(4, 8))
    k = keys[None, :, None, :]
    v = values[None, :, None, :]
    ones = np.ones((1, 4, 1))
    y, state = recurrent.gated_delta_update(k, k, v, ones, ones)
    np.testing.assert_allclose(y[0, :, 0], values, atol=1e-12)
    np.testing.assert_allclose(state[0, 0] @ keys[2], values[2], atol=1e-12)  # (Dv, Dk) layout


def test_delta_rule_one_step_and_heads(rng):
    q, k = rng.normal(size=(2, 1, 1, 1, 8))
    v, g, beta = rng.normal(size=(1, 1, 2, 8)), np.full((1, 1, 2), 0.5), np.full((1, 1, 2), 0.25)
    y, _ = recurrent.gated_delta_update(q, k, v, g, beta)
    # From a zero state: S = k (beta v)^T, y = (q . k) beta v; both value heads read key head 0.
    for h in range(2):
        np.testing.assert_allclose(y[0, 0, h], (q[0, 0, 0] @ k[0, 0, 0]) * 0.25 * v[0, 0, h], rtol=1e-12)


# --- signal --------------------------------------------------------------------------------

def test_stft_is_a_windowed_dft_of_each_frame(rng):
    x, n_fft, hop = rng.normal(size=50), 8, 3
    window = rng.uniform(0, 1, size=6)
    out = signal.stft(x, n_fft=n_fft, hop_length=hop, win_length=6, window=window, center=False)
    w = np.concatenate([[0], window, [0]])
    for frame in range(out.shape[-1]):
        for f in range(out.shape[-2]):
            seg = x[frame * hop:frame * hop + n_fft] * w
            want = sum(seg[n] * np.exp(-2j * np.pi * f * n / n_fft) for n in range(n_fft))
            assert abs(out[f, frame] - want) < 1e-12
    assert out.shape == (n_fft // 2 + 1, (50 - n_fft) // hop + 1)


def test_istft_inverts_stft(rng):
    x = rng.normal(size=(2, 304))  # 20 frames of hop 16 cover it all
    window = np.hanning(66)[1:-1]
    spectrum = signal.stft(x, n_fft=64, hop_length=16, window=window)
    back = signal.istft(spectrum, n_fft=64, hop_length=16, window=window, length=304)
    np.testing.assert_allclose(back, x, atol=1e-12)


def test_convolve_is_the_sum_of_shifted_products(rng):
    a, v = rng.normal(size=6), rng.normal(size=3)
    want = [sum(a[i] * v[n - i] for i in range(6) if 0 <= n - i < 3) for n in range(8)]
    np.testing.assert_allclose(signal.convolve(a, v), want, rtol=1e-12)


# --- general eig ------------------------------------------------------------------------------

def test_eig_reference_solves_the_eigenproblem(rng):
    a = rng.normal(size=(3, 6, 6))
    w, v = lookup("linalg.eig")(a)
    assert w.dtype == np.complex128
    np.testing.assert_allclose(a @ v, v * w[..., None, :], atol=1e-12)


def test_general_eig_form_forgives_order_and_phase_only(rng):
    a = rng.normal(size=(5, 5))
    w, v = lookup("linalg.eig")(a)
    order, phase = rng.permutation(5), np.exp(1j * rng.uniform(0, 6, size=5))
    actual = [w[order], v[:, order] * phase]
    got, want, _ = canonical.apply("general_eig", actual, [w, v], [a], {})
    np.testing.assert_allclose(got[0], want[0], atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], atol=1e-12)
    got, want, _ = canonical.apply("general_eig", [w[order], np.conj(v[:, order])], [w, v], [a], {})
    assert np.abs(got[1] - want[1]).max() > 0.1  # conjugated vectors are not a phase away
