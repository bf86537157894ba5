"""Nothing lost: kill -9 and Ctrl-C mid-run, then --resume; determinism; bad input is exit 2."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import interruptible, read_json, run_cli

pytest.importorskip("mlx.core")

SUBSET = ["--target", "mlx:cpu", "--ops", "sort", "--ops", "argsort", "--ops", "linalg.*", "--ops", "exp",
          "--ops", "fft.*", "--ops", "argpartition", "--ops", "cumsum"]


def _statuses(path: Path) -> list[tuple]:
    return [(r["case"], r["target"], r["status"], r["message"]) for r in read_json(path)["results"]]


def _start(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mlxport", "check", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=cwd,
                            preexec_fn=interruptible)


def _wait_for_lines(path: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.02)
    pytest.fail("the run finished or stalled before it could be interrupted")


def _stable(doc: dict) -> dict:
    """A results file without what may differ between runs: timings and the timestamp."""
    doc = {k: v for k, v in doc.items() if k != "created"}
    doc["results"] = [{k: v for k, v in r.items() if k != "seconds"} for r in doc["results"]]
    return doc


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "clean.json"
    proc = run_cli("check", *SUBSET, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_sigkill_mid_run_then_resume_equals_a_clean_run(tmp_path, clean):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.json.partial"
    proc = _start(*SUBSET, "--json", str(out))
    _wait_for_lines(journal, 150, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and journal.exists()
    kept = journal.read_text().count("\n") - 1
    resumed = run_cli("check", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert _stable(read_json(out)) == _stable(read_json(clean)) and kept >= 149
    assert not journal.exists()


def test_ctrl_c_keeps_finished_cells_and_says_how_to_resume(tmp_path, clean):
    out = tmp_path / "r.json"
    proc = _start(*SUBSET, "--json", str(out))
    _wait_for_lines(tmp_path / "r.json.partial", 100, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"resume with: mlxport check --resume {out}" in stderr
    resumed = run_cli("check", "--resume", str(out))
    assert resumed.returncode == 0 and _statuses(out) == _statuses(clean)


def test_two_runs_give_identical_results_files_but_for_timings(tmp_path, clean):
    again = tmp_path / "again.json"
    assert run_cli("check", *SUBSET, "--jobs", "2", "--json", str(again)).returncode == 0
    assert _stable(read_json(again)) == _stable(read_json(clean))


@pytest.mark.parametrize("args,message", [
    (["--shard", "3/2"], "--shard 3/2: expected K/N with 1 <= K <= N"),
    (["--shard", "x"], "--shard x: expected K/N"),
    (["--timeout", "0"], "--timeout"),
    (["--jobs", "0"], "--jobs"),
    (["--resume", "/nonexistent/r.json"], "--resume /nonexistent/r.json.partial: cannot read"),
    (["--resume", "r.json", "--ops", "exp"], "--resume: takes the selection"),
])
def test_bad_flags_are_one_line_and_exit_2(args, message):
    proc = run_cli("check", *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content,message", [
    ("not json\n{}\n", "r.json.partial:1: corrupt journal line"),
    ('{"schema": "other"}\n', "r.json.partial:1: not an mlxport journal"),
    ('{"schema": "mlxport.journal/1", "selection": {}}\n{"case": 1}\n', "r.json.partial:2: corrupt journal line"),
])
def test_a_corrupt_journal_is_refused_with_its_line(tmp_path, content, message):
    (tmp_path / "r.json.partial").write_text(content)
    proc = run_cli("check", "--resume", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_resuming_a_finished_run_says_it_is_finished(tmp_path):
    out = tmp_path / "r.json"
    assert run_cli("check", "--target", "mlx:cpu", "--ops", "add[float32,()x()]", "--json", str(out)).returncode == 0
    proc = run_cli("check", "--resume", str(out))
    assert proc.returncode == 2, proc.stderr
    assert f"--resume {out}: that run is finished, its 1 cells are in {out}; nothing to resume" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_alias_bomb_is_refused_before_it_is_walked(case_dir):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    folder = case_dir("bomb.yaml", "\n".join(levels) + "\nops: [*a8]\n")
    started = time.monotonic()
    proc = run_cli("list", "--cases", str(folder))
    assert proc.returncode == 2 and "expands to more than 1,000,000 nodes" in proc.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("shape,message", [
    ("(1000000,1000000)", "field 'shapes': shape (1000000, 1000000) has more than"),  # 10^12 elements
    ("(3,-1)", "field 'shapes': cannot read shape"),
])
def test_a_negative_or_absurd_shape_is_refused_before_allocation(case_dir, shape, message):
    text = f"ops:\n  - {{op: exp, category: u, dtypes: [float32], shapes: ['{shape}']}}\n"
    proc = run_cli("check", "--cases", str(case_dir("s.yaml", text)), "--ops", "exp")
    assert proc.returncode == 2 and f"s.yaml:2: exp: {message}" in proc.stderr, proc.stderr


def test_unknown_op_and_dtype_are_named(case_dir):
    text = "ops:\n  - {op: frobnicate, category: u, dtypes: [float32], shapes: ['(3,)']}\n"
    proc = run_cli("list", "--cases", str(case_dir("op.yaml", text)))
    assert proc.returncode == 2 and "op.yaml:2: frobnicate: field 'op': no reference" in proc.stderr


def test_shards_partition_the_cases(tmp_path):
    ids = []
    full = run_cli("check", "--target", "mlx:cpu", "--ops", "sort", "--json", str(tmp_path / "all.json"))
    assert full.returncode == 0
    for k in (1, 2, 3):
        out = tmp_path / f"s{k}.json"
        assert run_cli("check", "--target", "mlx:cpu", "--ops", "sort", "--shard", f"{k}/3",
                       "--json", str(out)).returncode == 0
        ids += [r["case"] for r in read_json(out)["results"]]
    assert sorted(ids) == sorted(r["case"] for r in read_json(tmp_path / "all.json")["results"])
    assert len(ids) == len(set(ids))


def _journals(folder: Path, proc: subprocess.Popen, count: int) -> list[Path]:
    """Wait until ``folder`` holds ``count`` journals with a finished cell while ``proc`` runs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = sorted((folder / ".mlxport").glob("run-*.json.partial"))
        with contextlib.suppress(FileNotFoundError):  # a run may finish between glob and read
            if len(found) >= count and all(p.read_text().count("\n") >= 2 for p in found):
                return found
        time.sleep(0.02)
    pytest.fail("the first run finished or stalled before the second one started")


