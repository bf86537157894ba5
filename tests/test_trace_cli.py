"""``mlxport trace`` and ``mlxport replay`` through the real CLI: the program's argv, the matrix
and summary of its calls, a gate, a program that fails."""

from __future__ import annotations

import pytest
import typer

from conftest import read_json, run_cli
from mlxport.cli import app

pytest.importorskip("mlx.core")


@pytest.mark.parametrize("argv,program,module", [
    (["--json", "r.json", "prog.py", "--json", "x"], ["prog.py", "--json", "x"], False),
    (["--target", "mlx:cpu", "-m", "pkg.mod", "--steps", "3", "-m"], ["pkg.mod", "--steps", "3", "-m"], True),
])
def test_everything_after_the_script_belongs_to_the_program(argv, program, module):
    command = typer.main.get_command(app).commands["trace"]
    params = command.make_context("trace", list(argv)).params
    assert list(params["program"]) == program and params["module"] is module
    assert str(params["json_path"] or "") == ("r.json" if argv[0] == "--json" else "")


def test_replay_prints_the_calls_matrix_and_gates_it(tmp_path):
    tracefile = pytest.importorskip("mlxport.trace.tracefile")
    from test_trace import TRACE

    saved, out = tmp_path / "model.trace", tmp_path / "r.json"
    tracefile.save(TRACE, saved, 1 << 20)
    proc = run_cli("replay", str(saved), "--target", "mlx:cpu", "--by", "primitive", "--json", str(out),
                   "--min-coverage", "mlx:cpu=100")
    assert proc.returncode == 1, proc.stderr  # argmin's mismatch fails the gate
    assert "mlxport trace, by primitive" in " ".join(proc.stdout.split()) and "Concatenate" in proc.stdout
    assert "program: model.py --steps 2 (recorded with MLX 0.32.4 on cpu): 16 calls" in proc.stdout
    assert "no reference: distributed.all_sum" in proc.stdout and "FAIL" in proc.stdout
    rerun = f"mlxport replay {saved} --target mlx:cpu --ops 'argmin[float32,(4,5),axis=1]'"
    assert rerun in proc.stdout.replace("\n", "")
    doc = read_json(out)
    assert doc["trace"]["calls"] == 16 and {r["recorded"] for r in doc["results"]} == {"pass", "mismatch", None}


def test_a_failing_program_is_checked_then_exit_2(tmp_path):
    pytest.importorskip("mlxport.trace.record")
    program = tmp_path / "prog.py"
    program.write_text("import sys\nimport mlx.core as mx\nprint(mx.exp(mx.ones((2,))).tolist(), sys.argv[1:])\n"
                       "raise ValueError('out of tokens')\n")
    proc = run_cli("trace", "--target", "mlx:cpu", str(program), "--json", "x")
    assert proc.returncode == 2 and "[2.7182817459106445, 2.7182817459106445] ['--json', 'x']" in proc.stdout
    # the program's traceback, as Python prints it, then mlxport's one line
    program_said, _, last = proc.stderr.strip().rpartition("\n")
    assert "Traceback" in program_said and "ValueError: out of tokens" in last and "checked above" in last
    assert "summary" in proc.stdout
