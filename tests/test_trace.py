"""A program's trace checked like the catalog: hand-built traces (their outputs from the real
MLX) become cases with stored arrays and call templates, run in worker processes on mlx:cpu and
torch:cpu by the ordinary ``execute``."""

from __future__ import annotations

import numpy as np
import pytest

from mlxport import exports, gates, report
from mlxport.check import RunOptions, Selection, execute
from mlxport.model import Case, InputError, Origin, Rule, Status
from mlxport.trace.calls import DType, Signature, Slot, Trace
from mlxport.trace.cases import COMPILED, trace_cases
from mlxport.trace.run import check_trace, choose, summary_lines

mx = pytest.importorskip("mlx.core")
pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)
Y = RNG.standard_normal((4, 3)).astype(np.float32)
INDEX = np.array([2, 0], np.int32)


def call(op: str, name: str, args: tuple, inputs: list[np.ndarray], output, **fields) -> Signature:
    """The signature of one call, as the recorder keeps it: its arrays and what the program got."""
    shapes = fields.pop("shapes", None) or tuple(a.shape for a in inputs)
    dtypes = fields.pop("dtypes", None) or tuple(str(a.dtype) for a in inputs)
    return Signature(op, f"{op}[{name}]", args, fields.pop("kwargs", {}), shapes, dtypes, inputs=inputs,
                     output=output, **fields)


def numpy(*outputs) -> list[np.ndarray]:
    return [np.array(o) for o in outputs]


CALLS = [
    call("exp", "float32,(4,5)", (Slot(0),), [X], numpy(mx.exp(mx.array(X))), calls=3),
    # the program got a wrong exp: MLX computes it right here, the recorded word says otherwise
    call("exp", "float32,(4,3)", (Slot(0),), [Y], numpy(mx.exp(mx.array(Y)) * 1.5)),
    # argmin returns uint32, the program (say, another release) got int64: a mismatch of the cell
    call("argmin", "float32,(4,5),axis=1", (Slot(0),), [X], [np.argmin(X, axis=1)], kwargs={"axis": 1}),
    call("concatenate", "float32,(4,5)(4,3),axis=1", ([Slot(0), Slot(1)],), [X, Y],
         numpy(mx.concatenate([mx.array(X), mx.array(Y)], axis=1)), kwargs={"axis": 1}),
    call("getitem", "float32,(4,5)(2,),(1:,:,[i])", (Slot(0), (slice(1, None), Slot(1))), [X, INDEX],
         numpy(mx.array(X)[1:, mx.array(INDEX)])),
    call("astype", "float32,(4,5),bfloat16", (Slot(0), DType("bfloat16")), [X], None),
    call("distributed.all_sum", "float32,(4,5)", (Slot(0),), [X], [X]),
    call("add", "float16,(2,3)(2,3)", (Slot(0), Slot(1)), None, None, compiled=True, calls=7,
         shapes=((2, 3), (2, 3)), dtypes=("float16", "float16")),  # placeholders: no arrays
]
TRACE = Trace(["model.py", "--steps", "2"], "0.32.4", "cpu", CALLS)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "r.json"
    run, cases = check_trace(TRACE, Origin("trace", "model.trace"), Selection(("mlx:cpu", "torch:cpu")),
                             RunOptions(timeout=30, results=path))
    return run, cases, {(c.case, c.target): c for c in run.cells}


def test_each_call_is_a_cell_on_each_target(replayed):
    run, cases, cells = replayed
    mlx = {case: c for (case, target), c in cells.items() if target == "mlx:cpu"}
    assert len(run.cells) == 2 * len(CALLS) and [c.id for c in cases] == [s.id for s in CALLS]
    assert mlx["exp[float32,(4,5)]"].status is Status.PASS and mlx["exp[float32,(4,5)]"].recorded == "pass"
    assert mlx["exp[float32,(4,5)]"].calls == 3 and cells[("exp[float32,(4,5)]", "torch:cpu")].calls == 3
    assert mlx["exp[float32,(4,3)]"].status is Status.PASS and mlx["exp[float32,(4,3)]"].recorded == "mismatch"
    bad = mlx["argmin[float32,(4,5),axis=1]"]
    assert bad.status is Status.MISMATCH and bad.message.startswith("dtype uint32, expected int64")
    assert bad.reproduce == "mlxport replay model.trace --target mlx:cpu --ops 'argmin[float32,(4,5),axis=1]'"
    for target in ("mlx:cpu", "torch:cpu"):  # slots in a list, in an index tuple; a dtype argument
        assert cells[("concatenate[float32,(4,5)(4,3),axis=1]", target)].status is Status.PASS
        assert cells[("astype[float32,(4,5),bfloat16]", target)].status is Status.PASS
    assert mlx["getitem[float32,(4,5)(2,),(1:,:,[i])]"].status is Status.PASS
    assert cells[("getitem[float32,(4,5)(2,),(1:,:,[i])]", "torch:cpu")].status in (Status.PASS, Status.UNSUPPORTED)


