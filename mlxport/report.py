"""Render results for people: the op x target matrix, the summary, the failures. Never runs ops."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import attribution
from .model import CellResult, Status, TargetInfo
from .results import summarize

GLYPHS = {
    Status.PASS: ("✓", "green"),
    Status.MISMATCH: ("✗", "red"),
    Status.UNSUPPORTED: ("○", "yellow"),
    Status.ERROR: ("!", "magenta"),
    Status.CRASH: ("☠", "bold red"),
    Status.TIMEOUT: ("⧗", "red"),
    Status.SKIP: ("–", "dim"),
    Status.XFAIL: ("x", "dim yellow"),
    Status.XPASS: ("✓!", "cyan"),
}
LEGEND = "  ".join(f"{g} {s.value}" for s, (g, _) in GLYPHS.items())


def cell_text(counts: Counter) -> Text:
    """``✓ 12`` when every case of the op agrees, ``✓10 ✗2`` when they differ."""
    text = Text()
    present = [s for s in GLYPHS if counts[s]]
    for i, status in enumerate(present):
        glyph, style = GLYPHS[status]
        sep = " " if len(present) == 1 else ""
        text.append(("" if i == 0 else " ") + f"{glyph}{sep}{counts[status]}", style=style)
    return text


BY = ("op", "primitive")  # the rows of the matrix: the catalog's ops, or MLX's primitives


def rows_of(cell: CellResult, by: str = "op") -> tuple[str, ...]:
    """The rows a cell counts in: its op; or each primitive of its graph (none off MLX)."""
    return (cell.op,) if by == "op" else cell.primitives or ()


def counts_by_cell(cells: list[CellResult], by: str = "op") -> dict[tuple[str, str], Counter]:
    """The status counts of each (row, target) cell of the matrix."""
    by_cell: dict[tuple[str, str], Counter] = {}
    for c in cells:
        for row in rows_of(c, by):
            by_cell.setdefault((row, c.target), Counter())[c.status] += 1
    return by_cell


def matrix_columns(results: list[CellResult], infos: list[TargetInfo], by: str = "op") -> list[TargetInfo]:
    """The targets with cells in the matrix (by primitive: those whose cells recorded them)."""
    ran = {r.target for r in results if rows_of(r, by)}
    return [i for i in infos if i.name in ran]


def calls_by_op(results: list[CellResult]) -> Counter:
    """A traced program's calls of each op: the sum of its distinct calls' counts (each counted
    once, whatever the number of targets); empty for the catalog's cells, which have none."""
    calls = {(r.op, r.case): r.calls for r in results if r.calls is not None}
    counts: Counter = Counter()
    for (op, _), n in calls.items():
        counts[op] += n
    return counts


def matrix(results: list[CellResult], infos: list[TargetInfo], by: str = "op", title: str = "mlxport check") -> Table:
    """A row per op (or per primitive: the cells whose graph has it), a column per target
    (headed by its device's real name); a traced program's rows by op also count its calls."""
    by_cell = counts_by_cell(results, by)
    calls = calls_by_op(results) if by == "op" else Counter()
    table = Table(title=title + (", by primitive" if by == "primitive" else ""))
    table.add_column(by, style="bold")
    if calls:
        table.add_column("calls", justify="right")
    columns = matrix_columns(results, infos, by)
    for info in columns:
        table.add_column(f"{info.name}\n{info.device_name or ''}".rstrip())
    for row in sorted({row for r in results for row in rows_of(r, by)}):
        table.add_row(row, *[str(calls[row])] * bool(calls),
                      *[cell_text(by_cell.get((row, i.name), Counter())) for i in columns])
    return table


SUMMARY_COLUMNS = ("cells", "pass", "mismatch", "unsupported", "error", "skip", "xfail", "xpass")


def summary_rows(results: list[CellResult]) -> list[tuple[str, list[str], str]]:
    """Per column of the matrix: its name, its counts in ``SUMMARY_COLUMNS`` order (error counts
    crashes and timeouts too, so that a row adds up to its cells), and its coverage."""
    rows = []
    for target, s in summarize(results).items():
        counts = {**s, "error": s["error"] + s["crash"] + s["timeout"]}
        coverage = "n/a" if s["coverage"] is None else f"{100 * s['coverage']:.1f}%"
        rows.append((target, [str(counts[c]) for c in SUMMARY_COLUMNS], coverage))
    return rows


def summary_table(results: list[CellResult]) -> Table:
    """Each target's counts and coverage = (pass + xpass) / (cells - skip). A status that no
    target has gets no column, so that the table fits a terminal; each row still adds up."""
    rows = summary_rows(results)
    shown = [i for i, col in enumerate(SUMMARY_COLUMNS)
             if col in ("cells", "pass") or any(counts[i] != "0" for _, counts, _ in rows)]
    table = Table(title="summary")
    table.add_column("target", no_wrap=True)
    for i in shown:
        table.add_column(SUMMARY_COLUMNS[i], justify="right")
    table.add_column("coverage", justify="right")
    for target, counts, coverage in rows:
        table.add_row(target, *[counts[i] for i in shown], coverage)
    return table


