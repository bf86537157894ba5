"""MLX's ops in PyTorch's terms: the table of the ``torch`` targets. It holds the ops that are not
``torch.<op>`` under the same name and meaning; keywords arrive renamed (``axis`` -> ``dim``,
``keepdims`` -> ``keepdim``), and :mod:`.ported` adds MLX's dtype conventions around each."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import ported, torch_random, torch_unique


def _all_dims(a, dim):
    """``dim`` as a tuple, every axis for None: some torch reductions take no None."""
    if dim is None:
        return tuple(range(a.ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def _merged(a, dim):
    """``a`` with the axes ``dim`` moved last and merged into one, the axis order, and ``dim``."""
    dims = sorted(d % max(a.ndim, 1) for d in _all_dims(a, dim))
    order = [d for d in range(a.ndim) if d not in dims] + dims
    kept = [a.shape[d] for d in order[:a.ndim - len(dims)]]
    return a.permute(*order).reshape(*kept, -1), order, dims


def _one_dim(fn: Callable) -> Callable:
    """A reduction that torch runs over one axis, over any axes: they are merged into a last one."""

    def reduce(a, dim=None, keepdim=False, **kwargs):
        merged, _, dims = _merged(a, dim)
        out = fn(merged, -1, **kwargs)
        return out.reshape([1 if d in dims else n for d, n in enumerate(a.shape)]) if keepdim else out

    return reduce


def _along(fn: Callable) -> Callable:
    """An op along one axis (softmax), along any axes: they are merged into a last one."""

    def apply(a, dim=None, **kwargs):
        merged, order, _ = _merged(a, dim)
        out = fn(merged, -1, **kwargs).reshape([a.shape[d] for d in order])
        return out.permute(*sorted(range(a.ndim), key=order.__getitem__))

    return apply


def _wide(torch, a):
    """A float input for torch ops that refuse integers (mean, quantile): integers go to float64,
    so that a mean of large integers is not rounded first; half precision to float32."""
    if a.dtype in (torch.float16, torch.bfloat16):
        return a.float()
    return a if a.is_floating_point() or a.is_complex() else a.double()


def _scan(torch, fn: Callable, identity: Callable) -> Callable:
    """An MLX scan (``reverse``, exclusive when not ``inclusive``) from torch's inclusive one."""

    def scan(a, dim=None, reverse=False, inclusive=True, **kwargs):
        if dim is None:
            a, dim = a.reshape(-1), 0
        x = a.flip(dim) if reverse else a
        out = fn(x, dim, **kwargs)
        if not inclusive:
            head = torch.full_like(out.narrow(dim, 0, 1), identity(torch, out))
            out = torch.cat([head, out.narrow(dim, 0, out.shape[dim] - 1)], dim)
        return out.flip(dim) if reverse else out

    return scan


def _scalar(torch, value):
    """A Python scalar as MLX types it (:func:`ported.scalar_dtype`); arrays as they are."""
    if not isinstance(value, (bool, int, float)):
        return torch.as_tensor(value)
    return torch.tensor(value, dtype=getattr(torch, ported.scalar_dtype(value)))


def _linspace(torch):
    """MLX's linspace: computed in float32 (float64 for float64), then cast to ``dtype``."""

    def linspace(start, stop, num=50, endpoint=True, dtype=None):
        wide = torch.float64 if dtype == torch.float64 else torch.float32
        out = torch.linspace(start, stop, num + (not endpoint), dtype=wide)[:num]
        return out.to(dtype)

    return linspace


