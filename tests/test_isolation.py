"""Isolation: a crashing, aborting, hanging or out-of-memory kernel costs its own cell only."""

from __future__ import annotations

import pytest

from faulty_backend import targets as faulty_targets
from mlxport.catalog import load_file
from mlxport.model import Status
from mlxport.pool import run_isolated

CASES = """
category: test
ops:
  - {op: exp, dtypes: [float32, float64], shapes: ["(3,4)"], out: inexact}
  - {op: sin, dtypes: [float32], shapes: ["(3,4)"], out: inexact}
  - {op: log, dtypes: [float32], shapes: ["(3,4)"], inputs: [{domain: [0.5, 2]}]}
  - {op: cos, dtypes: [float32], shapes: ["(3,4)"], out: inexact}
  - {op: tan, dtypes: [float32], shapes: ["(3,4)"], out: inexact}
  - {op: sqrt, dtypes: [float32], shapes: ["(3,4)"], inputs: [{domain: [0, 2]}]}
  - {op: exp, dtypes: [float16], shapes: ["(5,)"], out: inexact}
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_faults_are_statuses_and_every_other_cell_is_intact(case_dir, jobs):
    cases = load_file(case_dir("f.yaml", CASES) / "f.yaml")
    targets = faulty_targets()
    got = {}
    run_isolated([(c, targets[0]) for c in cases], targets, jobs, 2.0,
                 lambda index, result: got.setdefault(cases[index].id, result))
    status = {case: r.status for case, r in got.items()}
    assert status == {
        "exp[float32,(3,4)]": Status.PASS, "exp[float64,(3,4)]": Status.PASS,
        "sin[float32,(3,4)]": Status.CRASH, "log[float32,(3,4)]": Status.PASS,
        "cos[float32,(3,4)]": Status.CRASH, "tan[float32,(3,4)]": Status.TIMEOUT,
        "sqrt[float32,(3,4)]": Status.ERROR, "exp[float16,(5,)]": Status.PASS,
    }
    assert "SIGSEGV" in got["sin[float32,(3,4)]"].message
    assert "SIGABRT" in got["cos[float32,(3,4)]"].message
    assert "did not finish within 2 s" in got["tan[float32,(3,4)]"].message
    assert "out of memory" in got["sqrt[float32,(3,4)]"].message
    assert got["log[float32,(3,4)]"].max_ulp is not None  # a real comparison, after the crash


def test_a_workers_start_is_not_charged_to_its_first_cell(case_dir):
    from faulty_backend import FaultyTarget, _with_spec

    cases = load_file(case_dir("f.yaml", CASES) / "f.yaml")
    exp, tan = cases[0], next(c for c in cases if c.op == "tan")
    target = _with_spec(FaultyTarget("cpu"), "slow_targets")  # each worker takes 3 s to set it up
    got = []
    run_isolated([(exp, target), (tan, target), (exp, target)], [target], 1, 1.0,
                 lambda index, result: got.append((index, result.status)))
    # A 1 s limit per cell, yet both exps pass, the second in the worker started after the hang.
    assert sorted(got) == [(0, Status.PASS), (1, Status.TIMEOUT), (2, Status.PASS)]