def porting_debt(results: list[CellResult], by: str = "op") -> list[str]:
    """Per target, the ops with unsupported cells: what still needs porting. By primitive: the
    primitives of those cells that pass in no other cell of the target in the cell's dtype (all
    of the cell's primitives where each passes somewhere), with their counts of cells."""
    passed = attribution.passing(results)
    debt: dict[str, Counter] = {}
    cells: Counter = Counter()
    for r in results:
        if r.status is Status.UNSUPPORTED:
            cells[r.target] += 1
            rows = (r.op,) if by == "op" else attribution.suspects(r, passed) or r.primitives or ("(no graph)",)
            debt.setdefault(r.target, Counter()).update(rows)
    if by == "op":
        return [f"porting debt {t}: {cells[t]} cells in {len(c)} ops: {', '.join(sorted(c))}"
                for t, c in debt.items()] or ["porting debt: none"]
    return [f"porting debt {t}: {cells[t]} cells; by primitive: "
            + ", ".join(f"{p} ({n})" for p, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
            for t, c in debt.items()] or ["porting debt: none"]


@dataclass(frozen=True)
class Explained:
    """The cells of one op on one target that failed (or passed) for one stated reason: a
    known divergence of the catalog, or an expected failure of the ``--xfails`` file."""

    op: str
    target: str
    status: Status
    label: str  # "known divergence" or "expected to fail"
    reason: str
    count: int


def explained(results: list[CellResult]) -> list[Explained]:
    """The cells with a stated reason, grouped per op, target, status and reason. The person's
    own ``--xfails`` reason comes before the catalog's."""
    groups: Counter = Counter()
    for r in results:
        if r.xfail:
            groups[(r.op, r.target, r.status, "expected to fail", r.xfail)] += 1
        elif r.known and r.status not in (Status.PASS, Status.SKIP):
            groups[(r.op, r.target, r.status, "known divergence", r.known)] += 1
    return [Explained(*key, count) for key, count in sorted(groups.items(), key=lambda g: g[0][:2])]


def unexplained(results: list[CellResult]) -> list[CellResult]:
    """The cells that did not pass or skip and have no stated reason, by op, case and target."""
    return sorted((r for r in results if r.status not in (Status.PASS, Status.SKIP) and not (r.known or r.xfail)),
                  key=lambda r: (r.op, r.case, r.target))


def failures(results: list[CellResult], limit: int = 40) -> list[Text]:
    """One line per cell that did not pass or skip and has no stated reason; then one line per
    op, target and reason (a known divergence or an expected failure), with its count."""
    lines = [_failure(r) for r in unexplained(results)]
    if len(lines) > limit:
        lines = lines[:limit] + [Text(f"... and {len(lines) - limit} more; --json writes every cell", style="dim")]
    for group in explained(results):
        glyph, style = GLYPHS[group.status]
        line = Text(f"{glyph} {group.status.value:<11} ", style=style)
        line.append(f"{group.target} {group.op} ×{group.count}", style="bold")
        line.append(f" {group.label}: {group.reason}", style="dim")
        lines.append(line)
    return lines


def _failure(r: CellResult) -> Text:
    glyph, style = GLYPHS[r.status]
    line = Text(f"{glyph} {r.status.value:<11} ", style=style)
    line.append(f"{r.target} {r.case}: ", style="bold")
    line.append(r.message or "")
    if r.reproduce:
        line.append(f"  rerun: {r.reproduce}", style="dim")
    return line


def print_check(console: Console, results: list[CellResult], infos: list[TargetInfo], by: str = "op",
                title: str = "mlxport check") -> None:
    """The whole report of ``mlxport check`` (or trace, replay): the matrix by op or by primitive."""
    console.print(matrix(results, infos, by, title))
    console.print(LEGEND, style="dim", highlight=False)
    for line in failures(results):
        console.print(line, soft_wrap=True)
    console.print(summary_table(results))
    for line in porting_debt(results, by):
        console.print(line, soft_wrap=True, highlight=False)


def unreached_lines(unreached: dict[str, dict[str, str | None]]) -> list[str]:
    """Per target, the primitive classes no cell reached: those without a reason by name (what
    the catalog should reach), and how many have one (``mlxport list --primitives`` says why)."""
    lines = []
    for target, found in unreached.items():
        bare = sorted(cls for cls, why in found.items() if why is None)
        named = ", ".join(bare[:20]) + (f" and {len(bare) - 20} more (the results file has all)" if len(bare) > 20 else "")
        lines.append(f"unreached primitives {target}: {len(found)} classes, {len(found) - len(bare)} with a reason "
                     f"(mlxport list --primitives)" + (f"; without one: {named}" if bare else ""))
    return lines


def devices_table(infos: list[TargetInfo]) -> Table:
    """``mlxport devices``: every known target and whether it can run here."""
    table = Table(title="targets")
    for col in ("target", "state", "framework", "device"):
        table.add_column(col)
    for i in infos:
        state = Text("available", style="green") if i.available else Text(f"unavailable: {i.reason}", style="yellow")
        table.add_row(i.name, state, f"{i.framework} {i.framework_version or ''}".strip(), i.device_name or "")
    return table
