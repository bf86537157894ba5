"""``mlxport bench`` through the real CLI: the table, the bench file, the baseline gate, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import interruptible, read_json, run_cli

from mlxport.bench import benchfile, gate, stats

SMOKE = str(Path(__file__).parent / "data" / "bench")
SMOKE_OPS = "*(1000,1001)*"  # the smoke cases only, not the built-in cases/bench
FAST = ("--cases", SMOKE, "--target", "mlx:cpu", "--target", "numpy:cpu", "--warmup", "0",
        "--min-time", "0.02", "--max-time", "1", "--min-samples", "8", "--spread", "0.5")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    done = run_cli("bench", *FAST, "--ops", SMOKE_OPS, "--json", str(path))
    return done, path


def test_bench_prints_the_matrix_and_the_harness_floor(bench_run):
    done, _ = bench_run
    assert done.returncode == 0, done.stderr
    assert "add[float32,(1000,1001)x(1000,1001)]" in done.stdout
    assert "harness floor" in done.stdout and "mlx:cpu" in done.stdout and "best" in done.stdout


def test_the_bench_file_follows_the_design(bench_run):
    _, path = bench_run
    doc = benchfile.load(path)  # schema and every DESIGN.md field of every record
    assert doc["schema"] == "mlxport.bench/1" and "peaks" in doc
    assert {(r["case"].split("[")[0], r["target"]) for r in doc["results"]} == {
        (op, t) for op in ("add", "exp") for t in ("mlx:cpu", "numpy:cpu")}
    for r in doc["results"]:
        assert r["validated"] and r["processes"] == 2
        assert r["samples"] == len(r["times_s"]) >= 2 * 8  # two processes, each at least min-samples
        assert r["p10_s"] <= r["median_s"] <= r["p90_s"] and r["first_call_s"] > 0
        assert list(r["speedup"]) == [{"mlx:cpu": "numpy:cpu", "numpy:cpu": "mlx:cpu"}[r["target"]]]
        assert (r["alloc_median_s"] is not None) == (r["target"] == "mlx:cpu")
    assert set(doc["timing"]["floor_s"]) == {"mlx:cpu", "numpy:cpu"}


def test_a_significantly_slower_cell_fails_the_baseline_gate(bench_run, tmp_path):
    _, path = bench_run
    doc = read_json(path)
    faster = {**doc, "results": [{**r, "median_s": r["median_s"] / 100, "times_s": [t / 100 for t in r["times_s"]]}
                                 for r in doc["results"]]}
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(faster))
    found = gate.slower(doc, faster, 1.25)
    assert len(found) == 4 and all(s.fails and s.ratio == pytest.approx(100) for s in found)
    assert gate.slower(doc, doc, 1.25) == []  # the same times: nothing slower
    assert not any(s.fails for s in gate.slower(doc, faster, 1000.0))
    done = run_cli("bench", *FAST, "--ops", "add" + SMOKE_OPS, "--processes", "1", "--baseline", str(baseline),
                   "--json", str(tmp_path / "now.json"), "--markdown", str(tmp_path / "now.md"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL: add[float32" in done.stdout and "inconclusive" not in done.stdout  # slower is a verdict
    # one process: the ratio between the targets is ?, not ≈, and the legends say why
    words = " ".join(done.stdout.split())  # the table's title wraps
    assert "?: too few processes or samples to tell" in words
    assert "?: no ratio between targets is stated with fewer than 2 processes each" in words
    row = next(line for line in (tmp_path / "now.md").read_text().splitlines() if line.startswith("| `add["))
    assert row.endswith(" | ? |") and "`?` where there are too few processes" in (tmp_path / "now.md").read_text()
    marked = read_json(tmp_path / "now.json")["results"]
    assert all(r["slower_than_baseline"] > 1.25 for r in marked)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"schema": "mlxport.results/1", "results": []}),
                                     json.dumps({"schema": "mlxport.bench/1", "results": [{"case": "x"}]})])
def test_an_unreadable_baseline_is_one_line_and_exit_2(tmp_path, content):
    baseline = tmp_path / "base.json"
    baseline.write_text(content)
    done = run_cli("bench", *FAST, "--baseline", str(baseline))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"--baseline {baseline}" in done.stderr


@pytest.mark.parametrize("args,words", [
    (("--ops", "no_such_op"), "--ops no_such_op"),
    (("--target", "mlx:nowhere"), "--target mlx:nowhere"),
    (("--cases", "/no/such/folder"), "--cases /no/such/folder"),
    (("--processes", "0"), "--processes"),
    (("--dtypes", "floats, float8"), "--dtypes: unknown dtype 'float8'"),  # groups and spaces as in check
    (("--strict-bench",), "--strict-bench: judges a comparison with --baseline"),  # not a gate that cannot fail
])
def test_bench_input_errors_are_one_line_and_exit_2(args, words):
    done = run_cli("bench", "--cases", SMOKE, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and words in done.stderr


def test_records_carry_the_bytes_their_case_data_declares(bench_run):
    _, path = bench_run
    records = {r["case"].split("[")[0]: r for r in read_json(path)["results"] if r["target"] == "mlx:cpu"}
    assert records["add"]["bytes"] == 3 * 1000 * 1001 * 4 and records["exp"]["bytes"] == 2 * 1000 * 1001 * 4
    assert records["add"]["flops"] is None  # the smoke cases declare none
    assert records["add"]["gbps"] == pytest.approx(records["add"]["bytes"] / records["add"]["median_s"] / 1e9, rel=1e-3)
    assert set(read_json(path)["environment"]) == {"mlx:cpu", "numpy:cpu"}


def test_ctrl_c_keeps_the_finished_cells_in_the_bench_file(case_dir, tmp_path):
    folder = case_dir("two.yaml", """
        category: binary
        ops:
          - {op: add, dtypes: [float32], shapes: ["(4,) (4,)"]}
          - {op: matmul, dtypes: [float64], shapes: ["(2000,2000) (2000,2000)"]}
        """)
    path = tmp_path / "b.json"
    # The add finishes at once; the matmul's 40 calls of about a second each are interrupted.
    proc = subprocess.Popen([sys.executable, "-m", "mlxport", "bench", "--cases", str(folder),
                             "--ops", "*(4,)x(4,)*", "--ops", "*(2000,2000)x(2000,2000)*",
                             "--target", "numpy:cpu", "--processes", "1", "--warmup", "0", "--min-time", "0.01",
                             "--max-time", "300", "--min-samples", "40", "--spread", "0.5", "--json", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None and path.exists(), "the run ended before its first cell was kept"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == f"interrupted: 1 finished cell kept in {path}"
    doc = benchfile.load(path)
    assert doc["complete"] is False
    [record] = doc["results"]
    assert record["case"] == "add[float32,(4,)x(4,)]" and record["validated"] and record["samples"] >= 40


def test_a_cell_timed_in_the_baseline_and_failing_now_fails_the_gate(bench_run, case_dir, tmp_path):
    _, baseline = bench_run  # exp[float32,(1000,1001)] was validated and timed there
    folder = case_dir("strict.yaml", """
        category: unary
        ops:
          - {op: exp, dtypes: [float32], shapes: ["(1000,1001)"], tolerance: {rtol: 0, atol: 0}}
        """)  # the same case id, now asked to be exact: neither target's float32 exp is
    done = run_cli("bench", *FAST[2:], "--cases", str(folder), "--ops", "exp" + SMOKE_OPS, "--processes", "1",
                   "--baseline", str(baseline))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("FAIL:"))
    assert len(lines) == 2, done.stdout
    for target, line in zip(("mlx:cpu", "numpy:cpu"), lines):
        assert line.startswith(f"FAIL: exp[float32,(1000,1001)] on {target}: timed in the baseline, mismatch now: ")
        assert "elements differ" in line and "(rtol 0, atol 0)" in line


def test_untimed_lists_only_cells_that_lost_their_timing():
    base = {"results": [{"case": "a", "target": "t", "validated": True, "median_s": 1.0},
                        {"case": "b", "target": "t", "validated": False, "median_s": None},
                        {"case": "c", "target": "t", "validated": True, "median_s": 1.0}]}
    now = {"results": [{"case": "a", "target": "t", "validated": False, "status": "error", "message": "x\ny"},
                       {"case": "b", "target": "t", "validated": False, "status": "unsupported", "message": None},
                       {"case": "c", "target": "t", "validated": True, "median_s": 1.0}]}
    [found] = gate.untimed(now, base)
    assert found.fails and found.line() == "FAIL: a on t: timed in the baseline, error now: x y"


def _timed(case: str, times, processes: int = 2) -> dict:
    return {"case": case, "target": "t", "validated": True, "median_s": stats.median(times), "samples": len(times),
            "processes": processes, "times_s": list(times)}


def test_the_gate_says_which_cells_it_could_not_judge_and_why():
    even = [1.0 + i / 1000 for i in range(20)]
    now = {"timing": {"budget": {"min_samples": 10}}, "results": [
        _timed("few", even), _timed("one", even, processes=1), _timed("ok", even),
        _timed("slow", [3 * t for t in even]), _timed("medians", even)]}
    base = {"results": [_timed("few", [t / 3 for t in even[:2]]), _timed("one", even), _timed("ok", even),
                        _timed("slow", even), {**_timed("medians", even), "times_s": []}]}
    _, found = gate.compare(now, base, 1.25)
    assert [type(f).__name__ for f in found] == ["Slower", "Inconclusive", "Inconclusive"]
    assert [f.line() for f in found[1:]] == [
        "inconclusive: few on t: 2 samples in the baseline, 20 needed (--min-samples 10 in each of 2 processes)",
        "inconclusive: one on t: 1 process now: not enough to tell a difference from drift between processes "
        "(--processes 2 or more)"]
    assert not any(f.fails for f in found[1:])  # 3x faster in a 2-sample baseline: printed, not failed
    strict = gate.inconclusive(now, base, strict=True)
    assert all(f.fails for f in strict)
    assert strict[0].line().startswith("FAIL: few on t: inconclusive (--strict-bench): 2 samples in the baseline")
    three = {"timing": {"budget": {"min_samples": 1}}, "results": [_timed("c", even[:3])]}
    [found] = gate.inconclusive(three, {"results": [_timed("c", [t / 3 for t in even[:3]])]})
    assert found.reason == "3 and 3 samples: too few for any difference to reach p < 0.002"


@pytest.mark.parametrize("strict", [False, True])
def test_a_baseline_with_too_few_samples_is_inconclusive_and_fails_only_when_strict(bench_run, tmp_path, strict):
    _, path = bench_run
    doc = read_json(path)
    few = [{**r, "times_s": [t / 3 for t in r["times_s"][:2]], "samples": 2, "median_s": r["median_s"] / 3}
           for r in doc["results"]]  # 3x faster, but 2 samples can show no difference
    baseline = tmp_path / "few.json"
    baseline.write_text(json.dumps({**doc, "results": few}))
    done = run_cli("bench", *FAST[:2], "--target", "numpy:cpu", *FAST[4:], "--ops", "add" + SMOKE_OPS,
                   "--baseline", str(baseline), *(["--strict-bench"] if strict else []))
    assert done.returncode == (1 if strict else 0), done.stdout + done.stderr
    cell = "add[float32,(1000,1001)x(1000,1001)] on numpy:cpu"
    verdict = f"FAIL: {cell}: inconclusive (--strict-bench): " if strict else f"inconclusive: {cell}: "
    assert verdict + "2 samples in the baseline, 16 needed (--min-samples 8 in each of 2 processes)" in done.stdout