def test_two_runs_without_json_in_one_folder_at_once_both_finish(tmp_path):
    first = _start("--target", "mlx:cpu", "--ops", "exp", "--ops", "sort", cwd=tmp_path)
    [own] = _journals(tmp_path, first, 1)
    os.killpg(first.pid, signal.SIGSTOP)  # paused mid-run, journal open, while a second run goes
    try:
        second = _start("--target", "mlx:cpu", "--ops", "exp", cwd=tmp_path)
        _, stderr = second.communicate(timeout=300)
        assert second.returncode == 0, stderr
        assert [p.name for p in (tmp_path / ".mlxport").iterdir()] == [own.name]  # the first's, untouched
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert not (tmp_path / ".mlxport").exists()  # each removed its journal, the last one the folder


def test_a_second_run_on_the_same_json_path_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "r.json"
    first = _start("--target", "mlx:cpu", "--ops", "exp", "--ops", "sort", "--json", str(out))
    _wait_for_lines(tmp_path / "r.json.partial", 2, first)
    os.killpg(first.pid, signal.SIGSTOP)  # paused mid-run, its journal open and locked
    try:
        second = run_cli("check", "--target", "mlx:cpu", "--ops", "exp", "--json", str(out))
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert second.returncode == 2 and second.stderr.strip().count("\n") == 0, second.stderr
    assert f"another mlxport run is using {out}.partial" in second.stderr
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert not (tmp_path / "r.json.partial").exists()
    assert {r["case"].split("[")[0] for r in read_json(out)["results"]} == {"exp", "sort"}
