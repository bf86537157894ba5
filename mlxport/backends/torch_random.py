"""MLX's random ops on torch's generator, for the ``torch`` targets' table."""

from __future__ import annotations

from typing import Callable

from .ported import key_seed


def samplers(torch) -> dict[str, Callable]:
    """MLX's samplers on torch's generator, seeded from MLX's key (its two uint32 words): the
    catalog tests the law the samples follow, not the bits, which only MLX's threefry makes."""

    def generator(key):
        return None if key is None else torch.Generator(key.device).manual_seed(key_seed(key))

    def normal(shape=(), dtype=torch.float32, loc=0.0, scale=1.0, key=None):
        return torch.randn(shape, dtype=dtype, generator=generator(key)) * scale + loc

    def uniform(low=0.0, high=1.0, shape=(), dtype=torch.float32, key=None):
        return torch.rand(shape, dtype=dtype, generator=generator(key)) * (high - low) + low

    def truncated_normal(lower, upper, shape=(), dtype=torch.float32, key=None):
        out = torch.empty(shape, dtype=dtype)
        return torch.nn.init.trunc_normal_(out, 0.0, 1.0, lower, upper, generator=generator(key))

    def bernoulli(p=0.5, shape=(), key=None):
        return torch.bernoulli(torch.full(shape, p), generator=generator(key)).bool()

    def randint(low, high, shape=(), dtype=torch.int32, key=None):
        return torch.randint(low, high, shape, dtype=dtype, generator=generator(key))

    def permutation(x, dim=0, key=None):
        if isinstance(x, int):
            return torch.randperm(x, generator=generator(key)).to(torch.uint32)
        return x.index_select(dim, torch.randperm(x.shape[dim], generator=generator(key), device=x.device))

    return {f"random.{fn.__name__}": fn for fn in (normal, uniform, truncated_normal, bernoulli, randint, permutation)}
