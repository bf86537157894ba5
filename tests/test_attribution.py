"""The primitive view over cells that recorded their graphs: the matrix by primitive, porting
debt per primitive, and the likely culprit named in a failing cell's message. Pure functions
over results; the recording itself is tested against the real MLX elsewhere."""

from __future__ import annotations

import json

from conftest import run_cli
from mlxport.attribution import attribute
from mlxport.exports import markdown
from mlxport.model import CellResult, Status
from mlxport.report import counts_by_cell, porting_debt


def _cell(case, status, primitives, dtype="float16", target="mlx:cpu", message=None):
    return CellResult(case=case, op=case.split("[")[0], dtype=dtype, target=target, status=Status(status),
                      message=message, primitives=primitives)


CELLS = [
    _cell("gather_mm[float16,a]", "unsupported", ("Broadcast", "GatherMM"), message="[GatherMM::eval] float32 only"),
    _cell("gather_mm[float32,a]", "pass", ("Broadcast", "GatherMM"), dtype="float32"),
    _cell("add[float16,a]", "pass", ("Add", "Broadcast")),
    _cell("cumsum[float16,a]", "mismatch", ("CumSum",), message="max ulp 3"),
    _cell("sdpa[float16,a]", "error", ("Matmul", "Softmax", "Exp"), message="boom"),
    _cell("add[float16,a]", "pass", None, target="torch:cpu"),
]


def test_a_failing_cell_names_its_graph_and_the_one_primitive_that_passes_nowhere_else():
    cells = {(c.case, c.target): c for c in attribute(CELLS)}
    assert cells[("gather_mm[float16,a]", "mlx:cpu")].message == (
        "[GatherMM::eval] float32 only; its graph: Broadcast, GatherMM; likely culprit: GatherMM (each other "
        "one passes in another float16 cell on mlx:cpu)")  # GatherMM passes in float32 only: not float16
    assert cells[("cumsum[float16,a]", "mlx:cpu")].message == "max ulp 3"  # one primitive: nothing to attribute
    assert cells[("sdpa[float16,a]", "mlx:cpu")].message == "boom; its graph: Matmul, Softmax, Exp"  # three suspects
    assert cells[("add[float16,a]", "mlx:cpu")].message is None  # passing cells are left alone


def test_the_matrix_by_primitive_counts_each_cell_in_every_row_of_its_graph():
    counts = counts_by_cell(CELLS, "primitive")
    assert counts[("Broadcast", "mlx:cpu")] == {Status.UNSUPPORTED: 1, Status.PASS: 2}
    assert counts[("GatherMM", "mlx:cpu")] == {Status.UNSUPPORTED: 1, Status.PASS: 1}
    assert not any(target == "torch:cpu" for _, target in counts)  # no graph off MLX


def test_porting_debt_per_primitive_goes_to_the_suspects():
    assert porting_debt(CELLS, "primitive") == ["porting debt mlx:cpu: 1 cells; by primitive: GatherMM (1)"]
    assert porting_debt(CELLS) == ["porting debt mlx:cpu: 1 cells in 1 ops: gather_mm"]


def test_markdown_by_primitive_has_the_matrix_and_the_debt():
    doc = {"targets": [], "results": [c.to_json() for c in CELLS]}
    lines = markdown(doc, by="primitive").splitlines()
    assert "| primitive | mlx:cpu |" in lines and "| GatherMM | ✓1 ○1 |" in lines
    assert "- porting debt mlx:cpu: 1 cells; by primitive: GatherMM (1)" in lines


def test_merge_by_primitive(tmp_path):
    doc = {"schema": "mlxport.results/1", "targets": [], "results": [c.to_json() for c in CELLS]}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    proc = run_cli("merge", str(tmp_path / "r.json"), "--by", "primitive")
    assert proc.returncode == 0, proc.stderr
    assert "by primitive" in proc.stdout and "GatherMM" in proc.stdout and "gather_mm " not in proc.stdout
    bad = run_cli("merge", str(tmp_path / "r.json"), "--by", "kernel")
    assert bad.returncode == 2 and "--by kernel: expected one of op, primitive" in bad.stderr
