"""mlxport's own CUDA kernels as MLX-signature functions on cupy arrays: :data:`KERNEL_OPS`.

``KERNEL_OPS["fast.rms_norm"](x, weight=w, eps=1e-5)`` takes and returns cupy arrays with MLX's
semantics. Each function shapes its inputs (contiguous rows, the reduced axes moved last),
allocates the outputs and hands a :class:`~.cuda_launch.Launch` to a device; with cupy that
compiles ``kernels/cuda/<op>.cu`` on first use. A case the kernels do not cover (another
quantization mode, float64, batched quantized weights) raises NotImplementedError: unsupported.

:func:`kernel_ops` builds the same table on another device, e.g. a numpy emulation in tests.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from .cuda_launch import (BITS, GROUP_SIZES, THREADS, WARPS, CupyDevice, Launch, ceil_div, ctype,
                          flat_grid, row_launch)


def _name(dtype: Any) -> str:
    return dt.name_of(np.dtype(dtype))


def _rows(xp, a, dtype: str, axes: tuple[int, ...]):
    """``a`` with ``axes`` moved last and flattened: a contiguous (rows, n) array, and the
    shape it had after the move."""
    moved = xp.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    n = math.prod(moved.shape[a.ndim - len(axes):])
    rows = math.prod(moved.shape[:a.ndim - len(axes)])
    return xp.ascontiguousarray(moved, dtype=dt.np_dtype(dtype)).reshape(rows, n), moved.shape


def _axes(a, axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(a.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(ax % a.ndim for ax in axes))


def _run_rows(device, source: str, x2, out, extra) -> None:
    if x2.shape[0]:
        device.launch(row_launch(source, x2, out, extra))


def _vector(xp, v, dtype: str, fill: int):
    """A norm's weight or bias as (array, stride): a missing one is a single ``fill`` (1 or 0)."""
    if v is None:  # made on the host: a copy needs no device kernel for the dtype
        return xp.asarray(np.full((1,), fill, dtype=dt.np_dtype(dtype))), np.int64(0)
    return xp.ascontiguousarray(v, dtype=dt.np_dtype(dtype)).reshape(-1), np.int64(1)


def rms_norm(device, x, weight=None, eps: float = 1e-5):
    """``mx.fast.rms_norm(x, weight, eps)`` over the last axis."""
    xp = device.xp
    dtype = _name(x.dtype) if weight is None else dt.promote(_name(x.dtype), _name(weight.dtype))
    ctype("fast.rms_norm", dt.np_dtype(dtype))
    x2, _ = _rows(xp, x, dtype, (x.ndim - 1,))
    w, w_stride = _vector(xp, weight, dtype, 1)
    out = xp.empty_like(x2)
    _run_rows(device, "rms_norm", x2, out, ((w,), (w_stride, np.float32(eps))))
    return out.reshape(x.shape)


def layer_norm(device, x, weight=None, bias=None, eps: float = 1e-5):
    """``mx.fast.layer_norm(x, weight, bias, eps)`` over the last axis."""
    xp = device.xp
    dtype = _name(x.dtype)
    for v in (weight, bias):
        dtype = dtype if v is None else dt.promote(dtype, _name(v.dtype))
    ctype("fast.layer_norm", dt.np_dtype(dtype))
    x2, _ = _rows(xp, x, dtype, (x.ndim - 1,))
    (w, w_stride), (b, b_stride) = _vector(xp, weight, dtype, 1), _vector(xp, bias, dtype, 0)
    out = xp.empty_like(x2)
    _run_rows(device, "layer_norm", x2, out, ((w, b), (w_stride, b_stride, np.float32(eps))))
    return out.reshape(x.shape)


def softmax(device, a, axis=None, precise: bool = False):
    """``mx.softmax(a, axis, precise)``; always accumulates in float32 (``precise`` is moot)."""
    xp, axes = device.xp, _axes(a, axis)
    dtype = dt.inexact(_name(a.dtype))
    ctype("softmax", dt.np_dtype(dtype))
    x2, moved = _rows(xp, a, dtype, axes)
    out = xp.empty_like(x2)
    _run_rows(device, "softmax", x2, out, ((), ()))
    back = tuple(range(a.ndim - len(axes), a.ndim))
    return xp.moveaxis(out.reshape(moved), back, axes)


