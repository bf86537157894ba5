"""The numpy Threefry-2x32 behind the bit-exact random goldens: published known answers, then
MLX's own bits for the same key (and a different key must not match)."""

from __future__ import annotations

import numpy as np
import pytest

from mlxport.compare import compare_outputs
from mlxport.model import Case, InputSpec, Status
from mlxport.references import threefry


@pytest.mark.parametrize("key, count, expected", [
    ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
])
def test_known_answers_of_threefry_2x32_20(key, count, expected):
    """Random123's known-answer vectors for Threefry-2x32 with 20 rounds (also JAX's tests)."""
    got = threefry.threefry2x32(key, np.uint32(count[0]), np.uint32(count[1]))
    assert (int(got[0]), int(got[1])) == expected


def test_key_splits_into_high_and_low_words():
    assert threefry.key(2 ** 40 + 5).tolist() == [256, 5]


mx = pytest.importorskip("mlx.core")


@pytest.mark.parametrize("seed, num", [(0, 2), (7, 1), (2 ** 40 + 3, 5), (123, 64)])
def test_split_matches_mlx_bit_for_bit(seed, num):
    key = mx.random.key(seed)
    assert np.array_equal(threefry.split(np.array(key), num), np.array(mx.random.split(key, num)))


@pytest.mark.parametrize("n", [1, 7, 64])
def test_odd_and_even_word_counts_match_mlx_uniform(n):
    """MLX's float32 uniform is bits / (2^32 - 1), kept below 1 (mlx/random.cpp): an odd n
    exercises the middle word of RandomBits' layout, which split never reaches."""
    key = mx.random.key(3)
    words = threefry.bits(np.array(key), n)
    below_one = np.nextafter(np.float32(1), np.float32(0))
    expected = np.minimum(np.float32(words) / np.float32(4294967295.0), below_one)
    assert np.array_equal(np.array(mx.random.uniform(shape=(n,), key=key)), expected)


def test_the_bits_of_another_key_fail_the_exact_comparison():
    case = Case(id="random.split[t]", op="random.split", category="random", dtype="uint32",
                inputs=(InputSpec((2,), "uint32"),), params={"num": 4}, out=("uint32",))
    key = np.array([1, 2], np.uint32)
    golden = threefry.split(key, 4)
    other = np.array(mx.random.split(mx.array(np.array([1, 3], np.uint32)), 4))
    same = np.array(mx.random.split(mx.array(key), 4))
    assert compare_outputs([same], [golden], case, [key]).status is Status.PASS
    out = compare_outputs([other], [golden], case, [key])
    assert out.status is Status.MISMATCH and "elements differ" in out.message
