"""linalg references: numpy's, adapted to MLX's signatures, plus the factorizations numpy lacks.

All take float64 (or complex128) arrays, batched over leading axes like MLX.
"""

from __future__ import annotations

import numpy as np

from . import real, reference


@reference("linalg.norm")
def norm(a, ord=None, axis=None, keepdims=False):
    """np.linalg.norm; MLX takes ``axis`` as a list, numpy only as an int or a tuple."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


@reference("linalg.solve_triangular")
def solve_triangular(a, b, upper=False):
    """Solve T x = b with T the lower (or upper) triangle of ``a``; the other triangle is
    ignored, as LAPACK's trtrs does. A 1-D ``b`` is one right-hand side."""
    if b.ndim == 1:
        return _substitute(a, b[:, None], upper)[:, 0]
    return _substitute(a, b, upper)


@reference("linalg.tri_inv")
def tri_inv(a, upper=False):
    """The inverse of the lower (or upper) triangle of ``a``: triangular itself, so the other
    triangle is 0 (LAPACK's trtri never writes it), whatever NaN or inf the diagonal holds."""
    inverse = _substitute(a, np.broadcast_to(np.eye(a.shape[-1]), a.shape), upper)
    return np.triu(inverse) if upper else np.tril(inverse)


def _substitute(a, b, upper):
    """Forward (back, for ``upper``) substitution, row by row, in float64: backward stable like
    LAPACK's trsm, and with a NaN or inf in T it reaches exactly the rows that depend on it (a
    general solve mixes every row). As BLAS's trsm, a zero x_j contributes nothing (no 0 * inf),
    and a zero right-hand side stays 0 (no 0 / NaN): the structural zeros of an inverse stay 0."""
    n = a.shape[-1]
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.result_type(a, b))
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        done = slice(i + 1, n) if upper else slice(0, i)
        terms = a[..., i, done, None] * x[..., done, :]
        terms = np.where(x[..., done, :] == 0, 0, terms)
        rest = b[..., i, :] - terms.sum(axis=-2)
        x[..., i, :] = np.where(rest == 0, 0, rest / a[..., i, i, None])
    return x


@reference("linalg.cholesky_inv")
def cholesky_inv(a, upper=False):
    """inv(L @ L^T) from the Cholesky factor L = tril(a) (or U^T U from U = triu(a))."""
    if upper:
        u = np.triu(a)
        return np.linalg.inv(np.swapaxes(u, -1, -2) @ u)
    lower = np.tril(a)
    return np.linalg.inv(lower @ np.swapaxes(lower, -1, -2))


def _getrf(a):
    """LAPACK getrf on one matrix: partial pivoting, row swaps recorded as in ipiv (0-based)."""
    lu = real(a, "linalg.lu")  # a copy
    n = lu.shape[0]
    pivots = np.zeros(min(lu.shape), dtype=np.int64)
    for k in range(min(lu.shape)):
        p = k + _isamax(lu[k:, k])
        pivots[k] = p
        lu[[k, p]] = lu[[p, k]]
        if lu[k, k] != 0:
            lu[k + 1:, k] /= lu[k, k]
            lu[k + 1:, k + 1:] -= np.outer(lu[k + 1:, k], lu[k, k + 1:])
    return lu, pivots, n


def _isamax(column) -> int:
    """BLAS's i_amax: the first largest |x|, by ``>`` comparisons, so a NaN is never chosen
    unless it comes first (then nothing exceeds it). np.argmax would take the first NaN."""
    size = np.abs(column)
    if np.isnan(size[0]):
        return 0
    return int(np.argmax(np.where(np.isnan(size), -1.0, size)))


def _batched(fn, a):
    """fn over the leading axes of ``a``; each output stacked back into them."""
    lead = a.shape[:-2]
    outs = [fn(m) for m in a.reshape((-1,) + a.shape[-2:])]
    return tuple(np.stack([o[i] for o in outs]).reshape(lead + outs[0][i].shape) for i in range(len(outs[0])))


