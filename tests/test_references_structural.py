"""The sort, indexing, shape and linalg references against independent computations: explicit
loops on tiny inputs, and identities (L[p] @ U == A, T @ X == I)."""

from __future__ import annotations

import itertools
import struct

import ml_dtypes
import numpy as np
import pytest

from mlxport.references import linalg as L
from mlxport.references import lookup
from mlxport.references import structural as S


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_registered():
    for op in ("topk", "put_along_axis", "slice_update", "flatten", "unflatten", "as_strided",
               "full", "astype", "at.add", "at.subtract", "at.multiply", "at.divide",
               "at.maximum", "at.minimum", "setitem"):
        assert lookup(op) is not None and lookup(op).__module__ == S.__name__
    for op in ("norm", "solve_triangular", "tri_inv", "cholesky_inv", "lu", "lu_factor"):
        assert lookup(f"linalg.{op}") is getattr(L, op)


# --- sort ---------------------------------------------------------------------------------

def largest_by_loop(row, k):
    """The k largest of a list by repeated selection; NaN is larger than everything."""
    rest, out = list(row), []
    for _ in range(k):
        best = max(range(len(rest)), key=lambda i: (np.isnan(rest[i]), rest[i]))
        out.append(rest.pop(best))
    return sorted(out, key=lambda v: (np.isnan(v), v))


def test_topk_matches_selection_loop(rng):
    a = rng.integers(-5, 5, (3, 7)).astype(float)
    a[1, 2] = np.nan
    got = S.topk(a, 3)
    for r in range(3):
        np.testing.assert_array_equal(np.sort(got[r]), largest_by_loop(a[r], 3))
    cols = S.topk(a, 2, axis=0)
    assert cols.shape == (2, 7)
    for c in range(7):
        np.testing.assert_array_equal(np.sort(cols[:, c]), largest_by_loop(a[:, c], 2))
    np.testing.assert_array_equal(np.sort(S.topk(a, 4, axis=None)), largest_by_loop(a.reshape(-1), 4))


# --- indexing -----------------------------------------------------------------------------

def test_put_along_axis_loop(rng):
    a = rng.standard_normal((3, 5))
    idx = np.array([[4, 0]])
    v = rng.standard_normal((3, 2))
    want = a.copy()
    for i in range(3):
        for j in range(2):
            want[i, idx[0, j]] = v[i, j]
    np.testing.assert_array_equal(S.put_along_axis(a, idx, v, axis=1), want)
    flat = S.put_along_axis(a, np.array([14, 0]), np.array(9.0))
    assert flat[2, 4] == 9 and flat[0, 0] == 9 and flat[1, 1] == a[1, 1]
    assert a[0, 0] != 9  # the input is not written


@pytest.mark.parametrize("op,combine", [
    ("at.add", lambda x, v: x + v), ("at.subtract", lambda x, v: x - v),
    ("at.multiply", lambda x, v: x * v), ("at.maximum", max), ("at.minimum", min)])
def test_scatter_combines_repeated_rows(rng, op, combine):
    a = rng.integers(-4, 5, (4, 3)).astype(float)
    idx = np.array([2, 0, 2, 2])
    v = rng.integers(-4, 5, (4, 3)).astype(float)
    want = a.copy()
    for r, i in enumerate(idx):
        for c in range(3):
            want[i, c] = combine(want[i, c], v[r, c])
    np.testing.assert_array_equal(lookup(op)(a, idx, v), want)


def test_scatter_with_index_array_and_broadcast_values():
    a = np.zeros((3, 2))
    out = lookup("at.add")(a, np.array([[0, 2], [0, 0]]), np.array([1.0, 10.0]))
    np.testing.assert_array_equal(out, [[3, 30], [0, 0], [1, 10]])


def test_scatter_of_bools_and_integer_divide():
    a = np.array([True, False, False])
    np.testing.assert_array_equal(lookup("at.add")(a, np.array([1, 1]), np.array([True, False])), [True, True, False])
    np.testing.assert_array_equal(lookup("at.multiply")(a, np.array([0]), np.array([False])), [False, False, False])
    # MLX divides by multiplying with 1/v cast to the integer dtype: 0 unless |v| is 1.
    ints = np.array([10, 20, 30])
    np.testing.assert_array_equal(lookup("at.divide")(ints, np.array([0, 1]), np.array([3, -1])), [0, -20, 30])


def test_slice_update_loop(rng):
    a = rng.standard_normal((4, 5, 2))
    u = rng.standard_normal((2, 3, 2))
    got = S.slice_update(a, u, np.array([1, 2]), axes=[0, 1])
    want = a.copy()
    for i, j, k in itertools.product(range(2), range(3), range(2)):
        want[1 + i, 2 + j, k] = u[i, j, k]
    np.testing.assert_array_equal(got, want)


