"""The report: matrix cells, failure lines, known divergences grouped, porting debt."""

from __future__ import annotations

from collections import Counter

from mlxport.model import CellResult, Status
from mlxport.report import cell_text, failures, porting_debt


def _cell(case, status, known=None, target="mlx:cpu", message="m"):
    return CellResult(case=case, op=case.split("[")[0], dtype="float32", target=target,
                      status=status, message=message, known=known)


def test_cell_counts_one_status_or_several():
    assert cell_text(Counter({Status.PASS: 12})).plain == "✓ 12"
    assert cell_text(Counter({Status.PASS: 10, Status.MISMATCH: 2})).plain == "✓10 ✗2"


def test_failures_list_unexplained_cells_then_group_known_divergences():
    results = [_cell("exp[a]", Status.PASS), _cell("exp[b]", Status.MISMATCH, "float32 inside"),
               _cell("exp[c]", Status.MISMATCH, "float32 inside"), _cell("sin[a]", Status.ERROR, message="boom"),
               _cell("sin[b]", Status.SKIP)]
    lines = [t.plain for t in failures(results)]
    assert lines == ["! error       mlx:cpu sin[a]: boom",
                     "✗ mismatch    mlx:cpu exp ×2 known divergence: float32 inside"]


def test_porting_debt_names_the_unsupported_ops_per_target():
    results = [_cell("qr[a]", Status.UNSUPPORTED, target="mlx:gpu"), _cell("qr[b]", Status.UNSUPPORTED, target="mlx:gpu"),
               _cell("svd[a]", Status.UNSUPPORTED, target="mlx:gpu"), _cell("qr[a]", Status.PASS)]
    assert porting_debt(results) == ["porting debt mlx:gpu: 3 cells in 2 ops: qr, svd"]
    assert porting_debt(results[-1:]) == ["porting debt: none"]
