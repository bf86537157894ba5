"""Every public MLX function has a case or a reason in cases/not-applicable.yaml; aliases run
their op's cases under their own names."""

from __future__ import annotations

import re

import pytest

from mlxport import api
from mlxport.catalog import load_file, load_files
from mlxport.check import builtin_cases, case_files
from mlxport.model import InputError

from conftest import run_cli


def test_public_functions_are_the_callables_of_the_five_namespaces():
    names = api.public_functions()
    assert {"exp", "fast.rms_norm", "linalg.qr", "fft.rfft", "random.normal", "eval"} <= set(names)
    assert "array" not in names and "metal.is_available" not in names  # a class, a module's function
    assert not any(n.split(".")[-1].startswith("_") for n in names)


def test_every_public_function_is_covered_or_not_applicable():
    """A new MLX release shows its new functions here first."""
    ops = {c.op for c in load_files(case_files(()))}
    found = api.coverage(ops, api.not_applicable([builtin_cases()]), api.public_functions())
    assert found.uncovered == ()
    assert found.stale == () and found.both == ()


def test_coverage_reports_uncovered_stale_and_doubly_listed():
    found = api.coverage({"exp", "sin"}, {"eval": "r", "gone": "r", "sin": "r"}, ["eval", "exp", "log", "sin"])
    assert found == api.Coverage(uncovered=("log",), stale=("gone",), both=("sin",))


def test_a_not_applicable_entry_needs_a_reason(tmp_path):
    path = tmp_path / api.NOT_APPLICABLE
    path.write_text("not_applicable:\n  eval: ok\n  save: ''\n")
    with pytest.raises(InputError, match=r"not-applicable\.yaml:3: save: every not-applicable function needs a reason"):
        api.load_not_applicable(path)
    path.write_text("- eval\n")
    with pytest.raises(InputError, match="one field 'not_applicable'"):
        api.load_not_applicable(path)


def test_list_uncovered_is_empty_for_the_builtin_catalog_and_reports_stale_entries(tmp_path):
    done = run_cli("list", "--uncovered")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"every public MLX function \(\d+\) has a case or a not-applicable entry\n", done.stdout)
    (tmp_path / api.NOT_APPLICABLE).write_text("not_applicable:\n  no_such_op: a typo\n  exp: has cases\n")
    done = run_cli("list", "--uncovered", "--cases", str(tmp_path))
    assert "not-applicable entry no_such_op: not in MLX " in done.stdout
    assert "not-applicable entry exp has cases too" in done.stdout


ALIASED = """
category: unary
ops:
  - op: arccos
    aliases: [acos]
    dtypes: [float32, float64]
    shapes: ["(4,)"]
    divergence:
      - {target: "mlx:cpu", cases: "arccos[float64*", reason: "why"}
"""


def test_an_alias_runs_every_case_of_its_op_under_its_own_name(case_dir):
    cases = {c.id: c for c in load_file(case_dir("a.yaml", ALIASED) / "a.yaml")}
    assert set(cases) == {"arccos[float32,(4,)]", "arccos[float64,(4,)]", "acos[float32,(4,)]", "acos[float64,(4,)]"}
    alias = cases["acos[float64,(4,)]"]
    assert alias.op == "acos" and alias.reference == "arccos" and cases["arccos[float64,(4,)]"].reference is None
    assert alias.divergences[0].cases == "acos[float64*"  # rules follow the rename


def test_aliases_must_be_a_list_of_names(case_dir):
    bad = ALIASED.replace("aliases: [acos]", "aliases: acos")
    with pytest.raises(InputError, match=r"a\.yaml:\d+: arccos: field 'aliases'"):
        load_file(case_dir("a.yaml", bad) / "a.yaml")