def test_setitem_fills_the_true_places_in_row_major_order(rng):
    a, mask = rng.standard_normal((4, 5)), rng.random((4, 5)) < 0.5
    values, want, taken = rng.standard_normal(20), a.copy(), 0
    for i, j in itertools.product(range(4), range(5)):  # one value per place: the True ones take the first
        if mask[i, j]:
            want[i, j], taken = values[taken], taken + 1
    np.testing.assert_array_equal(S.setitem(a, mask, values), want)
    np.testing.assert_array_equal(S.setitem(a, mask, values[:taken]), want)  # numpy's own: one per True place
    rows = np.array([True, False, True, False])
    want = a.copy()
    want[0], want[2] = values[:5], values[:5]  # one row, broadcast to every selected row
    np.testing.assert_array_equal(S.setitem(a, rows, values[:5]), want)
    assert (S.setitem(a, mask, np.float64(7.0))[mask] == 7).all() and (a[mask] != 7).all()  # a copy


# --- shape --------------------------------------------------------------------------------

def test_flatten_and_unflatten_keep_row_major_order():
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    mid = S.flatten(a, start_axis=1, end_axis=2)
    assert mid.shape == (2, 12)
    for i, j, k in itertools.product(range(2), range(3), range(4)):
        assert mid[i, 4 * j + k] == a[i, j, k]
    assert S.flatten(a).tolist() == list(range(24))
    assert S.flatten(np.array(5.0)).shape == (1,)
    back = S.unflatten(mid, axis=-1, shape=[3, -1])
    np.testing.assert_array_equal(back, a)


def test_as_strided_loop():
    a = np.arange(24).reshape(4, 6)
    got = S.as_strided(a, shape=[3, 2, 2], strides=[5, 1, 6], offset=2)
    for i, j, k in itertools.product(range(3), range(2), range(2)):
        assert got[i, j, k] == 2 + 5 * i + j + 6 * k
    # A non-contiguous input is read in its logical row-major order: a.T is 0 6 12 18 1 7 ...
    np.testing.assert_array_equal(S.as_strided(a.T, shape=[2, 2], strides=[1, 4]), [[0, 1], [6, 7]])
    np.testing.assert_array_equal(S.as_strided(a), a)


def test_full_and_astype():
    out = S.full(np.array([1.0, 2.0, 3.0]), shape=[2, 3])
    assert out.tolist() == [[1, 2, 3], [1, 2, 3]]
    out[0, 0] = 7  # a new array, not a read-only broadcast view
    assert S.full(np.array(4), shape=[2], dtype=np.float64).dtype == np.float64
    z = np.array([1 + 2j, -3.5 - 1j, 0j, 2j])
    np.testing.assert_array_equal(S.astype(z, np.float64), [1, -3.5, 0, 0])
    np.testing.assert_array_equal(S.astype(z, np.int64), [1, -3, 0, 0])
    np.testing.assert_array_equal(S.astype(z, np.bool_), [True, True, False, True])


# --- linalg -------------------------------------------------------------------------------

def test_norm_takes_axis_lists(rng):
    a = rng.standard_normal((2, 3, 4))
    assert L.norm(a, ord=1, axis=[1, 2]).shape == (2,)
    for b in range(2):
        assert L.norm(a, ord=1, axis=[1, 2])[b] == pytest.approx(max(sum(abs(a[b, i, j]) for i in range(3)) for j in range(4)))


@pytest.mark.parametrize("upper", [False, True])
def test_triangular_references(rng, upper):
    a = rng.standard_normal((5, 5)) + 5 * np.eye(5)
    t = np.triu(a) if upper else np.tril(a)
    b = rng.standard_normal((5, 2))
    x = L.solve_triangular(a, b, upper=upper)
    np.testing.assert_allclose(t @ x, b, atol=1e-12)
    # Back or forward substitution by hand, reading only the triangle.
    want = np.zeros_like(b)
    order = range(4, -1, -1) if upper else range(5)
    for i in order:
        others = range(i + 1, 5) if upper else range(i)
        want[i] = (b[i] - sum(a[i, j] * want[j] for j in others)) / a[i, i]
    np.testing.assert_allclose(x, want, rtol=1e-12)
    np.testing.assert_allclose(L.solve_triangular(a, b[:, 0], upper=upper), want[:, 0], rtol=1e-12)
    np.testing.assert_allclose(t @ L.tri_inv(a, upper=upper), np.eye(5), atol=1e-12)
    gram = t.T @ t if upper else t @ t.T
    np.testing.assert_allclose(L.cholesky_inv(a, upper=upper) @ gram, np.eye(5), atol=1e-10)