@reference("linalg.lu_factor")
def lu_factor(a):
    """(LU, pivots): L below the diagonal (unit diagonal implied), U on and above it, and the row
    swapped with row k at step k."""
    return _batched(lambda m: _getrf(m)[:2], a)


def _plu(m):
    lu, pivots, n = _getrf(m)
    perm = np.arange(n)
    for k, p in enumerate(pivots):  # the swaps, applied in order, give P A = L U
        perm[[k, p]] = perm[[p, k]]
    lower = np.tril(lu, -1) + np.eye(n)
    # MLX returns p with A = L[p] @ U, the inverse of the permutation that P A = L U applies.
    return np.argsort(perm), lower, np.triu(lu)


@reference("linalg.lu")
def lu(a):
    """(p, L, U) with A = L[p, :] @ U, MLX's convention."""
    return _batched(_plu, a)


@reference("linalg.eig")
def eig(a):
    """Eigenvalues and unit eigenvectors, always complex as MLX returns them (numpy returns a real
    result when every eigenvalue is real). Order and phases are not unique: compare with
    ``canonical: general_eig``."""
    w, v = np.linalg.eig(a)
    return w.astype(np.complex128), v.astype(np.complex128)


@reference("linalg.eigvals")
def eigvals(a):
    """The eigenvalues, always complex; compare with ``canonical: general_eig``."""
    return np.linalg.eigvals(a).astype(np.complex128)


def poisoned(fn):
    """``fn`` on each matrix of a batch, except that a matrix with a NaN or inf on which numpy
    raises (LinAlgError: eig refuses it, svd and eigh do not converge) gets NaN in every float
    output: no entry of its decomposition is defined. The shapes come from ``fn`` on the identity."""
    def each(m, **kwargs):
        try:
            return _tuple(fn(m, **kwargs))
        except np.linalg.LinAlgError:
            if np.isfinite(m).all():
                raise
        stand_in = _tuple(fn(np.eye(*m.shape, dtype=m.dtype), **kwargs))
        return tuple(np.full_like(o, np.nan) if o.dtype.kind in "fc" else o for o in stand_in)

    def batched(a, **kwargs):
        one = _batched(lambda m: each(m, **kwargs), a)
        return one if len(one) > 1 else one[0]

    batched.__doc__ = f"{fn.__name__}, NaN where a non-finite input makes numpy raise (see poisoned)"
    return batched


def _tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


for _name, _fn in {"linalg.svd": np.linalg.svd, "linalg.pinv": np.linalg.pinv, "linalg.eigh": np.linalg.eigh,
                   "linalg.eigvalsh": np.linalg.eigvalsh}.items():
    reference(_name)(poisoned(_fn))
reference("linalg.eig")(poisoned(eig))
reference("linalg.eigvals")(poisoned(eigvals))


@reference("linalg.cholesky")
def cholesky(a, upper=False):
    """np.linalg.cholesky; for a non-finite input the textbook recurrence, column by column, so
    a NaN or inf reaches exactly the entries whose formula meets it (numpy's LAPACK stops at a
    NaN pivot and returns arbitrary numbers)."""
    if np.isfinite(a).all():
        return np.linalg.cholesky(a, upper=upper)
    a = np.swapaxes(a, -1, -2).conj() if upper else a  # U^H U: the upper triangle, read as L^H
    low = np.zeros_like(a)
    for j in range(a.shape[-1]):
        d = a[..., j, j] - np.sum(low[..., j, :j] ** 2, axis=-1)
        low[..., j, j] = np.sqrt(d)
        low[..., j + 1:, j] = (a[..., j + 1:, j] - np.einsum("...ik,...k->...i", low[..., j + 1:, :j], low[..., j, :j])) / low[..., j, j, None]
    return np.swapaxes(low, -1, -2).conj() if upper else low


@reference("linalg.slogdet")
def slogdet(a):
    """(sign, log|det|); where log|det| is NaN the sign is undefined too, so NaN (numpy says 1)."""
    sign, logdet = np.linalg.slogdet(a)
    return np.where(np.isnan(logdet), np.nan, sign), logdet
