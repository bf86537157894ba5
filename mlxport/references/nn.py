"""Golden references for mx.fast.*, the convolutions, the matmul family and hadamard_transform.

Each follows the MLX semantics read from mlx/fast.cpp and mlx/ops.cpp (0.32.x), in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import reference


@reference("fast.rms_norm")
def rms_norm(x, weight, eps):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last axis."""
    y = x / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + eps)
    return y if weight is None else y * weight


@reference("fast.layer_norm")
def layer_norm(x, weight, bias, eps):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last axis."""
    xc = x - np.mean(x, axis=-1, keepdims=True)
    y = xc / np.sqrt(np.mean(np.square(xc), axis=-1, keepdims=True) + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


@reference("fast.rope")
def rope(a, dims, *, traditional, base, scale, offset, freqs=None):
    """Rotate the first ``dims`` features of ``a`` (B, ..., T, D) by ``(offset + t) * scale / f``.

    ``f`` is ``base ** (2i / dims)`` or ``freqs[i]``. ``offset`` is an int or one per batch entry.
    Traditional pairs features (2i, 2i+1); otherwise (i, i + dims/2). MLX forms the angles in
    float32, so its error grows with position: allow about ``2**-23 * (offset + T) * max|a|``.
    """
    half = dims // 2
    inv_freq = 1.0 / (freqs if freqs is not None else base ** (np.arange(half) / half))
    offset = np.asarray(offset).reshape(-1, *([1] * (a.ndim - 1)))  # per batch entry, or one
    positions = (np.arange(a.shape[-2])[:, None] + offset) * scale  # (B|1, 1, ..., T, 1)
    cos, sin = np.cos(positions * inv_freq), np.sin(positions * inv_freq)
    x1, x2 = (a[..., 0:dims:2], a[..., 1:dims:2]) if traditional else (a[..., :half], a[..., half:dims])
    r1, r2 = x1 * cos - x2 * sin, x1 * sin + x2 * cos
    out = a.copy()
    if traditional:
        out[..., 0:dims:2], out[..., 1:dims:2] = r1, r2
    else:
        out[..., :half], out[..., half:dims] = r1, r2
    return out


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


@reference("fast.scaled_dot_product_attention")
def scaled_dot_product_attention(q, k, v, *, scale, mask=None, sinks=None, force_fused=False):
    """``softmax(q @ k.T * scale + mask) @ v`` per head; k/v heads are shared by query groups.

    ``mask``: None, ``"causal"`` (bottom-right aligned: query i sees keys ``<= i + T_kv - T_q``),
    an additive float array or a boolean array (False = masked), broadcast to (B, N_q, T_q, T_kv).
    Masked scores become the most negative float, as in MLX's composed path, so a fully masked
    row averages all of v (fused GPU kernels may give NaN or 0 there; avoid such rows).
    ``sinks`` (N_q,) adds one extra logit per head that takes probability mass but no value.
    ``force_fused`` picks MLX's kernel, not the result: the golden is the same.
    """
    n_rep = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, n_rep, axis=1), np.repeat(v, n_rep, axis=1)
    scores = scale * q @ np.swapaxes(k, -1, -2)
    t_q, t_kv = scores.shape[-2:]
    if isinstance(mask, str):
        if mask != "causal":
            raise ValueError(f"[fast.scaled_dot_product_attention] unknown mask {mask!r}")
        mask = np.arange(t_q)[:, None] + (t_kv - t_q) >= np.arange(t_kv)[None, :]
    if mask is not None and np.asarray(mask).dtype == np.bool_:
        scores = np.where(mask, scores, np.finfo(np.float64).min)
    elif mask is not None:
        scores = scores + mask
    if sinks is None:
        return _softmax(scores) @ v
    sink = np.broadcast_to(np.reshape(sinks, (1, -1, 1, 1)), (*scores.shape[:-1], 1))
    return _softmax(np.concatenate([sink, scores], axis=-1))[..., 1:] @ v


def _per_dim(value, nd: int) -> list[int]:
    """An int or a sequence of ints -> one int per spatial dimension."""
    return [int(v) for v in value] if isinstance(value, Sequence) else [int(value)] * nd


def _padding_pair(padding, nd: int) -> tuple[list[int], list[int]]:
    """MLX's ``padding``: int, one per dim, or a ``(low, high)`` pair of sequences."""
    if isinstance(padding, Sequence) and len(padding) == 2 and isinstance(padding[0], Sequence):
        return _per_dim(padding[0], nd), _per_dim(padding[1], nd)
    return _per_dim(padding, nd), _per_dim(padding, nd)


