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
    t = np.triu(a) if upper else np.tril(a)
    if b.ndim == 1:
        return np.linalg.solve(t, b[:, None])[:, 0]
    return np.linalg.solve(t, b)


@reference("linalg.tri_inv")
def tri_inv(a, upper=False):
    """The inverse of the lower (or upper) triangle of ``a``."""
    return np.linalg.inv(np.triu(a) if upper else np.tril(a))


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
        p = k + int(np.argmax(np.abs(lu[k:, k])))
        pivots[k] = p
        lu[[k, p]] = lu[[p, k]]
        if lu[k, k] != 0:
            lu[k + 1:, k] /= lu[k, k]
            lu[k + 1:, k + 1:] -= np.outer(lu[k + 1:, k], lu[k, k + 1:])
    return lu, pivots, n


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
