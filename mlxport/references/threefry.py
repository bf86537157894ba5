"""Bit-exact references for MLX's random bits: Threefry-2x32 (20 rounds) with MLX's key and
counter layout, written from mlx/backend/cpu/threefry.cpp and RandomBits::eval_cpu. Its output
must equal MLX's bit for bit, so every device that passes agrees with ``mlx:cpu`` (whose output
this reproduces) and with every other device. ``random.bits`` is not in MLX's Python API; its
bits reach Python through ``random.split`` (``bits({num, 2}, 4, key)``) and the uniform draws.
"""

from __future__ import annotations

import numpy as np

from . import real, reference

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def threefry2x32(key, c0, c1) -> tuple[np.ndarray, np.ndarray]:
    """The Threefry-2x32 hash of the counters (c0, c1) under ``key`` (two uint32): five groups of
    four rounds, a key injection after each (Salmon et al., SC11; MLX's threefry.cpp)."""
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as in C
        x0 = np.asarray(c0, np.uint32) + ks[0]
        x1 = np.asarray(c1, np.uint32) + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def bits(key, words: int) -> np.ndarray:
    """``words`` uint32 of MLX's ``random::bits`` for one key: word i and word i + h + odd
    (h = words // 2) are the two halves of the hash of counter (i, i + h + odd); an odd middle
    word is the first half of the hash of (h, 0)."""
    half, odd = divmod(words, 2)
    out = np.empty(words, np.uint32)
    i = np.arange(half, dtype=np.uint32)
    out[:half], out[half + odd:] = threefry2x32(key, i, i + np.uint32(half + odd))
    if odd:
        out[half] = threefry2x32(key, np.uint32(half), np.uint32(0))[0]
    return out


@reference("random.split", raw=True)
def split(key, num=2):
    """``num`` new keys, shape (num, 2): MLX's ``bits({num, 2}, 4, key)``."""
    return bits(real(key, "random.split", np.uint32), 2 * num).reshape(num, 2)


@reference("random.key")
def key(seed):
    """The key of a seed: its high and low 32 bits."""
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)