def test_ops_picks_calls_as_the_rerun_command_does(replayed):
    _, cases, _ = replayed
    assert [c.id for c in choose(cases, ("argmin[float32,(4,5),axis=1]",))] == ["argmin[float32,(4,5),axis=1]"]
    assert [c.id for c in choose(cases, ("exp",))] == ["exp[float32,(4,5)]", "exp[float32,(4,3)]"]
    with pytest.raises(InputError, match=r"^--ops sin\*: matches no call of the trace$"):
        choose(cases, ("sin*",))


def test_an_op_without_reference_is_a_named_skip_and_generated_inputs_say_so(replayed):
    run, cases, cells = replayed
    for target in ("mlx:cpu", "torch:cpu"):
        skipped = cells[("distributed.all_sum[float32,(4,5)]", target)]
        assert skipped.status is Status.SKIP and skipped.message == "no reference for distributed.all_sum"
        compiled = cells[("add[float16,(2,3)(2,3)]", target)]
        assert compiled.status is Status.PASS and compiled.message == f"inputs generated: {COMPILED}"
        assert compiled.recorded is None and compiled.calls == 7
    lines = summary_lines(TRACE, cases, run.cells)
    assert "no reference: distributed.all_sum (1 calls skip on every target)" in lines
    assert f"inputs generated for 1 of the distinct calls: 1 {COMPILED}" in lines
    assert lines[0].startswith("program: model.py --steps 2 (recorded with MLX 0.32.4 on cpu): 16 calls, 8 distinct")
    assert lines[-1].endswith("do not: exp[float32,(4,3)] (mismatch)")


def test_the_results_file_reports_and_gates_work_unchanged(replayed):
    run, _, _ = replayed
    doc = run.doc
    assert doc["schema"] == "mlxport.results/1" and doc["trace"]["program"] == TRACE.program
    assert {r["calls"] for r in doc["results"]} == {1, 3, 7} and "recorded" in doc["results"][0]
    assert run.written.exists() and '"calls": 3' in run.written.read_text()
    asked = gates.read_inputs(["mlx:cpu=100"], None, None, {"mlx:cpu", "torch:cpu"})
    verdict = gates.judge(run.cells, asked, [], False)
    assert verdict.failed and any("mlx:cpu" in line for line in verdict.lines)
    assert "argmin" in exports.markdown(doc, verdict.lines, "op") and "<testsuite" in exports.junit(doc, False, verdict)


def test_by_primitive_rows_and_the_calls_column(replayed):
    from rich.console import Console

    run, _, _ = replayed
    console = Console(width=200, record=True)
    console.print(report.matrix(run.cells, run.infos, "primitive"))
    console.print(report.matrix(run.cells, run.infos, "op"))
    text = console.export_text()
    assert "Concatenate" in text and "ArgReduce" in text and "calls" in text
    assert report.calls_by_op(run.cells) == {"exp": 4, "add": 7, "argmin": 1, "concatenate": 1, "getitem": 1,
                                             "astype": 1, "distributed.all_sum": 1}


def test_a_crashing_call_costs_its_own_cell_only():
    from faulty_backend import targets as faulty_targets

    sin = call("sin", "float32,(3,)", (Slot(0),), [X[0, :3]], [np.sin(X[0, :3])])
    exp = call("exp", "float32,(3,)", (Slot(0),), [X[0, :3]], [np.exp(X[0, :3])])
    cases = trace_cases(Trace(["p.py"], "0.32.4", "cpu", [sin, exp]), Origin("trace", program=("p.py",)), [])
    targets = faulty_targets()
    run = execute(cases, targets, [t.probe() for t in targets], RunOptions(timeout=30), resumable=False)
    got = {c.case: c for c in run.cells}
    assert got["sin[float32,(3,)]"].status is Status.CRASH and "SIGSEGV" in got["sin[float32,(3,)]"].message
    assert got["sin[float32,(3,)]"].calls == 1 and got["sin[float32,(3,)]"].recorded == "pass"  # noted ahead
    assert got["sin[float32,(3,)]"].reproduce == "mlxport trace --target faulty:cpu --ops 'sin[float32,(3,)]' p.py"
    assert got["exp[float32,(3,)]"].status is Status.PASS


def test_a_call_takes_the_catalogs_tolerance_records_and_reference():
    tol = __import__("mlxport.dtypes", fromlist=["Tolerance"]).Tolerance(0.5, 0.5)
    records = dict(skips=(Rule("torch:*", "torch lacks it", "*float16*"),),
                   divergences=(Rule("mlx:*", "known", "*"), Rule("mlx:*", "a variant's", "*,moe*")))
    catalog = [Case("acos[float32,(3,)]", "acos", "unary", "float32", (), tolerance=tol, reference="arccos",
                    **records),
               Case("acos[float16,(3,)]", "acos", "unary", "float16", (), tolerance=None, reference="arccos",
                    **records)]
    sig = call("acos", "float32,(8,)", (Slot(0),), [X[0]], None)
    [case] = trace_cases(Trace(["p.py"], "0.32.4", "cpu", [sig]), Origin("trace", "t"), catalog)
    assert case.tolerance == tol and case.reference == "arccos" and case.out == ("float32",)
    assert case.skips == records["skips"] and case.divergences == records["divergences"]
    assert case.arrays[0].dtype == np.float32 and case.template == ((Slot(0),), {})