def logsumexp(device, a, axis=None, keepdims: bool = False):
    """``mx.logsumexp(a, axis, keepdims)``."""
    xp, axes = device.xp, _axes(a, axis)
    dtype = dt.inexact(_name(a.dtype))
    ctype("logsumexp", dt.np_dtype(dtype))
    x2, moved = _rows(xp, a, dtype, axes)
    out = xp.empty((x2.shape[0],), dtype=x2.dtype)
    _run_rows(device, "logsumexp", x2, out, ((), ()))
    kept = [1 if ax in axes else size for ax, size in enumerate(a.shape)]
    return out.reshape(kept) if keepdims else out.reshape([s for ax, s in enumerate(a.shape)
                                                           if ax not in axes])


def rope(device, a, dims: int, *, traditional: bool, base, scale: float, offset, freqs=None):
    """``mx.fast.rope`` on (B, ..., T, D): the first ``dims`` features of each row rotated."""
    xp = device.xp
    if a.ndim < 3 or dims <= 0 or dims % 2 or dims > a.shape[-1]:
        raise ValueError(f"[rope] needs at least 3 dimensions and an even dims <= {a.shape[-1]}; "
                         f"got shape {tuple(a.shape)}, dims {dims}")
    if (base is None) == (freqs is None):
        raise ValueError("[rope] exactly one of base or freqs must have a value")
    kernel = f"rope<{ctype('fast.rope', a.dtype)}, {'true' if traditional else 'false'}>"
    x = xp.ascontiguousarray(a)
    out = x.copy() if dims < a.shape[-1] else xp.empty_like(x)  # features past dims pass through
    offsets = xp.ascontiguousarray(xp.asarray(offset, dtype=np.int32).reshape(-1))
    if offsets.size not in (1, a.shape[0]):
        raise ValueError(f"[rope] offset must be a scalar or have {a.shape[0]} entries")
    use_freqs = freqs is not None
    f = xp.ascontiguousarray(freqs if use_freqs else xp.ones((1,)), dtype=np.float32).reshape(-1)
    rows, half = math.prod(a.shape[:-1]), dims // 2
    log2_base = 0.0 if base is None else math.log2(np.float32(base))  # MLX's base is a float32
    args = (x, out, offsets, np.int64(offsets.size > 1), f, np.int32(use_freqs),
            np.float32(scale), np.float32(log2_base),
            np.int32(half), np.int32(a.shape[-2]), np.int32(a.shape[-1]),
            np.int64(rows // max(a.shape[0], 1)), np.int64(rows * half))
    if rows * half:
        device.launch(Launch("rope.cu", kernel, flat_grid(rows * half), (THREADS,), args))
    return out


def _affine(op: str, mode, group_size, bits) -> tuple[int, int]:
    """``(group_size, bits)`` of an affine call, or NotImplementedError for what has no kernel."""
    if str(mode) != "affine":
        raise NotImplementedError(f"[{op}] mode {str(mode)!r} has no CUDA kernel in mlxport")
    group_size, bits = group_size or 64, bits or 4
    if bits not in BITS:
        raise NotImplementedError(f"[{op}] bits={bits} has no CUDA kernel in mlxport "
                                  f"(bits {', '.join(map(str, BITS))})")
    if group_size not in GROUP_SIZES:
        raise ValueError(f"[{op}] group size {group_size} is not one of {GROUP_SIZES}")
    return group_size, bits


def _divides(op: str, what: str, size: int, group_size: int) -> None:
    if size % group_size:
        raise ValueError(f"[{op}] {what} {size} is not a multiple of the group size {group_size}")


def quantize(device, w, group_size=None, bits=None, mode="affine", *, global_scale=None):
    """``mx.quantize`` (affine): ``(w_q uint32, scales, biases)``, scales in ``w``'s dtype."""
    group_size, bits = _affine("quantize", mode, group_size, bits)
    xp, t = device.xp, ctype("quantize", w.dtype)
    if w.ndim < 2:
        raise ValueError(f"[quantize] needs at least 2 dimensions, got shape {tuple(w.shape)}")
    _divides("quantize", "the last dimension", w.shape[-1], group_size)
    x = xp.ascontiguousarray(w)
    wq = xp.empty((*w.shape[:-1], w.shape[-1] * bits // 32), dtype=np.uint32)
    scales = xp.empty((*w.shape[:-1], w.shape[-1] // group_size), dtype=w.dtype)
    biases = xp.empty_like(scales)
    if scales.size:
        device.launch(Launch("quantize.cu", f"affine_quantize<{t}, {bits}>",
                             (ceil_div(scales.size, WARPS),), (32, WARPS),
                             (x, wq, scales, biases, np.int32(group_size), np.int64(scales.size))))
    return wq, scales, biases


def dequantize(device, w, scales, biases=None, group_size=None, bits=None, mode="affine",
               global_scale=None, dtype=None):
    """``mx.dequantize`` (affine): ``code * scale + bias`` in the scales' dtype, then ``dtype``."""
    group_size, bits = _affine("dequantize", mode, group_size, bits)
    xp, t = device.xp, ctype("dequantize", scales.dtype)
    n = w.shape[-1] * 32 // bits
    if biases is None or scales.shape[-1] * group_size != n:
        raise ValueError(f"[dequantize] {w.shape[-1]} words of {bits} bits need "
                         f"{n // group_size} scales and biases per row")
    out = xp.empty((*w.shape[:-1], n), dtype=scales.dtype)
    args = (xp.ascontiguousarray(w, dtype=np.uint32), xp.ascontiguousarray(scales),
            xp.ascontiguousarray(biases, dtype=scales.dtype), out, np.int32(group_size),
            np.int64(w.size))
    if w.size:
        device.launch(Launch("dequantize.cu", f"affine_dequantize<{t}, {bits}>",
                             flat_grid(w.size), (THREADS,), args))
    return out if dtype is None else out.astype(dtype)


def quantized_matmul(device, x, w, scales, biases=None, transpose: bool = True, group_size=None,
                     bits=None, mode="affine"):
    """``mx.quantized_matmul`` (affine): ``x @ dequantize(w).T`` or ``x @ dequantize(w)``."""
    group_size, bits = _affine("quantized_matmul", mode, group_size, bits)
    xp, t = device.xp, ctype("quantized_matmul", x.dtype)
    if w.ndim != 2 or biases is None:
        raise NotImplementedError("[quantized_matmul] batched weights or no biases: "
                                  "no CUDA kernel in mlxport")
    per_word = 32 // bits
    n, k = (w.shape[0], w.shape[1] * per_word) if transpose else (w.shape[1] * per_word, w.shape[0])
    if x.shape[-1] != k:
        raise ValueError(f"[quantized_matmul] x has {x.shape[-1]} columns, w expects {k}")
    _divides("quantized_matmul", "the reduced size" if transpose else "the output size",
             k if transpose else n, group_size)
    x2 = xp.ascontiguousarray(x).reshape(-1, k)
    m = x2.shape[0]
    out = xp.empty((m, n), dtype=x.dtype)
    pointers = (x2, xp.ascontiguousarray(w, dtype=np.uint32),
                xp.ascontiguousarray(scales, dtype=x.dtype),
                xp.ascontiguousarray(biases, dtype=x.dtype), out)
    sizes = (np.int32(n), np.int32(k), np.int32(group_size))
    if m * n and transpose:
        device.launch(Launch("quantized_matmul.cu", f"qmm_t<{t}, {bits}>",
                             (m * ceil_div(n, WARPS),), (32, WARPS), (*pointers, *sizes)))
    elif m * n:
        threads = m * n // per_word
        device.launch(Launch("quantized_matmul.cu", f"qmm_n<{t}, {bits}>", flat_grid(threads),
                             (THREADS,), (*pointers, *sizes, np.int64(threads))))
    return out.reshape(*x.shape[:-1], n)


_OPS: dict[str, Callable] = {
    "fast.rms_norm": rms_norm, "fast.layer_norm": layer_norm, "fast.rope": rope,
    "softmax": softmax, "logsumexp": logsumexp, "quantize": quantize, "dequantize": dequantize,
    "quantized_matmul": quantized_matmul,
}


def kernel_ops(device) -> dict[str, Callable]:
    """The op table on ``device`` (anything with ``xp``, a numpy-like module, and ``launch``)."""
    return {op: functools.partial(fn, device) for op, fn in _OPS.items()}


KERNEL_OPS: dict[str, Callable] = kernel_ops(CupyDevice())