def _conv(torch, nd: int, transposed: bool) -> Callable:
    """MLX's channels-last conv (input N...C, weight O...I) through torch's channels-first one."""
    fn = getattr(torch.nn.functional, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")

    def conv(x, w, stride=1, padding=0, dilation=1, groups=1, **kwargs):
        # torch's transposed weight is (in, out / groups, ...); MLX's is (out, ..., in / groups)
        w = w.movedim(-1, 0) if transposed and groups == 1 else w.movedim(-1, 1)
        if transposed and groups != 1:
            raise NotImplementedError("grouped conv_transpose weights are not implemented in this port")
        out = fn(x.movedim(-1, 1), w, stride=stride, padding=padding, dilation=dilation, groups=groups, **kwargs)
        return out.movedim(1, -1)

    return conv


def _take(torch):
    def take(a, indices, dim=None):
        if dim is None:
            return a.reshape(-1)[indices.long()]
        return a[(slice(None),) * (dim % a.ndim) + (indices.long(),)]

    return take


def _sdpa(torch):
    def attention(q, k, v, scale, mask=None, sinks=None, force_fused=False):  # force_fused picks an MLX kernel
        if sinks is not None:
            raise NotImplementedError("attention sinks are not implemented in torch's scaled_dot_product_attention")
        if isinstance(mask, str):  # MLX aligns a causal mask to the bottom right, torch to the top left
            tq, tk = q.shape[-2], k.shape[-2]
            mask = torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril(tk - tq)
        return torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, scale=scale, enable_gqa=q.shape[-3] != k.shape[-3])

    return attention