def test_lu_reconstructs_with_partial_pivoting(rng):
    a = rng.standard_normal((2, 6, 6))
    p, low, up = L.lu(a)
    lu, pivots = L.lu_factor(a)
    for b in range(2):
        np.testing.assert_allclose(low[b][p[b]] @ up[b], a[b], atol=1e-12)  # MLX: A = L[p] @ U
        np.testing.assert_array_equal(np.diag(low[b]), np.ones(6))
        # Multipliers of at most 1 in magnitude are what partial pivoting guarantees.
        assert np.all(np.abs(low[b]) <= 1 + 1e-12) and np.allclose(np.triu(low[b], 1), 0)
        assert np.allclose(np.tril(up[b], -1), 0)
        np.testing.assert_allclose(np.tril(lu[b], -1) + np.eye(6), low[b], atol=1e-15)
        np.testing.assert_allclose(np.triu(lu[b]), up[b], atol=1e-15)
        # The swaps recorded in pivots, replayed on the rows, give the same row order.
        rows = list(range(6))
        for k, q in enumerate(pivots[b]):
            rows[k], rows[q] = rows[q], rows[k]
        np.testing.assert_array_equal(np.argsort(rows), p[b])


def test_lu_pivots_a_known_matrix():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    p, low, up = L.lu(a)
    np.testing.assert_array_equal(p, [1, 0])  # row 1 (the 3) is the first pivot
    np.testing.assert_allclose(low, [[1, 0], [1 / 3, 1]])
    np.testing.assert_allclose(up, [[3, 4], [0, 2 - 4 / 3]])
    lu, pivots = L.lu_factor(a)
    np.testing.assert_array_equal(pivots, [1, 1])


# --- creation and bit views -----------------------------------------------------------------

def test_raw_references_registered():
    for op in ("arange", "view"):
        assert lookup(op) is getattr(S, op) and lookup(op).raw


def test_arange_steps_by_the_rounded_increment():
    # float16(-19.9) = -19.90625 (spacing 2^-6), so the step taken is 0.09375, not 0.1.
    got = S.arange(-20.0, 80.0, 0.1, dtype=np.dtype(np.float16))
    assert got.dtype == np.float16 and len(got) == 1000
    np.testing.assert_array_equal(got, np.float16([-20 + i * 0.09375 for i in range(1000)]))
    # For integers: int(10 - 1.5) - 10 = -2, over ceil(20 / 1.5) = 14 values.
    np.testing.assert_array_equal(S.arange(10, -10, -1.5, dtype=np.dtype(np.int32)), list(range(10, -17, -2)))
    np.testing.assert_array_equal(S.arange(9), list(range(9)))
    assert len(S.arange(5, 5, 1, dtype=np.dtype(np.float32))) == 0


def test_arange_default_dtype_rounds_like_float32():
    # No dtype and a float argument: float32, so 0.1 becomes float32(0.1) = 13421773 / 2^27.
    got = S.arange(0, 1.0, 0.1)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.float32([i * 13421773 / 2**27 for i in range(10)]))
    big = S.arange(0, 2**40, 2**36)  # beyond int32: int64, exact
    assert big.dtype == np.int64 and big[-1] == 15 * 2**36


def bits_of(fmt, values):
    """The little-endian bytes of ``values`` packed with struct format ``fmt``."""
    return struct.pack("<" + fmt * len(values), *map(float, values))


def test_view_same_size_matches_struct():
    a = np.array([1.0, -2.5, np.inf, 3e-40, -0.0], np.float32)
    ints = struct.unpack("<5i", bits_of("f", a))
    np.testing.assert_array_equal(S.view(a, np.dtype(np.int32)), ints)
    np.testing.assert_array_equal(S.view(a, np.dtype(np.uint32)), [i % 2**32 for i in ints])
    h = np.array([1.0, -0.5, 65504.0, 6e-8], np.float16)
    np.testing.assert_array_equal(S.view(h, np.dtype(np.int16)), struct.unpack("<4h", bits_of("e", h)))
    # bfloat16 is the top half of a float32: its 16 bits under two zero bytes.
    halves = [int.from_bytes(bits_of("e", [x]), "little") for x in h]
    want = [struct.unpack("<f", b"\0\0" + v.to_bytes(2, "little"))[0] for v in halves]
    np.testing.assert_array_equal(S.view(h, np.dtype(ml_dtypes.bfloat16)).astype(np.float32), want)
    c = np.array([1 + 2j, -0.5 + 3e5j], np.complex64)
    want = [struct.unpack("<d", bits_of("f", [z.real, z.imag]))[0] for z in c]
    np.testing.assert_array_equal(S.view(c, np.dtype(np.float64)), want)


def test_view_splits_and_joins_the_last_axis():
    a = np.array([[1.0, 2.0], [-3.0, 0.5]], np.float32)
    got = S.view(a, np.dtype(np.uint8))
    assert got.shape == (2, 8)
    for r in range(2):
        assert bytes(got[r].tolist()) == bits_of("f", a[r])
    joined = S.view(got, np.dtype(np.float64))
    assert joined.shape == (2, 1) and joined[1, 0] == struct.unpack("<d", bits_of("f", a[1]))[0]
    # A transposed input is read in its logical order, as MLX does: row r is column r of a.
    columns = S.view(a.T, np.dtype(np.uint8))
    for r in range(2):
        assert bytes(columns[r].tolist()) == bits_of("f", a[:, r])
    assert S.view(np.array(1.5, np.float32), np.dtype(np.int32)) == 0x3FC00000