def _dilate_pad(x: np.ndarray, dilation: list[int], lo: list[int], hi: list[int]) -> np.ndarray:
    """Insert ``dilation - 1`` zeros between spatial entries, then pad (negative: crop)."""
    for axis, (d, pl, ph) in enumerate(zip(dilation, lo, hi), start=1):
        n = x.shape[axis]
        shape = list(x.shape)
        shape[axis] = (n - 1) * d + 1 + max(pl, 0) + max(ph, 0)
        out = np.zeros(shape, dtype=x.dtype)
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(max(pl, 0), max(pl, 0) + (n - 1) * d + 1, d)
        out[tuple(idx)] = x
        idx[axis] = slice(max(-pl, 0), shape[axis] - max(-ph, 0))
        x = out[tuple(idx)]
    return x


@reference("conv_general")
def conv_general(input, weight, stride=1, padding=0, kernel_dilation=1, input_dilation=1,
                 groups=1, flip=False):
    """Channels-last N-d cross-correlation (``flip=True``: convolution), weights (O, *k, I/groups).

    Padding applies to the input after ``input_dilation``, as in XLA's conv_general_dilated.
    MLX 0.32.4 differs when a negative padding meets ``input_dilation > 1``: it crops whole
    undilated samples, so its output is shorter (conv_transpose with ``p > d * (k - 1)``).
    """
    nd = input.ndim - 2
    lo, hi = _padding_pair(padding, nd)
    x = _dilate_pad(input, _per_dim(input_dilation, nd), lo, hi)
    x = x.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    w = np.flip(weight, axis=tuple(range(1, nd + 1))) if flip else weight
    w = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])  # (g, O/g, *k, I/g)
    kdil, stride = _per_dim(kernel_dilation, nd), _per_dim(stride, nd)
    span = [d * (k - 1) + 1 for d, k in zip(kdil, w.shape[2:-1])]
    win = sliding_window_view(x, span, axis=tuple(range(1, nd + 1)))  # (N, *out, g, I/g, *span)
    win = win[(slice(None), *(slice(None, None, s) for s in stride), slice(None), slice(None),
               *(slice(None, None, d) for d in kdil))]
    k_axes = "".join(chr(ord("p") + i) for i in range(nd))
    out = np.einsum(f"n...gc{k_axes},go{k_axes}c->n...go", win, w, optimize=True)
    return out.reshape(*out.shape[:-2], out.shape[-2] * out.shape[-1])  # not -1: N may be 0


@reference("conv1d", "conv2d", "conv3d")
def conv(input, weight, stride=1, padding=0, dilation=1, groups=1):
    """``conv1d``/``conv2d``/``conv3d``: symmetric padding, no input dilation, no flip."""
    return conv_general(input, weight, stride, padding, dilation, 1, groups, False)


