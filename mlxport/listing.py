"""What ``mlxport list`` prints: the catalog, the MLX functions it does not cover, and the
primitive classes of the installed MLX. Each writes JSON to stdout, or a table to ``console``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .model import Case


def catalog(console: Console, cases: list[Case], as_json: bool) -> None:
    """A row per op: its category, dtypes, number of cases, and its cases per stress class."""
    rows: dict[str, dict] = {}
    for c in cases:
        row = rows.setdefault(c.op, {"op": c.op, "category": c.category, "dtypes": [], "cases": 0, "stress": {}})
        row["cases"] += 1
        row["dtypes"] += [c.dtype] if c.dtype not in row["dtypes"] else []
        if c.stress:
            row["stress"][c.stress] = row["stress"].get(c.stress, 0) + 1
    if as_json:
        print(json.dumps(list(rows.values()), indent=1))
        return
    stressed = sum(1 for c in cases if c.stress)
    table = Table(title=f"{len(rows)} ops, {len(cases)} cases ({stressed} of them stress cases)")
    for col in ("op", "category", "dtypes", "cases", "stress"):
        table.add_column(col, justify="right" if col == "cases" else "left")
    for r in rows.values():
        stress = " ".join(f"{k}:{n}" for k, n in r["stress"].items())
        table.add_row(r["op"], r["category"], " ".join(r["dtypes"]), str(r["cases"]), stress)
    console.print(table)


def uncovered(console: Console, ops: set[str], cases_dirs: list[Path], as_json: bool) -> None:
    """The public MLX functions in neither the catalog nor a not-applicable list, one a line."""
    from . import api
    from .catalog import builtin_cases

    public = api.public_functions()
    found = api.coverage(ops, api.not_applicable([builtin_cases(), *cases_dirs]), public)
    if as_json:
        print(json.dumps({"uncovered": found.uncovered, "stale": found.stale, "both": found.both}, indent=1))
        return
    for name in found.uncovered:
        console.print(name, markup=False, highlight=False)
    if not found.uncovered:  # said, so that no output is not mistaken for a run that did nothing
        console.print(f"every public MLX function ({len(public)}) has a case or a not-applicable entry", highlight=False)
    import mlx.core as mx  # public_functions() read it

    for name in found.stale:  # an older MLX lacks newer functions: a stale entry, or a newer one
        console.print(f"not-applicable entry {name}: not in MLX {mx.__version__} (stale, or newer than this release)",
                      markup=False, highlight=False)
    for name in found.both:
        console.print(f"not-applicable entry {name} has cases too", markup=False, highlight=False)


def primitive_classes(console: Console, cases_dirs: list[Path], as_json: bool) -> None:
    """Every primitive class of the installed MLX, read from its library, with its names and the
    reasons no case reaches it."""
    from . import primitives
    from .catalog import builtin_cases

    folders = [builtin_cases(), *cases_dirs]
    rows = primitives.listing(folders)
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    import mlx.core as mx

    reasoned = sum(bool(r["unreachable"]) for r in rows)
    table = Table(title=f"{len(rows)} primitive classes in MLX {mx.__version__} ({primitives.library().name}), "
                        f"{reasoned} with a reason no case reaches them")
    for col in ("primitive", "names in a graph", "unreachable"):
        table.add_column(col, overflow="fold")
    for r in rows:
        why = "; ".join(text if where == "*" else f"{where}: {text}" for where, text in r["unreachable"].items())
        table.add_row(r["name"], ", ".join(r["names"]) if r["names"] != [r["name"]] else "", why)
    console.print(table)
    for name in primitives.stale(folders):
        console.print(f"primitive entry {name}: not a primitive class of MLX {mx.__version__} (stale, or newer than "
                      "this release)", markup=False, highlight=False)
