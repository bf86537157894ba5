"""CI gates through the real CLI: coverage floors, baseline regressions, expected failures."""

from __future__ import annotations

import json

import pytest

from conftest import read_json, run_cli

pytest.importorskip("mlx.core")

CASES = """
category: test
ops:
  - {op: exp, dtypes: [float32, float16], shapes: ["(3,4)"], out: inexact, variants: [{name: gatetest}]}
  - op: argmin
    doc: declares numpy's int64, which MLX does not return; a mismatch on purpose
    dtypes: [float32]
    shapes: ["(5,7)"]
    params: {axis: 1}
    out: int64
    variants: [{name: gatetest}]
"""
OURS = ["--target", "mlx:cpu", "--ops", "*,gatetest*"]
BAD = "argmin[float32,(5,7),gatetest,axis=1]"
GOOD = "exp[float32,(3,4),gatetest]"


@pytest.fixture
def cases(case_dir):
    return str(case_dir("g.yaml", CASES))


def _check(cases, *args):
    return run_cli("check", "--cases", cases, *OURS, *args)


@pytest.mark.parametrize("floor,code,line", [
    ("50", 0, "ok: coverage mlx:cpu 66.7% (minimum 50%)"),
    ("90", 1, "FAIL: coverage mlx:cpu 66.7% (minimum 90%)"),
    ("mlx:cpu=90", 1, "FAIL: coverage mlx:cpu 66.7%"),
    # a gate that cannot apply fails: a target that did not run, a target mlxport does not know
    ("mlx:gpu=90", 1, "FAIL: coverage mlx:gpu: no cell of mlx:gpu in this run"),
    ("mlx:cuda=90", 2, "--min-coverage mlx:cuda=90: unknown target mlx:cuda; known: "),
])
def test_min_coverage(cases, floor, code, line):
    proc = _check(cases, "--min-coverage", floor)
    assert proc.returncode == code and line in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("args,message", [
    (["--ops", "*gatetest*", "--dtypes", "int32"], "--ops *gatetest* --dtypes int32: selects no case (its ops have "
                                                    "none in int32)"),
    (["--ops", "argmin*gatetest*", "--dtypes", "float16"], "--ops argmin*gatetest* --dtypes float16: selects no case"),
])
def test_a_selection_of_no_cell_is_an_input_error(cases, args, message):
    proc = run_cli("check", "--cases", cases, "--target", "mlx:cpu", *args, "--min-coverage", "95")
    assert proc.returncode == 2 and message in proc.stderr, proc.stdout + proc.stderr


def test_a_shard_left_empty_by_a_small_selection_says_so_and_passes(tmp_path, cases):
    out = tmp_path / "r.json"
    proc = run_cli("check", "--cases", cases, "--target", "mlx:cpu", "--ops", BAD, "--shard", "2/3",
                   "--json", str(out), "--min-coverage", "95")
    assert proc.returncode == 0 and "shard 2/3 is empty" in proc.stdout, proc.stdout + proc.stderr
    assert read_json(out)["results"] == []  # a file to upload and merge, as every shard has


def _baseline(tmp_path, cases, edit) -> str:
    path = tmp_path / "base.json"
    assert _check(cases, "--json", str(path)).returncode == 0
    doc = json.loads(path.read_text())
    for r in doc["results"]:
        r["status"] = edit.get(r["case"], r["status"])
    doc["results"].append({"case": GOOD, "target": "mlx:gpu", "status": "pass"})  # a host not here
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_cell_that_passed_in_the_baseline_and_fails_now_is_a_regression(tmp_path, cases):
    base = _baseline(tmp_path, cases, {BAD: "pass"})
    proc = _check(cases, "--baseline", base, "--min-coverage", "50")
    assert proc.returncode == 1
    assert f"REGRESSION: mlx:cpu {BAD} passed in the baseline, now mismatch" in proc.stdout
    assert "1 regressions, 0 newly passing" in proc.stdout  # mlx:gpu was not run: not a regression


def test_newly_passing_cells_are_progress(tmp_path, cases):
    base = _baseline(tmp_path, cases, {GOOD: "unsupported"})
    proc = _check(cases, "--baseline", base)
    assert proc.returncode == 0 and f"progress: mlx:cpu {GOOD} now passes (was unsupported)" in proc.stdout