def ops(torch) -> dict[str, Callable]:
    """The table, for the ``torch`` module."""
    F, fft = torch.nn.functional, torch.fft
    return {
        "equal": torch.eq, "power": torch.pow, "bitwise_invert": torch.bitwise_not,
        "left_shift": torch.bitwise_left_shift, "right_shift": torch.bitwise_right_shift,
        "divmod": lambda a, b: (torch.floor_divide(a, b), torch.remainder(a, b)),
        "clip": lambda a, a_min=None, a_max=None: torch.clip(a, a_min, a_max),
        "degrees": torch.rad2deg, "radians": torch.deg2rad, "conjugate": torch.conj_physical,
        "imag": lambda a: torch.imag(a) if a.is_complex() else torch.zeros_like(a),
        "stop_gradient": lambda a: a.detach(),
        "arange": lambda *args, dtype=None: torch.arange(*args, dtype=dtype or getattr(torch, ported.scalar_dtype(*args))),
        "linspace": _linspace(torch),
        "eye": lambda n, m=None, k=0, dtype=None: (
            torch.ones(n, m or n, dtype=torch.bool).tril(k) ^ torch.ones(n, m or n, dtype=torch.bool).tril(k - 1)).to(dtype),
        "identity": lambda n, dtype=None: torch.eye(n, dtype=dtype),
        "tri": lambda n, m=None, k=0, dtype=None: torch.ones(n, m or n, dtype=torch.bool).tril(k).to(dtype),
        "zeros": lambda shape, dtype=None: torch.zeros(shape, dtype=dtype),
        "ones": lambda shape, dtype=None: torch.ones(shape, dtype=dtype),
        "full": lambda shape, vals, dtype=None: torch.broadcast_to(_scalar(torch, vals), shape).to(dtype).clone(),
        "full_like": lambda a, vals, dtype=None: torch.full_like(a, vals, dtype=dtype),
        "bartlett": lambda M: torch.bartlett_window(M, periodic=False),
        "hanning": lambda M: torch.hann_window(M, periodic=False),
        "hamming": lambda M: torch.hamming_window(M, periodic=False),
        "blackman": lambda M: torch.blackman_window(M, periodic=False),
        "fast.rms_norm": lambda x, weight=None, eps=1e-5: F.rms_norm(x, x.shape[-1:], weight, eps),
        "fast.layer_norm": lambda x, weight=None, bias=None, eps=1e-5: F.layer_norm(x, x.shape[-1:], weight, bias, eps),
        "fast.scaled_dot_product_attention": _sdpa(torch),
        **{f"conv{n}d": _conv(torch, n, False) for n in (1, 2, 3)},
        **{f"conv_transpose{n}d": _conv(torch, n, True) for n in (1, 2, 3)},
        **{f"fft.{n}": (lambda f: lambda a, n=None, dim=-1, norm="backward": f(a, n, dim, norm))(getattr(fft, n))
           for n in ("fft", "ifft", "rfft", "irfft")},
        **{f"fft.{n}": (lambda f: lambda a, s=None, axes=None, **kw: f(a, s, **kw, **({} if axes is None else {"dim": axes})))(getattr(fft, n))
           for n in ("fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn")},
        **{f"fft.{n}": (lambda f: lambda a, axes=None: f(a, dim=axes))(getattr(fft, n)) for n in ("fftshift", "ifftshift")},
        "take": _take(torch),
        **torch_random.samplers(torch),
        "take_along_axis": lambda a, indices, dim=None: torch.take_along_dim(a, indices.long(), dim),
        "put_along_axis": _put_along_axis,
        "at.add": lambda a, idx, v: a.index_put((idx.long(),), v.to(a.dtype), accumulate=True),
        "at.subtract": lambda a, idx, v: a.index_put((idx.long(),), (-v).to(a.dtype), accumulate=True),
        "at.multiply": _scatter("prod"),
        "at.divide": _scatter("prod", torch.reciprocal),  # MLX multiplies by 1 / values
        "at.maximum": _scatter("amax"), "at.minimum": _scatter("amin"),
        "slice_update": _slice_update, "setitem": _setitem(torch),
        "getitem": lambda a, index: a[_index(torch, index)],
        "linalg.svd": lambda a, compute_uv=True: torch.linalg.svd(a) if compute_uv else torch.linalg.svdvals(a),
        "linalg.cholesky_inv": lambda a, upper=False: torch.cholesky_inverse(a, upper=upper),
        "linalg.tri_inv": lambda a, upper=False: torch.linalg.solve_triangular(
            a, torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a), upper=upper),
        "linalg.solve_triangular": lambda a, b, upper=False: torch.linalg.solve_triangular(
            a, b.unsqueeze(-1), upper=upper).squeeze(-1) if b.ndim == a.ndim - 1 else torch.linalg.solve_triangular(a, b, upper=upper),
        "linalg.cross": lambda a, b, dim=-1: torch.linalg.cross(*torch.broadcast_tensors(a, b), dim=dim),
        "linalg.lu": lambda a: (lambda p, lo, up: (p.argmax(-1).to(torch.uint32), lo, up))(*torch.linalg.lu(a)),
        "linalg.lu_factor": lambda a: (lambda lu, piv: (lu, (piv - 1).to(torch.uint32)))(*torch.linalg.lu_factor(a)),
        "linalg.norm": lambda a, ord=None, dim=None, keepdim=False: torch.linalg.norm(a, ord, dim, keepdim),
        "addmm": lambda c, a, b, alpha=1.0, beta=1.0: (torch.addmm if a.ndim == 2 else torch.baddbmm)(c, a, b, beta=beta, alpha=alpha),
        "outer": lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)),
        "tensordot": lambda a, b, axes=2: torch.tensordot(a, b, dims=axes),
        "sum": lambda a, dim=None, keepdim=False: torch.sum(a, _all_dims(a, dim), keepdim),
        "prod": _one_dim(torch.prod),
        "max": lambda a, dim=None, keepdim=False: torch.amax(a, _all_dims(a, dim), keepdim),
        "min": lambda a, dim=None, keepdim=False: torch.amin(a, _all_dims(a, dim), keepdim),
        "mean": lambda a, dim=None, keepdim=False: torch.mean(_wide(torch, a), _all_dims(a, dim), keepdim),
        "var": lambda a, dim=None, keepdim=False, ddof=0: torch.var(
            _wide(torch, a), _all_dims(a, dim), correction=ddof, keepdim=keepdim),
        "std": lambda a, dim=None, keepdim=False, ddof=0: torch.std(
            _wide(torch, a), _all_dims(a, dim), correction=ddof, keepdim=keepdim),
        "all": lambda a, dim=None, keepdim=False: torch.all(a, _all_dims(a, dim), keepdim),
        "any": lambda a, dim=None, keepdim=False: torch.any(a, _all_dims(a, dim), keepdim),
        "argmax": _one_dim(torch.argmax), "argmin": _one_dim(torch.argmin),
        "logsumexp": lambda a, dim=None, keepdim=False: torch.logsumexp(a, _all_dims(a, dim), keepdim),
        "softmax": _along(lambda a, dim, precise=False: torch.softmax(a, dim)),
        "count_nonzero": _one_dim(torch.count_nonzero),
        "median": _one_dim(lambda a, dim: torch.quantile(_wide(torch, a), 0.5, dim)),
        "cumsum": _scan(torch, lambda a, dim, dtype=None: torch.cumsum(a, dim, dtype=dtype), lambda t, out: 0),
        "cumprod": _scan(torch, torch.cumprod, lambda t, out: 1),
        "cummax": _scan(torch, lambda a, dim: torch.cummax(a, dim).values, _lowest),
        "cummin": _scan(torch, lambda a, dim: torch.cummin(a, dim).values, _highest),
        "logcumsumexp": _scan(torch, torch.logcumsumexp, lambda t, out: -float("inf")),
        "transpose": lambda a, axes=None: a.permute(tuple(axes) if axes is not None else tuple(reversed(range(a.ndim)))),
        "broadcast_to": lambda a, shape: torch.broadcast_to(a, shape),
        "tile": lambda a, reps: torch.tile(a, (reps,) if isinstance(reps, int) else tuple(reps)),
        "swapaxes": lambda a, axis1, axis2: torch.swapaxes(a, axis1, axis2),
        # MLX takes an array as the sequence of its rows, as numpy does.
        "concatenate": lambda arrays, dim=0: torch.cat([x.reshape(-1) for x in arrays]) if dim is None else torch.cat(tuple(arrays), dim),
        "stack": lambda arrays, dim=0: torch.stack(tuple(arrays), dim),
        "split": lambda a, indices_or_sections, dim=0: torch.tensor_split(a, indices_or_sections, dim),
        "pad": _pad(torch),
        "flip": lambda a, dim=None: torch.flip(a, _all_dims(a, dim)),
        "roll": lambda a, shift, dim=None: torch.roll(a, shift, dim if dim is not None else ()),
        "repeat": lambda a, repeats, dim=None: torch.repeat_interleave(a, repeats, dim),
        "squeeze": lambda a, dim=None: a.squeeze() if dim is None else a.squeeze(dim),
        "expand_dims": _expand_dims,
        "flatten": lambda a, start_axis=0, end_axis=-1: torch.flatten(a, start_axis, end_axis),
        "unflatten": lambda a, dim, shape: torch.unflatten(a, dim, shape),
        "tril": lambda a, k=0: torch.tril(a, k), "triu": lambda a, k=0: torch.triu(a, k),
        "diag": lambda a, k=0: torch.diag(a, k),
        "diagonal": lambda a, offset=0, axis1=0, axis2=1: torch.diagonal(a, offset, axis1, axis2),
        "trace": lambda a, offset=0, axis1=0, axis2=1: torch.diagonal(a, offset, axis1, axis2).sum(-1),
        "astype": lambda a, dtype: a.to(dtype),
        "as_strided": lambda a, shape=None, strides=None, offset=0: torch.as_strided(a.contiguous(), shape, strides, offset),
        "meshgrid": lambda *arrays, indexing="xy": torch.meshgrid(*arrays, indexing=indexing),
        "view": lambda a, dtype: a.contiguous().view(dtype),  # MLX views the logical elements
        "sort": lambda a, dim=-1: torch.sort(a.reshape(-1) if dim is None else a, 0 if dim is None else dim).values,
        "argsort": lambda a, dim=-1: torch.argsort(a.reshape(-1) if dim is None else a, dim=0 if dim is None else dim, stable=True),
        # A full sort is a valid partition: every element lands on the right side of the kth.
        "partition": lambda a, kth, dim=-1: torch.sort(a.reshape(-1) if dim is None else a, 0 if dim is None else dim).values,
        "argpartition": lambda a, kth, dim=-1: torch.argsort(a.reshape(-1) if dim is None else a, dim=0 if dim is None else dim),
        "topk": lambda a, k, dim=-1: torch.topk(a.reshape(-1) if dim is None else a, k, 0 if dim is None else dim).values,
        "searchsorted": lambda a, v, side="left": torch.searchsorted(a, v, side=side),
        "sign": lambda a: torch.sgn(a) if a.is_complex() else torch.sign(a),
        # MLX's allclose is a 0-d bool array; torch.allclose returns a Python bool.
        "allclose": lambda a, b, rtol=1e-5, atol=1e-8, equal_nan=False: torch.isclose(a, b, rtol, atol, equal_nan).all(),
        "unique": torch_unique.unique(torch),
    }


