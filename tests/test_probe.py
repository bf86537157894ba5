"""The dtype probe: declarations per target, findings both ways, the CLI's report and gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from mlxport.catalog import load_file
from mlxport.model import CellResult, InputError, Status
from mlxport.probe import Declaration, Finding, findings

FALSE = Path(__file__).parent / "cases_false_dtypes"


def test_the_most_specific_rule_wins_and_the_case_dtypes_are_the_default():
    d = Declaration(rules=(("mlx:*", ("float32", "float16")), ("mlx:cpu", ("float32",))),
                    default=("float32", "float64"))
    assert d.dtypes("mlx:cpu") == {"float32"}
    assert d.dtypes("mlx:gpu") == {"float32", "float16"}
    assert d.dtypes("torch:cpu") == {"float32", "float64"}


def cell(dtype, status, op="exp"):
    return CellResult(f"{op}[{dtype}]", op, dtype, "mlx:cpu", status, "why")


def test_findings_are_undeclared_dtypes_that_run_and_declared_ones_that_fail():
    declared = {"exp": [Declaration((), ("float32", "float16")), Declaration((), ("int32",))]}
    results = [cell("float32", Status.PASS), cell("float16", Status.UNSUPPORTED),
               cell("int32", Status.MISMATCH), cell("bool", Status.MISMATCH), cell("int8", Status.ERROR),
               cell("float64", Status.SKIP)]
    assert findings(results, declared) == [
        Finding("exp", "mlx:cpu", "float16", "failing", "unsupported: why"),
        Finding("exp", "mlx:cpu", "bool", "undeclared")]


def test_supports_is_validated(case_dir):
    bad = "ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n    supports: {'mlx:cpu': [float23]}\n"
    with pytest.raises(InputError, match=r"a\.yaml:6: exp: field 'mlx:cpu': unknown dtype 'float23'"):
        load_file(case_dir("a.yaml", bad) / "a.yaml")


def test_probe_reports_a_false_declaration_and_the_strict_gate_fails_on_it(tmp_path):
    done = run_cli("check", "--target", "mlx:cpu", "--cases", str(FALSE), "--ops", "gather_mm",
                   "--probe-dtypes", "--strict-dtypes", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 1, done.stderr
    assert "failing     mlx:cpu gather_mm float16: declared, but unsupported" in done.stdout
    assert "FAIL: dtype declarations (1 false)" in done.stdout
    probe = json.loads((tmp_path / "r.json").read_text())["dtype_probe"]
    assert [(f["op"], f["dtype"], f["kind"]) for f in probe["findings"]] == [("gather_mm", "float16", "failing")]


def test_without_the_gate_findings_are_reported_and_the_builtin_declarations_hold():
    # Ops whose CPU refuses some dtypes: only the deliberately false declaration is reported.
    done = run_cli("check", "--target", "mlx:cpu", "--cases", str(FALSE), "--ops", "gather_mm", "--ops", "qqmm",
                   "--ops", "nan_to_num", "--ops", "fft.irfft", "--probe-dtypes")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("failing", "undeclared"))]
    assert len(lines) == 1 and lines[0].startswith("failing     mlx:cpu gather_mm float16")


def test_a_reference_that_refuses_complex_leaves_the_pair_untried_and_quiet(tmp_path):
    # MLX refuses complex input to its quantization ops; the golden refuses it too, instead of
    # casting away the imaginary part with a ComplexWarning, and the probe says it did not try.
    done = run_cli("check", "--target", "mlx:cpu", "--ops", "quantize", "--ops", "from_fp8",
                   "--probe-dtypes", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    assert "ComplexWarning" not in done.stdout + done.stderr
    untried = json.loads((tmp_path / "r.json").read_text())["dtype_probe"]["untried"]
    assert {(u["op"], u["dtype"]) for u in untried} == {("quantize", "complex64"), ("from_fp8", "complex64")}
    assert all("complex input: MLX takes only real types here" in u["reason"] for u in untried)


def test_a_limit_takes_its_dtypes_out_of_the_matching_ops_on_the_matching_targets():
    from mlxport.probe import Limit
    limit = Limit("torch:*", ("fft.*", "add"), frozenset({"float16"}), "why")
    declared = {"fft.fft": [Declaration((), ("float16", "float32"))]}
    results = [CellResult("fft.fft[float16]", "fft.fft", "float16", t, Status.UNSUPPORTED, "no")
               for t in ("torch:cpu", "mlx:cpu")]
    assert limit.removes("add", "torch:cuda") == {"float16"} and not limit.removes("exp", "torch:cpu")
    assert findings(results, declared, (limit,)) == [
        Finding("fft.fft", "mlx:cpu", "float16", "failing", "unsupported: no")]


def test_a_bad_limits_file_names_itself(tmp_path):
    from mlxport.probe import load_limits
    (tmp_path / "dtype-limits.yaml").write_text("limits:\n  - {target: 'torch:*', lacks: [float23], reason: r}\n")
    with pytest.raises(InputError, match=r"dtype-limits\.yaml:2: \?: field 'lacks': unknown dtype 'float23'"):
        load_limits((tmp_path,))


def test_the_torch_cpu_declarations_hold_on_a_representative_subset():
    # One op per kind of torch gap: no uint16/32/64 kernels (add, max), none for bool (floor)
    # or complex ordering (sort), CPU FFT without float16, integer matmul that MLX lacks, an
    # op outside the adapter's table (gather_mm), and MLX names whose torch namesake differs
    # (allclose, concat, unique): the adapter ports MLX's meaning, not torch's function.
    pytest.importorskip("torch")
    from mlxport import probe
    from mlxport.check import Selection, select_targets

    ops = ("add", "max", "floor", "sort", "fft.rfft", "matmul", "linalg.inv", "gather_mm", "allclose", "concat",
           "unique")
    selection = Selection(("torch:cpu",), ops)
    found = probe.run(selection, select_targets(selection)[0], 2, 60.0)
    assert found.cells >= 100 and [f.line() for f in found.findings] == []