@reference("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def conv_transpose(input, weight, stride=1, padding=0, dilation=1, output_padding=0, groups=1):
    """Transposed conv, weights (O, *k, I/groups): output ``(n-1)*s - 2p + d*(k-1) + 1 + op``.

    It is the flipped-kernel conv of the stride-dilated input padded by ``d*(k-1) - p`` below and
    ``d*(k-1) - p + output_padding`` above (MLX's ``conv_transpose_general``).
    """
    nd = input.ndim - 2
    span = [d * (k - 1) for d, k in zip(_per_dim(dilation, nd), weight.shape[1:-1])]
    lo = [s - p for s, p in zip(span, _per_dim(padding, nd))]
    hi = [l + op for l, op in zip(lo, _per_dim(output_padding, nd))]
    return conv_general(input, weight, 1, (lo, hi), dilation, stride, groups, True)


def _batch_flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(int(np.prod(x.shape[:-2])), *x.shape[-2:])  # not -1: a dim may be 0


@reference("gather_mm")
def gather_mm(a, b, lhs_indices=None, rhs_indices=None, *, sorted_indices=False):
    """``a[lhs] @ b[rhs]`` where the indices are flat over the batch dims of ``a`` and ``b``."""
    if lhs_indices is None and rhs_indices is None:
        return np.matmul(a, b)
    a2, b2 = np.atleast_2d(a), (b[:, None] if b.ndim == 1 else b)
    if lhs_indices is None:
        lhs_indices = np.arange(np.prod(a2.shape[:-2], dtype=int)).reshape(a2.shape[:-2])
    if rhs_indices is None:
        rhs_indices = np.arange(np.prod(b2.shape[:-2], dtype=int)).reshape(b2.shape[:-2])
    li, ri = np.broadcast_arrays(np.asarray(lhs_indices, int), np.asarray(rhs_indices, int))
    out = _batch_flat(a2)[li] @ _batch_flat(b2)[ri]
    out = out[..., 0, :] if a.ndim == 1 else out
    return out[..., 0] if b.ndim == 1 else out


def _mask_blocks(x: np.ndarray, mask, block: int) -> np.ndarray:
    """Apply a per-tile mask: bool tiles are set to 0 (even inf/NaN), float tiles are scaled."""
    mask = np.asarray(mask)
    full = np.repeat(np.repeat(mask, block, -2), block, -1)[..., :x.shape[-2], :x.shape[-1]]
    return np.where(full, x, 0.0) if mask.dtype == np.bool_ else x * full


@reference("block_masked_mm")
def block_masked_mm(a, b, block_size=64, mask_out=None, mask_lhs=None, mask_rhs=None):
    """``(a * lhs_mask) @ (b * rhs_mask) * out_mask`` with masks over ``block_size`` tiles.

    Boolean masks zero a tile; float masks scale it (MLX multiplies the tile by the value).
    """
    a2, b2 = np.atleast_2d(a), (b[:, None] if b.ndim == 1 else b)
    if mask_lhs is not None:
        a2 = _mask_blocks(a2, mask_lhs if a.ndim > 1 else np.expand_dims(mask_lhs, -2), block_size)
    if mask_rhs is not None:
        b2 = _mask_blocks(b2, mask_rhs if b.ndim > 1 else np.expand_dims(mask_rhs, -1), block_size)
    out = a2 @ b2
    if mask_out is not None:
        mo = mask_out if a.ndim > 1 else np.expand_dims(mask_out, -2)
        out = _mask_blocks(out, mo if b.ndim > 1 else np.expand_dims(mo, -1), block_size)
    out = out[..., 0, :] if a.ndim == 1 else out
    return out[..., 0] if b.ndim == 1 else out


@reference("segmented_mm")
def segmented_mm(a, b, segments):
    """For each ``(start, end)`` in ``segments`` (…, 2): ``a[:, start:end] @ b[start:end]``."""
    seg = np.asarray(segments, dtype=np.int64)
    flat = [a[:, s:e] @ b[s:e] if e > s else np.zeros((a.shape[0], b.shape[1]))
            for s, e in seg.reshape(-1, 2)]
    return np.array(flat).reshape(*seg.shape[:-1], a.shape[0], b.shape[1])


# MLX's Hadamard matrices of orders 12, 20 and 28 (mlx/backend/common/hadamard.h, taken from
# neilsloane.com/hadamard), one row per word. A size n = m * 2**k uses kron(H_m, Sylvester_2**k).
_H_ROWS = {
    12: """+-++++++++++ --+-+-+-+-+- +++-++----++ +---+--+-++- +++++-++---- +-+---+--+-+
           ++--+++-++-- +--++---+--+ ++----+++-++ +--+-++---+- ++++----+++- +-+--+-++---""",
    20: """+----+----++--++-++- -+----+---+++---+-++ --+----+---+++-+-+-+ ---+----+---+++++-+-
           ----+----++--++-++-+ -+++++-----+--+++--+ +-+++-+---+-+--+++-- ++-++--+---+-+--+++-
           +++-+---+---+-+--+++ ++++-----++--+-+--++ --++-+-++-+-----++++ ---++-+-++-+---+-+++
           +---++-+-+--+--++-++ ++---++-+----+-+++-+ -++---++-+----+++++- -+--+--++-+----+----
           +-+-----++-+----+--- -+-+-+---+--+----+-- --+-+++------+----+- +--+--++------+----+""",
    28: """+------++----++-+--+-+--++-- -+-----+++-----+-+--+-+--++- --+-----+++---+-+-+----+--++
           ---+-----+++---+-+-+-+--+--+ ----+-----+++---+-+-+++--+-- -----+-----++++--+-+--++--+-
           ------++----++-+--+-+--++--+ --++++-+-------++--+++-+--+- ---++++-+-----+-++--+-+-+--+
           +---+++--+----++-++--+-+-+-- ++---++---+----++-++--+-+-+- +++---+----+----++-++--+-+-+
           ++++--------+-+--++-++--+-+- -++++--------+++--++--+--+-+ -+-++-++--++--+--------++++-
           +-+-++--+--++--+--------++++ -+-+-++--+--++--+----+---+++ +-+-+-++--+--+---+---++---++
           ++-+-+-++--+------+--+++---+ -++-+-+-++--+------+-++++--- +-++-+---++--+------+-++++--
           -++--++-+-++-+++----++------ +-++--++-+-++-+++-----+----- ++-++---+-+-++-+++-----+----
           -++-++-+-+-+-+--+++-----+--- --++-++++-+-+----+++-----+-- +--++-+-++-+-+----+++-----+-
           ++--++-+-++-+-+----++------+""",
}


def hadamard_matrix(n: int) -> np.ndarray:
    """MLX's order-``n`` Hadamard matrix (unscaled): ``n = m * 2**k`` with m in (1, 12, 20, 28)."""
    m = next((f for f in (12, 20, 28) if n % f == 0), 1) if n & (n - 1) else 1
    if (n // m) & (n // m - 1):
        raise ValueError(f"[hadamard_transform] size {n} is not m * 2**k with m in (1, 12, 20, 28)")
    h = np.ones((1, 1))
    while h.shape[0] < n // m:
        h = np.block([[h, h], [h, -h]])
    if m == 1:
        return h
    rows = _H_ROWS[m].split()
    return np.kron(np.array([[1.0 if c == "+" else -1.0 for c in r] for r in rows]), h)


@reference("hadamard_transform")
def hadamard_transform(a, scale=None):
    """``a @ H.T * scale`` along the last axis; ``scale`` defaults to ``1 / sqrt(n)``."""
    n = a.shape[-1] if a.ndim else 1
    scale = 1.0 / np.sqrt(n) if scale is None else scale
    return a * scale if n == 1 else (a @ hadamard_matrix(n).T) * scale


@reference("addmm")
def addmm(c, a, b, alpha=1.0, beta=1.0):
    """``alpha * (a @ b) + beta * c``."""
    return alpha * np.matmul(a, b) + beta * c


@reference("fast.cross_entropy")
def cross_entropy(logits, targets):
    """``logsumexp(logits, -1) - logits[..., target]`` for class-index targets."""
    top = np.max(logits, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    lse = np.log(np.sum(np.exp(logits - top), axis=-1)) + top[..., 0]
    return lse - np.take_along_axis(logits, targets[..., None].astype(np.int64), axis=-1)[..., 0]