def _lowest(torch, out):
    if out.dtype == torch.bool:
        return False
    return -float("inf") if out.is_floating_point() else torch.iinfo(out.dtype).min


def _highest(torch, out):
    if out.dtype == torch.bool:
        return True
    return float("inf") if out.is_floating_point() else torch.iinfo(out.dtype).max


def _scatter(reduce: str, transform=None) -> Callable:
    """``a.at[indices].<op>(values)`` along axis 0: repeated indices combine, as in MLX."""

    def scatter(a, indices, values):
        values = (values if transform is None else transform(values)).to(a.dtype)
        return a.index_reduce(0, indices.long(), values, reduce, include_self=True)

    return scatter


def _slice_update(a, update, start_indices, axes):
    out = a.clone()
    window = [slice(None)] * a.ndim
    for start, axis in zip(start_indices.reshape(-1).tolist(), axes):
        window[axis] = slice(start, start + update.shape[axis])
    out[tuple(window)] = update
    return out


def _setitem(torch):
    def setitem(a, index, values):
        """``a[index] = values`` on a copy; values with one row per place of a boolean mask fill its
        True places with their first rows, as MLX's MaskedScatter (and torch's masked_scatter)."""
        out, values = a.clone(), torch.as_tensor(values)
        if getattr(index, "dtype", None) == torch.bool and values.ndim == a.ndim - index.ndim + 1 \
                and len(values) == index.numel():
            values = values[: int(index.sum())]
        out[_index(torch, index)] = values.to(a.dtype)
        return out

    return setitem


