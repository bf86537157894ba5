"""The robustness stress classes (cases/README.md "Stress classes"): nonfinite reaches every op
that takes floats, a process that dies in a cell is that cell's crash only, and the references
they need (NaN where numpy raises, outside indices left free, empty axes) are right."""

from __future__ import annotations

import numpy as np
import pytest

from mlxport import dtypes as dt
from mlxport.check import Selection, select_cases, select_targets
from mlxport.model import Status
from mlxport.pool import run_isolated
from mlxport.references import bounds, linalg, lookup

# Ops that take floats and get no NaN or inf, and why.
NO_NONFINITE = {
    "random.multivariate_normal": "its golden is a law tested statistically; a NaN mean has none",
    "random.permutation": "its float input only moves; its golden is a law of the permutation",
}


def _nonfinite(spec) -> bool:
    return spec.values == "special" and (spec.specials is None or bool({"nan", "inf", "-inf"} & set(spec.specials)))


def test_nonfinite_inputs_reach_every_op_that_takes_floats():
    takes, reached = set(), set()
    for case in select_cases(Selection()):
        floats = [s for s in case.inputs if s.dtype in dt.FLOATS + ("complex64",)]
        takes |= {case.op} if floats else set()
        reached |= {case.op} if any(_nonfinite(s) for s in floats) else set()
    missing = sorted(takes - reached - set(NO_NONFINITE))
    assert not missing, f"ops that take floats with no NaN/inf case (add a nonfinite stress item): {missing}"
    assert not set(NO_NONFINITE) - takes, "stale NO_NONFINITE entries"


def test_a_process_that_dies_or_exits_is_a_crash_and_later_cells_keep_their_results():
    ids = ["linalg.eigvals[float32,(8,8),special,nonfinite]",   # LAPACK's XERBLA: exit status 0
           "slice[float32,(8,9,10)x(1,),indices-negative,axes=(0),slice_size=(4,9,10)]",  # SIGSEGV
           "exp[float32,(33,65)]"]
    cases = {c.id: c for c in select_cases(Selection(ops=tuple(ids)))}
    targets, _ = select_targets(Selection(targets=("mlx:cpu",)))
    got = {}
    run_isolated([(cases[i], targets[0]) for i in ids], targets, 1, 30.0,
                 lambda index, result: got.setdefault(ids[index], result))
    assert got[ids[0]].status is Status.CRASH and "exit status 0" in got[ids[0]].message
    assert got[ids[0]].known and "XERBLA" in got[ids[0]].known
    assert got[ids[1]].status is Status.CRASH and "SIGSEGV" in got[ids[1]].message
    assert got[ids[2]].status is Status.PASS and got[ids[2]].max_ulp is not None


def test_linalg_golden_is_nan_where_numpy_raises_on_a_nonfinite_matrix():
    a = np.eye(4)
    a[1, 2] = np.nan
    w, v = lookup("linalg.eig")(a)
    assert w.shape == (4,) and v.shape == (4, 4) and np.isnan(w).all() and np.isnan(v).all()
    u, s, vt = lookup("linalg.svd")(np.stack([a, np.eye(4) * 2]))
    assert np.isnan(s[0]).all() and np.array_equal(s[1], [2, 2, 2, 2])  # per matrix of a batch
    with pytest.raises(np.linalg.LinAlgError):  # a finite failure is still a failure
        lookup("linalg.cholesky")(-np.eye(3))


def test_triangular_substitution_matches_a_solve_and_keeps_nan_to_the_rows_it_reaches():
    rng = np.random.default_rng(0)
    t, b = np.tril(rng.standard_normal((2, 6, 6))) + 6 * np.eye(6), rng.standard_normal((2, 6, 3))
    assert np.allclose(lookup("linalg.solve_triangular")(t, b), np.linalg.solve(t, b), atol=1e-13)
    t[0, 3, 1] = np.nan
    x = lookup("linalg.solve_triangular")(t, b)
    assert np.isfinite(x[0, :3]).all() and np.isnan(x[0, 3:]).all() and np.isfinite(x[1]).all()
    inverse = lookup("linalg.tri_inv")(t[0])
    assert (np.triu(inverse, 1) == 0).all()  # structural zeros stay zeros


def test_lu_pivots_as_blas_never_choosing_a_nan_unless_it_comes_first():
    assert linalg._isamax(np.array([1.0, np.nan, -3.0])) == 2
    assert linalg._isamax(np.array([np.nan, 5.0])) == 0


def test_slogdet_sign_is_nan_with_a_nan_log_determinant():
    sign, logdet = lookup("linalg.slogdet")(np.array([[np.nan, 1.0], [1.0, 2.0]]))
    assert np.isnan(sign) and np.isnan(logdet)


def test_outside_indices_leave_their_elements_free_and_check_the_rest():
    a = np.arange(12.0).reshape(3, 4)
    golden = lookup("take")(a, np.array([0, 9, -1, -5]), axis=1)
    assert isinstance(golden, bounds.Partly) and golden.shape == (3, 4)
    right = np.take(a, [0, 0, -1, 0], axis=1)
    anything = right.copy()
    anything[:, [1, 3]] = -7.0
    assert golden.test(anything) is None
    anything[2, 2] = 0.0  # -1 is inside: wrapped once, as MLX does
    assert "1 of 6 elements" in golden.test(anything)
    assert isinstance(lookup("slice")(a, np.array([2]), axes=[0], slice_size=[2, 4]), bounds.Partly)
    assert isinstance(lookup("take")(a, np.array([1, -4]), axis=1), np.ndarray)  # inside: numpy's


def test_empty_axes_and_batches_have_goldens():
    assert lookup("softmax")(np.zeros((3, 0, 4)), axis=1).shape == (3, 0, 4)
    assert lookup("conv1d")(np.zeros((0, 11, 4)), np.ones((6, 3, 4))).shape == (0, 9, 6)
    assert (lookup("conv1d")(np.zeros((2, 11, 0)), np.ones((6, 3, 0))) == 0).all()
    x = lookup("gather_mm")(np.ones((4, 8, 0)), np.ones((3, 0, 16)), np.array([0, 1]), np.array([2, 0]))
    assert x.shape == (2, 8, 16) and (x == 0).all()  # K = 0: an empty sum
