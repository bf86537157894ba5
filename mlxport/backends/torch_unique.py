"""MLX's fixed-size ``unique`` on PyTorch, whose ``torch.unique`` takes no size and no complex input."""

from __future__ import annotations


def unique(torch):
    """MLX's fixed-size unique (see ``mx.unique``): ``size`` sorted unique values of flattened
    ``a``, padded with ``fill_value`` (default the first value, whose index pads the index), the
    padded counts 0, ``inverse`` clamped to ``size - 1``; index and inverse uint32, counts int32."""

    def unique(a, size, return_index=False, return_inverse=False, return_counts=False, fill_value=None):
        flat = a.reshape(-1)
        keys = _complex_order(torch, flat) if a.is_complex() else flat
        _, inverse, counts = torch.unique(keys, dim=0 if a.is_complex() else None, return_inverse=True, return_counts=True)
        n = len(counts)
        first = torch.full((n,), flat.numel(), dtype=torch.int64).scatter_reduce(
            0, inverse, torch.arange(flat.numel()), "amin")
        values = flat[first]

        def fit(x, pad):
            return torch.cat([x[:size], torch.full((max(size - n, 0),), pad, dtype=x.dtype)])

        pad = values[0].item() if fill_value is None and n else (fill_value or 0)
        out = [fit(values, pad)]
        out += [fit(first, first[0].item() if n else 0).to(torch.uint32)] if return_index else []
        out += [inverse.clamp(max=max(size - 1, 0)).reshape(a.shape).to(torch.uint32)] if return_inverse else []
        out += [fit(counts, 0).to(torch.int32)] if return_counts else []
        return tuple(out) if len(out) > 1 else out[0]

    return unique


def _complex_order(torch, flat):
    """Rows that sort as numpy and MLX sort complex numbers (torch has no complex unique): by real
    then imaginary part, those with a NaN part last (R+Rj, R+nanj, nan+Rj, nan+nanj), each NaN distinct."""
    re, im = flat.real.double(), flat.imag.double()
    nan = torch.where(flat.isnan(), torch.arange(len(flat), dtype=torch.float64), -1.0)
    return torch.stack([re.isnan(), im.isnan(), re.nan_to_num(0.0, float("inf"), -float("inf")),
                        im.nan_to_num(0.0, float("inf"), -float("inf")), nan], 1).double()

