"""References of MLX's key functions: ``random.key`` and ``random.split``. Unlike the samplers
(random.py, tested statistically), these are exact: MLX's keys come from the Threefry-2x32 hash
with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), written
here from the paper's constants and checked against its known-answer vectors.
"""

from __future__ import annotations

import numpy as np

from . import reference

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA
_MASK = 0xFFFFFFFF


def threefry2x32(key: tuple[int, int], x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32-20 of the counters ``(x0, x1)`` (uint64 arrays holding 32-bit words)."""
    ks = (key[0], key[1], key[0] ^ key[1] ^ _PARITY)
    x0, x1 = (x0 + ks[0]) & _MASK, (x1 + ks[1]) & _MASK
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = (x0 + x1) & _MASK
            x1 = ((x1 << r) | (x1 >> (32 - r))) & _MASK
            x1 ^= x0
        x0 = (x0 + ks[(i + 1) % 3]) & _MASK
        x1 = (x1 + ks[(i + 2) % 3] + i + 1) & _MASK
    return x0, x1


def key_bits(key: np.ndarray, words: int) -> np.ndarray:
    """``words`` random uint32 words of one key, laid out as MLX's RandomBits does: the hash of
    counter ``(j, half + j)`` fills words j and half + j (an odd last word: counter (half, 0))."""
    k = tuple(int(v) & _MASK for v in np.ravel(key))
    half, odd = words // 2, words % 2
    j = np.arange(half, dtype=np.uint64)
    first, second = threefry2x32(k, j, j + np.uint64(half + odd))
    tail = threefry2x32(k, np.array([half], np.uint64), np.array([0], np.uint64))[0][:odd]
    return np.concatenate([first, tail, second]).astype(np.uint32)


@reference("random.key")
def key(seed):
    """The key of a 64-bit seed: its high and low 32-bit halves."""
    return np.array([(seed >> 32) & _MASK, seed & _MASK], dtype=np.uint32)


@reference("random.split")
def split(key, num=2):
    """``num`` sub-keys: ``bits((num, 2))`` of the key."""
    return key_bits(key, 2 * num).reshape(num, 2)
