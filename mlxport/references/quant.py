"""Golden references for quantize, dequantize and quantized_matmul (MLX's packing, all modes).

Packing: every mode stores a row as one little-endian bit stream of ``bits``-wide codes (the
first element in the lowest bits of the first byte), read as uint32 words. This is what MLX's
byte-wise 3/5/6-bit layout and its nibble/byte layouts for 2/4/8 bits amount to.

Affine mode (MLX 0.32.4, CPU ``fast::Quantize``): per group, the endpoint of larger magnitude
(``edge``) is stored exactly as the bias, with code 0, and the scale is ``edge / q0`` so that
zero is an exact code. The scale is *negative* when ``|max| >= |min|``. MLX's docstring
(``bias = min``, ``scale = (max - min) / (2**bits - 1)``) only holds for ``bits=1``.

fp modes: mxfp4 (E2M1 codes, E8M0 scales, group 32), mxfp8 (E4M3 codes, E8M0 scales, group 32)
and nvfp4 (E2M1 codes, E4M3 scales, group 16, optional float32 ``global_scale``).
"""

from __future__ import annotations

import numpy as np

from . import real, reference

_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}
_FP4 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])


def _params(mode: str, group_size: int | None, bits: int | None) -> tuple[int, int]:
    """``(group_size, bits)`` with MLX's per-mode defaults filled in."""
    if mode not in _DEFAULTS:
        raise ValueError(f"[quantize] unknown mode {mode!r}")
    default_gs, default_bits = _DEFAULTS[mode]
    return group_size or default_gs, bits or default_bits


def unpack(w: np.ndarray, bits: int) -> np.ndarray:
    """Codes (int64) of packed uint32 words ``w``: each row is a little-endian bit stream."""
    stream = np.unpackbits(np.ascontiguousarray(w, dtype="<u4").view(np.uint8), axis=-1,
                           bitorder="little")
    fields = stream.reshape(*w.shape[:-1], -1, bits).astype(np.int64)
    return fields @ (1 << np.arange(bits, dtype=np.int64))


def pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`unpack`: codes in ``[0, 2**bits)`` -> uint32 words."""
    shifts = np.arange(bits, dtype=np.int64)
    stream = ((np.asarray(codes, dtype=np.int64)[..., None] >> shifts) & 1).astype(np.uint8)
    packed = np.packbits(stream.reshape(*codes.shape[:-1], -1), axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u4").astype(np.uint32)


def _groups(w: np.ndarray, group_size: int) -> np.ndarray:
    return w.reshape(*w.shape[:-1], w.shape[-1] // group_size, group_size)


def e4m3_decode(code: np.ndarray) -> np.ndarray:
    """float64 value of E4M3 (fn) bytes: bias 7, subnormals, 0x7F/0xFF are NaN, no inf."""
    code = np.asarray(code).astype(np.int64)
    exp, man = (code >> 3) & 15, code & 7
    mag = np.where(exp == 0, man / 8 * 2.0**-6, (1 + man / 8) * 2.0 ** (exp - 7))
    mag = np.where((code & 127) == 127, np.nan, mag)
    return np.where(code & 128, -mag, mag)


def e4m3_encode(x: np.ndarray) -> np.ndarray:
    """E4M3 bytes of float32 ``x`` as MLX's ``to_fp8`` does: nearest-even, saturating to 448."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32)
    sign, mag = bits & np.uint32(0x80000000), bits & np.uint32(0x7FFFFFFF)
    # Subnormal range: adding 2**-6 * 2**8 lets float32 addition do the rounding (as MLX does).
    denorm = np.uint32(141 << 23)
    low = (np.array(mag).view(np.float32) + denorm.view(np.float32)).view(np.uint32) - denorm
    odd = (mag >> 20) & 1
    high = (mag + np.uint32((((7 - 127) << 23) + 0x7FFFF) % 2**32) + odd) >> 20
    out = np.where(mag < (121 << 23), low, high)
    out = np.where(mag >= (543 << 21), 0x7E, out)  # also NaN and inf, like MLX
    return ((out & 0xFF) | (sign >> 24)).astype(np.uint8)


