"""Which primitive a failing cell points at. A cell on an MLX target records the primitives of its
graph; a failing cell whose graph has several says which, and where the run has passing cells
(same target, same dtype) for all of them but one, that one is the likely culprit. Pure
functions over a finished run's cells.

    suspects(cell, passed)  -> the cell's primitives that pass nowhere else like it
    attribute(cells)        -> the cells, failing ones with their graph and culprit in the message
"""

from __future__ import annotations

from dataclasses import replace

from .model import CellResult, Status

FAILING = (Status.MISMATCH, Status.UNSUPPORTED, Status.ERROR, Status.CRASH, Status.TIMEOUT,
           Status.XFAIL)


def passing(cells: list[CellResult]) -> set[tuple[str, str, str]]:
    """(target, dtype, primitive) for every primitive of every passing cell."""
    return {(c.target, c.dtype, p) for c in cells if c.status in (Status.PASS, Status.XPASS)
            for p in c.primitives or ()}


def suspects(cell: CellResult, passed: set[tuple[str, str, str]]) -> tuple[str, ...]:
    """The primitives of ``cell`` that no passing cell of its target and dtype has."""
    return tuple(p for p in cell.primitives or () if (cell.target, cell.dtype, p) not in passed)


def attribute(cells: list[CellResult]) -> list[CellResult]:
    """Each failing cell whose graph has several primitives, with them named in its message, and
    the likely culprit where exactly one of them passes nowhere else on its target in its dtype."""
    passed = passing(cells)
    return [_attributed(c, passed) if c.status in FAILING and len(c.primitives or ()) > 1 else c
            for c in cells]


def _attributed(cell: CellResult, passed: set[tuple[str, str, str]]) -> CellResult:
    note = f"its graph: {', '.join(cell.primitives)}"
    found = suspects(cell, passed)
    if len(found) == 1:
        note += (f"; likely culprit: {found[0]} (each other one passes in another {cell.dtype} cell "
                 f"on {cell.target})")
    return replace(cell, message=f"{cell.message}; {note}" if cell.message else note)