def _index(torch, index):
    """An MLX index for torch: its integer arrays (int32, uint32 as MLX allows) as int64."""
    if isinstance(index, tuple):
        return tuple(_index(torch, i) for i in index)
    if isinstance(index, torch.Tensor) and index.dtype not in (torch.bool, torch.int64):
        return index.long()
    return index


def _pad(torch):
    def pad(a, pad_width, mode="constant", constant_values=0):
        if mode != "constant":
            raise NotImplementedError(f"pad mode {mode!r} is not implemented for every rank in torch")
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                                 [[pad_width, pad_width]], (a.ndim, 2))
        flat = [int(w) for pair in widths[::-1] for w in pair]  # torch lists the last axis first
        return torch.nn.functional.pad(a, flat, value=constant_values)

    return pad


def _put_along_axis(a, indices, values, dim=None):
    """numpy's put_along_axis: indices broadcast against ``a`` off the axis, values against them."""
    if dim is None:
        return _put_along_axis(a.reshape(-1), indices.reshape(-1), values.reshape(-1), 0).reshape(a.shape)
    import torch

    shape = list(a.shape)
    shape[dim] = 1
    shape = torch.broadcast_shapes(indices.shape, values.shape, shape)
    return a.scatter(dim, indices.long().broadcast_to(shape), values.to(a.dtype).broadcast_to(shape))


def _expand_dims(a, dim):
    """numpy's expand_dims: each axis, negative ones too, is a place in the output's axes."""
    dims = dim if isinstance(dim, (list, tuple)) else [dim]
    for d in sorted(d % (a.ndim + len(dims)) for d in dims):
        a = a.unsqueeze(d)
    return a
