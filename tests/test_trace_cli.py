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


PROGRAM = """import sys
import mlx.core as mx
x = mx.arange(12, dtype=mx.float32).reshape(3, 4) / 7
h = (x.astype(mx.bfloat16) @ x.T.astype(mx.bfloat16))[1:, ::2]
print(mx.exp(mx.ones((2,))).tolist(), sys.argv[1:], mx.argmin(x, axis=1).tolist(), h.shape)
raise ValueError('out of tokens')
"""


def test_a_failing_program_is_checked_then_exit_2_and_its_saved_trace_replays_alike(tmp_path):
    pytest.importorskip("mlxport.trace.record")
    from mlxport.cli import main

    program, saved, traced, replayed = (tmp_path / n for n in ("prog.py", "p.trace", "t.json", "r.json"))
    program.write_text(PROGRAM)
    proc = run_cli("trace", "--target", "mlx:cpu", "--save", str(saved), "--json", str(traced), str(program), "--json", "x")
    assert proc.returncode == 2 and "[2.7182817459106445, 2.7182817459106445] ['--json', 'x']" in proc.stdout
    # the program's traceback, as Python prints it, then mlxport's one line
    program_said, _, last = proc.stderr.strip().rpartition("\n")
    assert "Traceback" in program_said and "ValueError: out of tokens" in last and "checked above" in last
    assert "summary" in proc.stdout
    # record, --save, then replay: the same statuses (replay is the other machine's step)
    assert main(["replay", str(saved), "--target", "mlx:cpu", "--json", str(replayed)]) == 2  # it failed there too
    statuses = [{r["case"]: (r["status"], r["calls"], r["recorded"]) for r in read_json(p)["results"]}
                for p in (traced, replayed)]
    assert statuses[0] == statuses[1] and len(statuses[0]) >= 8
    # argmin's uint32 is what the program got: a call's expected dtypes are its recorded outputs'
    assert {s for s, _, _ in statuses[0].values()} == {"pass"} and any("argmin" in c for c in statuses[0])
