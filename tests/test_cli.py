"""The real CLI, in a fresh process: statuses, the results file, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
import typer

from conftest import read_json, run_cli
from mlxport import __version__
from mlxport.cli import app

pytest.importorskip("mlx.core")

# Every entry has a variant named "clitest", so its ids differ from the built-in catalog's.
SUBSET = """
category: test
ops:
  - op: exp
    dtypes: [float16, float32, int32]
    shapes: ["(8,9)", "()"]
    values: [normal, special]
    out: inexact
    inputs: [{domain: [-10, 10]}]
    variants: [{name: clitest}]
  - op: argmax
    category: reduction
    dtypes: [float32]
    shapes: ["(5,7)"]
    params: {axis: 1}
    out: uint32
    variants: [{name: clitest}]
  - op: argmin
    category: reduction
    doc: declares numpy's int64, which MLX does not return; a mismatch on purpose
    dtypes: [float32]
    shapes: ["(5,7)"]
    params: {axis: 1}
    out: int64
    variants: [{name: clitest}]
  - op: linalg.inv
    category: linalg
    dtypes: [float32, float64]
    shapes: ["(6,6)"]
    inputs: [{structure: invertible}]
    tolerance: {rtol: 1e-4, atol: 1e-5}
    variants: [{name: clitest}]
    skip:
      - {target: "mlx:*", cases: "*float64*", reason: "testing skips"}
"""


OURS = "*,clitest*"  # the case-id glob of this file's cases


@pytest.fixture
def subset(case_dir):
    return case_dir("subset.yaml", SUBSET)


def test_check_runs_the_subset_and_writes_the_results_file(subset, tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("check", "--target", "mlx:cpu", "--cases", str(subset), "--ops", OURS, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out)
    assert doc["schema"] == "mlxport.results/1" and doc["env"]["MLX_ENABLE_TF32"] == "0"
    # the targets it considered: those named (probing the others would import their frameworks)
    assert [(t["name"], t["available"]) for t in doc["targets"]] == [("mlx:cpu", True)]
    status = {r["case"]: r["status"] for r in doc["results"]}
    assert {r["target"] for r in doc["results"]} == {"mlx:cpu"}
    assert status["exp[float32,(8,9),clitest]"] == "pass"
    assert status["exp[int32,(),clitest]"] == "pass"
    assert status["argmax[float32,(5,7),clitest,axis=1]"] == "pass"
    assert status["argmin[float32,(5,7),clitest,axis=1]"] == "mismatch"
    assert status["linalg.inv[float32,(6,6),clitest]"] == "pass"
    assert status["linalg.inv[float64,(6,6),clitest]"] == "skip"
    bad = next(r for r in doc["results"] if r["case"].startswith("argmin"))
    assert bad["message"] == "dtype uint32, expected int64; its graph: ArgReduce, Squeeze"  # argmax passes with both
    summary = doc["summary"]["mlx:cpu"]
    assert summary["cells"] == len(doc["results"]) == 12 + 1 + 1 + 2
    assert summary["skip"] == 1 and summary["coverage"] == round(summary["pass"] / 15, 4)
    for key in ("case", "op", "dtype", "target", "status", "max_abs_err", "max_rel_err", "max_ulp", "message"):
        assert key in doc["results"][0]
    assert "mlx:cpu" in proc.stdout and "argmin" in proc.stdout and "coverage" in proc.stdout


def test_dtypes_filter(subset, tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("check", "--target", "mlx:cpu", "--cases", str(subset), "--ops", "exp" + OURS,
                   "--dtypes", "float16", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {r["dtype"] for r in read_json(out)["results"]} == {"float16"}


@pytest.mark.parametrize("dtypes,expected", [
    ("float16, int32", {"float16", "int32"}),
    ("floats", {"float16", "float32"}),  # the group as a case file takes it; the subset has no bfloat16
])
def test_dtypes_takes_groups_and_spaces(subset, tmp_path, dtypes, expected):
    out = tmp_path / "r.json"
    proc = run_cli("check", "--target", "mlx:cpu", "--cases", str(subset), "--ops", "exp" + OURS,
                   "--dtypes", dtypes, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {r["dtype"] for r in read_json(out)["results"]} == expected


@pytest.mark.parametrize("args,message", [
    (["check", "--frobnicate"], "No such option: --frobnicate"),
    (["check", "--target", "tpu:0"], "--target tpu:0: unknown target"),
    (["check", "--target", "mlx:gpu"], "--target mlx:gpu: unavailable: this MLX build has no GPU backend"),
    (["check", "--ops", "no_such_op*"], "--ops no_such_op*: matches no op or case id"),
    (["check", "--dtypes", "float8"], "--dtypes: unknown dtype 'float8'"),
    (["check", "--dtypes", "floats, float8"], "unknown dtype 'float8'; known: bool, uint8"),
    (["check", "--dtypes", "float8"], "groups: all, floats, inexact"),
    (["check", "--cases", "/nonexistent"], "--cases /nonexistent: not a folder"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_broken_case_file_fails_even_when_filtered_out(case_dir):
    folder = case_dir("broken.yaml", "ops:\n  - op: exp\n    dtypes: [float32]\n")
    proc = run_cli("check", "--cases", str(folder), "--ops", "sin")
    assert proc.returncode == 2 and "broken.yaml:2: exp:" in proc.stderr


def test_devices_lists_every_target_with_a_reason():
    proc = run_cli("devices", "--json")
    assert proc.returncode == 0
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["mlx:cpu"]["available"] and infos["mlx:cpu"]["framework_version"]
    gpu = infos["mlx:gpu"]
    assert gpu["available"] or gpu["reason"]
    assert "mlx:gpu" in run_cli("devices").stdout


def test_list_shows_ops_categories_dtypes_and_counts(subset):
    proc = run_cli("list", "--cases", str(subset), "--ops", "exp" + OURS, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"op": "exp", "category": "test",
                                        "dtypes": ["float16", "float32", "int32"], "cases": 12, "stress": {}}]


def test_devices_survives_a_missing_framework():
    code = ("import sys; sys.modules['mlx'] = None; sys.modules['mlx.core'] = None\n"
            "from mlxport.cli import main; sys.exit(main(['devices', '--json']))")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert not infos["mlx:cpu"]["available"] and "mlx is not installed" in infos["mlx:cpu"]["reason"]
    assert infos["numpy:cpu"]["available"]


def test_version_prints_the_version_and_exits_0():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout == f"mlxport {__version__}\n", proc.stderr


@pytest.mark.parametrize("command", ["", *typer.main.get_command(app).commands])
def test_dash_h_is_help_on_the_app_and_every_command(command):
    proc = run_cli(*filter(None, [command, "-h"]))
    assert proc.returncode == 0, proc.stderr
    assert f"Usage: mlxport {command}".strip() in proc.stdout and "--help" in proc.stdout


def test_a_bare_mlxport_prints_the_help_and_exits_0():
    proc = run_cli()
    assert proc.returncode == 0 and "Usage: mlxport" in proc.stdout and "check" in proc.stdout, proc.stderr
    assert proc.stdout == run_cli("--help").stdout and not proc.stderr