def test_expected_failures_stale_entries_and_xpass(tmp_path, cases):
    xfails = tmp_path / "x.txt"
    xfails.write_text(f"# expected\nmlx:cpu  {BAD}  # MLX returns uint32 indices\n"
                      f"mlx:cpu  {GOOD}  # thought broken\nmlx:gpu  nothing*  # a target not run: not stale\n"
                      f"mlx:cpu  gone*  # cases not selected: not stale\n"
                      f"mlx:*  exp[float32*  # every cell it lists is taken by line 3: stale\n")
    out = tmp_path / "r.json"
    proc = _check(cases, "--xfails", str(xfails), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    status = {r["case"]: r["status"] for r in read_json(out)["results"]}
    assert status[BAD] == "xfail" and status[GOOD] == "xpass"
    rerun = {r["case"]: r["reproduce"] for r in read_json(out)["results"]}
    assert rerun[GOOD].startswith("mlxport check --target mlx:cpu --ops ") and rerun[BAD]  # neither passed
    stale = [line for line in proc.stdout.splitlines() if line.startswith("stale xfail")]
    assert len(stale) == 1 and stale[0].endswith("line 6: mlx:*  exp[float32*"), proc.stdout
    assert f"xpass: mlx:cpu {GOOD} passes but is listed" in proc.stdout
    assert read_json(out)["summary"]["mlx:cpu"]["coverage"] == round(2 / 3, 4)  # xpass is a pass, xfail is not
    assert "mlx:cpu argmin ×1 expected to fail: MLX returns uint32 indices" in proc.stdout  # the person's reason
    strict = _check(cases, "--xfails", str(xfails), "--strict-xfail")
    assert strict.returncode == 1 and f"FAIL: mlx:cpu {GOOD} passes but is listed" in strict.stdout


def test_drafted_xfails_have_placeholders_that_the_gate_refuses(tmp_path, cases):
    draft = tmp_path / "draft.txt"
    proc = _check(cases, "--write-xfails", str(draft))
    assert proc.returncode == 0 and "drafted 1 expected failures" in proc.stdout
    assert "write a reason on the 1 placeholder lines" in proc.stdout
    assert BAD in draft.read_text()
    refused = _check(cases, "--xfails", str(draft))
    assert refused.returncode == 2 and "draft.txt:2: every expected failure needs a reason" in refused.stderr


def test_drafted_xfails_carry_the_catalogs_reason(tmp_path, case_dir):
    known = CASES + """    divergence: [{target: "mlx:*", cases: "argmin*", reason: "MLX returns uint32 indices"}]\n"""
    cases, draft = str(case_dir("g.yaml", known)), tmp_path / "draft.txt"
    proc = _check(cases, "--write-xfails", str(draft))
    assert "drafted 1 expected failures in" in proc.stdout and "1 with the catalog's reason" in proc.stdout
    assert f"mlx:cpu  {BAD}  # MLX returns uint32 indices" in draft.read_text()
    assert _check(cases, "--xfails", str(draft), "--strict-xfail").returncode == 0  # the gate takes it


@pytest.mark.parametrize("args,message", [
    (["--min-coverage", "lots"], "--min-coverage lots: expected PCT or TARGET=PCT"),
    (["--baseline", "/nonexistent.json"], "--baseline /nonexistent.json: unreadable"),
    (["--xfails", "/nonexistent.txt"], "--xfails /nonexistent.txt: cannot read"),
])
def test_bad_gate_inputs_are_one_line_and_exit_2(cases, args, message):
    proc = _check(cases, *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_a_corrupt_baseline_is_refused(tmp_path, cases):
    bad = tmp_path / "b.json"
    bad.write_text('{"schema": "mlxport.results/1", "results": [{"case": 1}]}')
    proc = _check(cases, "--baseline", str(bad))
    assert proc.returncode == 2 and "unreadable or not a results file" in proc.stderr


def test_check_writes_junit_markdown_svg_and_html(tmp_path, cases):
    import xml.etree.ElementTree as ET

    paths = {ext: tmp_path / f"r.{ext}" for ext in ("xml", "md", "svg", "html")}
    proc = _check(cases, "--junit", str(paths["xml"]), "--markdown", str(paths["md"]), "--svg", str(paths["svg"]),
                  "--html", str(paths["html"]), "--min-coverage", "90")
    assert proc.returncode == 1  # the gate still decides the exit status
    suite = ET.parse(paths["xml"]).getroot().find("testsuite")
    assert suite.get("name") == "mlx:cpu" and suite.get("tests") == "3" and suite.get("failures") == "1"
    assert f"mlxport check --target mlx:cpu --ops '{BAD}'" in paths["xml"].read_text()
    summary = paths["md"].read_text(encoding="utf-8")
    assert "| mlx:cpu | 3 | 2 | 1 |" in summary and "FAIL: coverage mlx:cpu 66.7%" in summary
    assert paths["svg"].read_text(encoding="utf-8").startswith("<svg") and "argmin" in paths["svg"].read_text(encoding="utf-8")
    assert "argmin" in paths["html"].read_text(encoding="utf-8")