def _affine_scale_bias(g: np.ndarray, n_bins: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Per-group float32 scale and bias of MLX's CPU affine quantizer, in its order of operations."""
    w_max, w_min = g.max(-1), g.min(-1)
    scale = np.maximum((w_max - w_min) / n_bins, np.float32(1e-7))
    if n_bins == 1:  # MLX 0.32.4 quantizes one bit plainly: bias = min (measured, not in source)
        return scale, w_min
    use_min = np.abs(w_min) > np.abs(w_max)
    scale = np.where(use_min, scale, -scale)
    edge = np.where(use_min, w_min, w_max)
    q0 = np.rint(edge / scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(q0 != 0, edge / q0, scale).astype(np.float32)
    return scale, np.where(q0 != 0, edge, np.float32(0)).astype(np.float32)


def _affine_quantize(w: np.ndarray, group_size: int, bits: int) -> tuple:
    """MLX's CPU affine quantizer, step by step in float32 (see :func:`quantize`)."""
    g = _groups(w.astype(np.float32), group_size)
    n_bins = np.float32(2**bits - 1)
    scale, bias = _affine_scale_bias(g, n_bins)
    codes = np.clip(np.rint((g - bias[..., None]) / scale[..., None]), 0, n_bins)
    codes = codes.astype(np.int64).reshape(w.shape)
    return pack(codes, bits), scale.astype(np.float64), bias.astype(np.float64)


def _e8m0_exponent(s: np.ndarray) -> np.ndarray:
    """The power of two of an mx scale: exactly ``ceil(log2(s))``, 0 when ``s == 0``.

    MLX 0.32.4 rounds the scale *up* (measured: 6.0000005 / 6 -> 2**1), so no element exceeds
    the largest code; older sources rounded ``log2`` to nearest.
    """
    mant, exp = np.frexp(s)  # s = mant * 2**exp, mant in [0.5, 1)
    return np.where(s == 0, 0, np.where(mant == 0.5, exp - 1, exp)).astype(np.int64)


def _fp4_codes(x: np.ndarray) -> np.ndarray:
    """Index of the nearest E2M1 value, first index on ties (MLX's CPU argmin)."""
    return np.argmin(np.abs(x[..., None] - _FP4.astype(np.float32)), axis=-1)


def _fp_quantize(w: np.ndarray, mode: str, group_size: int, bits: int, global_scale) -> tuple:
    """MLX's CPU fp quantizer (ops.cpp ``fp_quantize`` fallback), in float32."""
    g = _groups(w.astype(np.float32), group_size)
    amax = np.abs(g).max(-1, keepdims=True) / np.float32(6.0 if bits == 4 else 448.0)
    if mode == "nvfp4":
        encode = np.float32(1.0)
        if global_scale is not None:
            encode = np.float32(448.0 * 6.0) / np.float32(np.asarray(global_scale).item())
        scales = e4m3_encode(amax * encode)
        with np.errstate(divide="ignore", invalid="ignore"):  # all-zero groups: 0/0, code 0
            x = g / e4m3_decode(scales).astype(np.float32) * encode
    else:
        exp = _e8m0_exponent(amax)
        x = g / np.float32(2.0) ** exp.astype(np.float32)
        scales = (exp + 127).astype(np.uint8)
    codes = _fp4_codes(x) if bits == 4 else e4m3_encode(x)
    return pack(codes.reshape(w.shape), bits), scales[..., 0]


@reference("quantize")
def quantize(w, group_size=None, bits=None, mode="affine", *, global_scale=None):
    """Packed codes (uint32), scales and, for affine, biases of ``w``, as MLX's CPU computes them.

    Affine follows ``fast::Quantize::eval_cpu`` step by step in float32, which MLX also uses for
    float16 and bfloat16 inputs, so ``w_q`` is bit-exact for all three (0 of 23.6M codes differ
    on MLX 0.32.4; the same algorithm in float64 differs in about 3 codes per million, by one).
    Compare ``w_q`` exactly; ``scales`` and ``biases`` after rounding to the input dtype (MLX
    stores them in it; these are the float32 values). Backend-independent: every code is the
    nearest grid point ``bias + k * scale``, so ``|dequantize - w| <= |scale| / 2`` inside the
    grid and ``<= |scale|`` overall (the far end of a group may be clipped by up to one step,
    since the step shrinks to put zero on the grid). GPU kernels round ties away from zero and
    start the max at 0, so their codes may differ by one on ties and on all-negative groups.

    fp modes follow the composed CPU fallback: ``scales`` are uint8 (E8M0 or E4M3 bytes) and
    everything is bit-exact for float32 input; for f16/bf16 MLX divides in the input dtype, so
    a few borderline codes (<= 1.3%, nvfp4) and scales may differ.
    """
    mode = str(mode)
    group_size, bits = _params(mode, group_size, bits)
    w = real(w, "quantize")
    if mode == "affine":
        return _affine_quantize(w, group_size, bits)
    return _fp_quantize(w, mode, group_size, bits, global_scale)


def _fp_scales(scales, mode: str, global_scale) -> np.ndarray:
    """float64 multipliers of stored fp-mode scale bytes."""
    code = np.asarray(scales).astype(np.int64)
    if mode != "nvfp4":
        return np.where(code == 255, np.inf, 2.0 ** (code - 127))  # 2**128 overflows in MLX
    decoded = e4m3_decode(code)
    if global_scale is not None:
        decoded = decoded * (float(np.asarray(global_scale).item()) / (448.0 * 6.0))
    return decoded


@reference("dequantize")
def dequantize(w, scales, biases=None, group_size=None, bits=None, mode="affine",
               global_scale=None, dtype=None):
    """``code * scale + bias`` per group (affine), or ``value(code) * scale`` (fp modes)."""
    mode = str(mode)
    group_size, bits = _params(mode, group_size, bits)
    codes = unpack(np.asarray(w), bits)
    if codes.shape[-1] != np.shape(scales)[-1] * group_size:
        raise ValueError(f"[dequantize] {np.shape(w)[-1]} words of {bits} bits do not fill "
                         f"{np.shape(scales)[-1]} groups of {group_size}")
    if mode == "affine":
        values = codes.astype(np.float64)
        mult, add = real(scales, "dequantize"), real(biases, "dequantize")
    else:
        values = _FP4[codes] if bits == 4 else e4m3_decode(codes)
        mult, add = _fp_scales(scales, mode, global_scale), np.zeros(np.shape(scales))
    out = _groups(values, group_size) * mult[..., None] + add[..., None]
    return out.reshape(codes.shape)


@reference("quantized_matmul")
def quantized_matmul(x, w, scales, biases=None, transpose=True, group_size=None, bits=None,
                     mode="affine"):
    """``x @ dequantize(w).T`` (``transpose=True``) or ``x @ dequantize(w)``, in float64."""
    dense = dequantize(w, scales, biases, group_size=group_size, bits=bits, mode=mode)
    dense = np.swapaxes(dense, -1, -2) if transpose else dense
    return np.matmul(real(x, "quantized_matmul"), dense)


@reference("to_fp8")
def to_fp8(x):
    """E4M3 (fn) bytes: nearest-even, finite overflow and ±inf saturating to ±448 (E4M3 has no
    infinity), NaN to the NaN byte 0x7F with its sign."""
    x32 = real(x, "to_fp8", np.float32)
    return np.where(np.isnan(x32), 0x7F | (np.signbit(x32).astype(np.uint8) << 7), e4m3_encode(x32))


@reference("from_fp8")
def from_fp8(x, dtype=None):
    """The value of each E4M3 byte (0x7F and 0xFF are NaN), rounded to ``dtype`` by the comparison."""
    return e4m3_decode(real(x, "from_fp8"))


def _dense(w, scales, biases, transpose, group_size, bits, mode, global_scale=None) -> np.ndarray:
    dense = dequantize(w, scales, biases, group_size=group_size, bits=bits, mode=mode,
                       global_scale=global_scale)
    return np.swapaxes(dense, -1, -2) if transpose else dense


@reference("gather_qmm")
def gather_qmm(x, w, scales, biases=None, lhs_indices=None, rhs_indices=None, transpose=True,
               group_size=None, bits=None, mode="affine", global_scale=None, sorted_indices=False):
    """``gather_mm`` of ``x`` and the dequantized (and, by default, transposed) ``w``."""
    from .nn import gather_mm

    dense = _dense(w, scales, biases, transpose, group_size, bits, mode, global_scale)
    return gather_mm(real(x, "gather_qmm"), dense, lhs_indices, rhs_indices)


def _requantized(x, group_size, bits, mode, global_scale) -> np.ndarray:
    """``x`` through quantize and dequantize: what a kernel that quantizes it on the fly sees."""
    packed = quantize(x, group_size, bits, mode, global_scale=global_scale)
    return dequantize(*packed, group_size=group_size, bits=bits, mode=mode, global_scale=global_scale)


@reference("qqmm")
def qqmm(x, w, scales=None, group_size=None, bits=None, mode="nvfp4", global_scale_x=None,
         global_scale_w=None):
    """``q(x) @ w.T``: ``x`` quantized on the fly, ``w`` dequantized if packed, else quantized."""
    return gather_qqmm(x, w, scales, None, None, group_size, bits, mode, global_scale_x, global_scale_w)


@reference("gather_qqmm")
def gather_qqmm(x, w, scales=None, lhs_indices=None, rhs_indices=None, group_size=None, bits=None,
                mode="nvfp4", global_scale_x=None, global_scale_w=None, sorted_indices=False):
    """``gather_mm(q(x), q(w).T)``, ``q`` a quantize-dequantize round trip (or the stored ``w``)."""
    from .nn import gather_mm

    xq = _requantized(x, group_size, bits, mode, global_scale_x)
    if scales is None:
        dense = np.swapaxes(_requantized(w, group_size, bits, mode, global_scale_w), -1, -2)
    else:
        dense = _dense(w, scales, None, True, group_size, bits, mode, global_scale_w)
    return gather_mm(xq, dense, lhs_indices, rhs_indices)
