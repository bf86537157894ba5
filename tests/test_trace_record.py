"""Recording a program's MLX calls (mlxport.trace.record) and the trace file (tracefile)."""

from __future__ import annotations

import sys
import textwrap
import zipfile

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")

from mlxport.model import InputError  # noqa: E402
from mlxport.trace import tracefile  # noqa: E402
from mlxport.trace.calls import DType, Slot  # noqa: E402
from mlxport.trace.record import record  # noqa: E402

PROGRAM = """
import sys
from functools import partial
import mlx.core as mx

@partial(mx.compile, shapeless=True)
def act(x, y):
    return mx.sigmoid(x) * y

a = mx.arange(12, dtype=mx.float32).reshape(3, 4)
b = mx.ones((4, 2), dtype=mx.bfloat16)
for _ in range(3):
    c = a @ b.astype(mx.float32)
d = 2 * c
e = d.sum(axis=-1)
g = d[1:, ...]
d[0] = 5.0
k = mx.zeros((5,)).at[mx.array([1, 1])].add(1.0)
z = act(d, d)
w = mx.concatenate([c, c], axis=1)
print("ran", sys.argv[1:], __name__)
"""


def _program(tmp_path, text: str, name: str = "prog.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _mlx_attributes() -> dict:
    """Every attribute of the namespaces and the classes that recording patches."""
    owners = (mx, mx.fast, mx.linalg, mx.fft, mx.random, mx.array)
    return {(owner.__name__, name): value for owner in owners for name, value in list(vars(owner).items())}


def _by_id(trace) -> dict:
    return {s.id: s for s in trace.signatures}


def test_records_functions_operators_methods_indexing_and_compile(tmp_path, capsys):
    trace = record([str(_program(tmp_path, PROGRAM)), "--steps", "3"])
    assert capsys.readouterr().out == "ran ['--steps', '3'] __main__\n"
    calls = _by_id(trace)
    matmul = calls["matmul[float32,(3,4)x(4,2)]"]
    assert (matmul.calls, matmul.args) == (3, (Slot(0), Slot(1)))
    np.testing.assert_array_equal(matmul.inputs[0], np.arange(12, dtype=np.float32).reshape(3, 4))
    np.testing.assert_array_equal(matmul.output[0], np.full((3, 2), [[6], [22], [38]], np.float32))
    astype = calls["astype[bfloat16,(4,2),dtype=float32]"]
    assert astype.args == (Slot(0), DType("float32")) and astype.inputs[0].dtype.name == "bfloat16"
    assert calls["multiply[float32,(3,2),a=2]"].args == (2, Slot(0))  # reflected: 2 * c
    assert calls["reshape[float32,(12,),shape=(3,4)]"].args == (Slot(0), (3, 4))  # a.reshape(3, 4)
    assert calls["sum[float32,(3,2),axis=-1]"].kwargs == {"axis": -1}
    assert calls["getitem[float32,(3,2),index=(1:,...)]"].args == (Slot(0), (slice(1, None), Ellipsis))
    setitem = calls["setitem[float32,(3,2),index=0,values=5.0]"]
    assert setitem.inputs[0][0, 0] == 12 and setitem.output[0][0, 0] == 5  # before and after
    scatter = calls["at.add[float32,(5,)x(2,),dtypes=(float32,int32),values=1.0]"]
    np.testing.assert_array_equal(scatter.output[0], [0, 2, 0, 0, 0])
    compiled = [s for s in trace.signatures if s.compiled]
    assert {s.op for s in compiled} == {"sigmoid", "multiply"}
    assert all(s.inputs is None and s.output is None for s in compiled)
    assert trace.exit is None and trace.program[1:] == ["--steps", "3"]


def test_a_call_inside_a_recorded_call_is_not_recorded(tmp_path):
    # The bfloat16 input goes to numpy through astype: that is the recorder's, not the program's.
    trace = record([str(_program(tmp_path, "import mlx.core as mx\nmx.exp(mx.ones((2,), dtype=mx.bfloat16))\n"))])
    assert [s.op for s in trace.signatures] == ["ones", "exp"]


def test_a_function_compiled_before_recording_is_recorded_as_compiled(tmp_path):
    def act(x):
        return mx.tanh(x) + 1

    compiled = mx.compile(act)
    sys.modules["early_compiled"] = type(sys)("early_compiled")
    sys.modules["early_compiled"].act = compiled
    text = "import mlx.core as mx\nfrom early_compiled import act\nprint(act(mx.ones((3,))))\n"
    try:
        trace = record([str(_program(tmp_path, text))])
    finally:
        del sys.modules["early_compiled"]
    assert trace.exit is None
    assert {s.op: s.compiled for s in trace.signatures} == {"ones": False, "tanh": True, "add": True}


def test_mlx_is_unpatched_afterwards_also_after_the_program_raised(tmp_path):
    before = _mlx_attributes()
    text = "import mlx.core as mx\nx = mx.exp(mx.zeros((2,)))\nraise ValueError('boom\\nsecond line')\n"
    trace = record([str(_program(tmp_path, text))])
    assert trace.exit == "ValueError: boom second line"
    assert [s.op for s in trace.signatures] == ["zeros", "exp"]  # what ran before is kept
    after = _mlx_attributes()
    assert after.keys() == before.keys()
    assert [k for k in before if after[k] is not before[k]] == []


def test_exit_status_argv_and_module(tmp_path, monkeypatch):
    argv = sys.argv[:]
    assert record([str(_program(tmp_path, "import sys\nsys.exit(3)\n"))]).exit == "exit status 3"
    assert record([str(_program(tmp_path, "import sys\nsys.exit(0)\n"))]).exit is None
    _program(tmp_path, "import sys\nassert sys.argv[1:] == ['x'] and __name__ == '__main__'\n", "tracedmod.py")
    monkeypatch.chdir(tmp_path)
    assert record(["-m", "tracedmod", "x"]).exit is None
    assert sys.argv == argv
    with pytest.raises(InputError, match="no-such.py: no such file"):
        record([str(tmp_path / "no-such.py")])


def test_trace_file_round_trips(tmp_path):
    trace = record([str(_program(tmp_path, PROGRAM))])
    path = tmp_path / "t.trace"
    assert tracefile.save(trace, path) == 0
    loaded = tracefile.load(path)
    assert (loaded.program, loaded.mlx_version, loaded.device, loaded.exit) == \
        (trace.program, trace.mlx_version, trace.device, trace.exit)
    fields = ("op", "id", "args", "kwargs", "shapes", "dtypes", "calls", "compiled", "dropped")
    for a, b in zip(trace.signatures, loaded.signatures, strict=True):
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        for x, y in zip((a.inputs or []) + (a.output or []), (b.inputs or []) + (b.output or []), strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y)  # bfloat16 too, bit for bit
    concatenate = _by_id(loaded)["concatenate[float32,(3,2)x(3,2),axis=1]"]
    assert concatenate.args == ([Slot(0), Slot(1)],) and type(concatenate.args[0]) is list
    assert type(_by_id(loaded)["reshape[float32,(12,),shape=(3,4)]"].args[1]) is tuple


def test_past_the_cap_signatures_keep_all_but_their_arrays(tmp_path):
    trace = record([str(_program(tmp_path, PROGRAM))])
    kept = [s for s in trace.signatures if s.inputs is not None]
    dropped = tracefile.save(trace, tmp_path / "t.trace", max_bytes=200)
    loaded = tracefile.load(tmp_path / "t.trace")
    assert 0 < dropped < len(kept) and sum(s.dropped for s in loaded.signatures) == dropped
    assert all(s.inputs is None and s.output is None for s in loaded.signatures if s.dropped)
    assert [s.id for s in loaded.signatures] == [s.id for s in trace.signatures]


@pytest.mark.parametrize("damage", ["truncated", "foreign", "not-zip", "missing-array"])
def test_a_damaged_or_foreign_trace_is_one_line(tmp_path, damage):
    path = tmp_path / "t.trace"
    tracefile.save(record([str(_program(tmp_path, PROGRAM))]), path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not-zip":
        path.write_text("hello")
    else:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "x", "w") as out:
            for item in src.infolist():
                text = src.read(item)
                if damage == "foreign" and item.filename == tracefile.MANIFEST:
                    text = text.replace(b"mlxport.trace/1", b"other/9")
                if not (damage == "missing-array" and item.filename.endswith(".npy")):
                    out.writestr(item, text)
        (tmp_path / "x").replace(path)
    with pytest.raises(InputError) as caught:
        tracefile.load(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_a_kept_array_is_the_value_of_its_call_not_of_the_later_program(tmp_path):
    # The arrays are copied after the program: its later a[i] = v and a += b rebind its own handle.
    text = "import mlx.core as mx\nx = mx.zeros((3,))\ny = mx.exp(x)\nx[0] = 5.0\nx += 1\ny += 1\n"
    exp = _by_id(record([str(_program(tmp_path, text))]))["exp[float32,(3,)]"]
    np.testing.assert_array_equal(exp.inputs[0], [0, 0, 0])
    np.testing.assert_array_equal(exp.output[0], [1, 1, 1])
