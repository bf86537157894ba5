"""Results documents (the dict of a results file) as text for other tools: JUnit XML for CI test
reports, Markdown for a job summary or PR comment, SVG and HTML snapshots of the rich report.
Pure functions: they never run ops and never print."""

from __future__ import annotations

import dataclasses
import io
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Sequence

from rich.console import Console

from .model import CellResult, Status, TargetInfo, rerun_command
from .report import (GLYPHS, LEGEND, SUMMARY_COLUMNS, cell_text, counts_by_cell, explained, matrix, matrix_columns,
                     porting_debt, rows_of, summary_rows, summary_table, unexplained)

FAILURES = (Status.MISMATCH,)  # and an xpass under --strict-xfail
ERRORS = (Status.ERROR, Status.CRASH, Status.TIMEOUT, Status.UNSUPPORTED)
SKIPPED = (Status.SKIP, Status.XFAIL)
DETAILS_LIMIT = 50

_TARGET_FIELDS = {f.name for f in dataclasses.fields(TargetInfo)}


def cells_and_infos(doc: dict) -> tuple[list[CellResult], list[TargetInfo]]:
    """The cells and targets of a results document; a target named only by its cells gets an
    info made from its name (``mlx:cpu`` -> framework ``mlx``, device ``cpu``)."""
    cells = [CellResult.from_json(r) for r in doc.get("results", [])]
    infos = [TargetInfo(**{k: v for k, v in t.items() if k in _TARGET_FIELDS}) for t in doc.get("targets", [])]
    known = {i.name for i in infos}
    for name in dict.fromkeys(c.target for c in cells):
        if name not in known:
            framework, _, device = name.partition(":")
            infos.append(TargetInfo(name, framework, device, available=True))
    return cells, infos


def reproduce(cell: CellResult) -> str:
    """The command that runs one cell again: the one the run recorded (it names a ``--cases``
    folder where needed), else one made from the ids; ``[`` and ``]`` are literal in ``--ops``."""
    return cell.reproduce or rerun_command(cell.target, cell.case)


def junit(doc: dict, strict_xfail: bool = False, verdict=None) -> str:
    """JUnit XML: a ``<testsuite>`` per target, a ``<testcase>`` per cell, and with a
    ``verdict`` (gates.Verdict) a ``gates`` suite with a testcase per line, failed where the gate
    failed, so that the report agrees with the exit status. An xpass is a failure exactly when
    the gate fails on it (``strict_xfail``); otherwise it passes, with a property that says it was
    expected to fail."""
    failing = FAILURES + ((Status.XPASS,) if strict_xfail else ())
    cells, infos = cells_and_infos(doc)
    root = ET.Element("testsuites", name="mlxport")
    for info in infos:
        mine = [c for c in cells if c.target == info.name]
        if not mine:
            continue
        counts = Counter(c.status for c in mine)
        ET.SubElement(root, "testsuite", name=info.name, tests=str(len(mine)),
                      failures=str(sum(counts[s] for s in failing)),
                      errors=str(sum(counts[s] for s in ERRORS)),
                      skipped=str(sum(counts[s] for s in SKIPPED)),
                      time=f"{sum(c.seconds or 0.0 for c in mine):.3f}")
        suite = root[-1]
        for cell in mine:
            _testcase(suite, cell, failing)
    if verdict is not None and verdict.lines:
        suite = ET.SubElement(root, "testsuite", name="gates", tests=str(len(verdict.lines)),
                              failures=str(len(verdict.failing)), errors="0", skipped="0", time="0.000")
        for line in verdict.lines:
            case = ET.SubElement(suite, "testcase", classname="gates", name=line, time="0.000")
            if line in verdict.failing:
                ET.SubElement(case, "failure", message=line, type="gate")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, cell: CellResult, failing: tuple[Status, ...]) -> None:
    case = ET.SubElement(suite, "testcase", classname=cell.target, name=cell.case,
                         time=f"{cell.seconds or 0.0:.3f}")
    message = f"{cell.status.value}: {cell.message}" if cell.message else cell.status.value
    if cell.status in SKIPPED:
        ET.SubElement(case, "skipped", message=cell.xfail or cell.known or cell.message or cell.status.value)
        return
    if cell.status in failing:
        element = ET.SubElement(case, "failure", message=message, type=cell.status.value)
    elif cell.status in ERRORS:
        element = ET.SubElement(case, "error", message=message, type=cell.status.value)
    else:
        if cell.status is Status.XPASS:
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="xpass", value=f"passed; expected to fail: {cell.xfail}")
        return
    lines = [message] + ([f"expected to fail: {cell.xfail}"] if cell.xfail else []) \
        + ([f"known: {cell.known}"] if cell.known else []) + [f"reproduce: {reproduce(cell)}"]
    element.text = "\n".join(lines)


def markdown(doc: dict, gate_lines: Sequence[str] = (), by: str = "op") -> str:
    """A GitHub-flavoured summary: coverage per target, gate verdicts, the op (or primitive) x
    target matrix, porting debt by primitive, and the non-passing cells in collapsed lists."""
    cells, infos = cells_and_infos(doc)
    out = ["## mlxport check", ""] + _coverage_rows(cells) + [""]
    if gate_lines:
        out += [f"- {_md(line)}" for line in gate_lines] + [""]
    out += _matrix_rows(cells, infos, by) + ["", f"<sub>{LEGEND}</sub>", ""]
    if by == "primitive":
        out += [f"- {_md(line)}" for line in porting_debt(cells, by)] + [""]
    out += _details(cells) + _reasons(cells)
    return "\n".join(out).rstrip() + "\n"


def _coverage_rows(cells: list[CellResult]) -> list[str]:
    rows = ["| target | " + " | ".join(SUMMARY_COLUMNS) + " | coverage |",
            "|---" + "|---:" * (len(SUMMARY_COLUMNS) + 1) + "|"]
    for target, counts, coverage in summary_rows(cells):
        rows.append(f"| {_md(target)} | " + " | ".join(counts) + f" | {coverage} |")
    return rows


def _matrix_rows(cells: list[CellResult], infos: list[TargetInfo], by: str = "op") -> list[str]:
    by_cell = counts_by_cell(cells, by)
    infos = matrix_columns(cells, infos, by)
    rows = [f"| {by} | " + " | ".join(_md(i.name) for i in infos) + " |", "|---" * (len(infos) + 1) + "|"]
    for row in sorted({row for c in cells for row in rows_of(c, by)}):
        texts = [cell_text(by_cell.get((row, i.name), Counter())).plain for i in infos]
        rows.append(f"| {_md(row)} | " + " | ".join(texts) + " |")
    return rows


def _details(cells: list[CellResult]) -> list[str]:
    bad = unexplained(cells)
    if not bad:
        return []
    lines = [f"- {GLYPHS[c.status][0]} `{c.case}` {_md(c.target)} **{c.status.value}**: {_md(c.message or '')}"
             f" <br>`{_md(reproduce(c))}`" for c in bad[:DETAILS_LIMIT]]
    if len(bad) > DETAILS_LIMIT:
        lines.append(f"- ... and {len(bad) - DETAILS_LIMIT} more; the results file has every cell")
    return ["<details>", f"<summary>{len(bad)} cells failed without a known reason</summary>", ""] \
        + lines + ["", "</details>", ""]


def _reasons(cells: list[CellResult]) -> list[str]:
    """The cells that failed (or passed) for a stated reason, a line per op, target and reason,
    folded as the terminal's report has them."""
    groups = explained(cells)
    if not groups:
        return []
    lines = [f"- {GLYPHS[g.status][0]} {g.status.value} {_md(g.target)} `{_md(g.op)}` ×{g.count}, "
             f"{g.label}: {_md(g.reason)}" for g in groups]
    return ["<details>", f"<summary>{sum(g.count for g in groups)} cells with a known reason "
            f"({len(groups)} reasons)</summary>", ""] + lines + ["", "</details>", ""]


def _md(text: str) -> str:
    """One table-safe line: pipes escaped, newlines folded."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _recorded(doc: dict, width: int) -> Console:
    cells, infos = cells_and_infos(doc)
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
    console.print(matrix(cells, [i for i in infos if i.name in {c.target for c in cells}]))
    console.print(LEGEND, style="dim", highlight=False)
    console.print(summary_table(cells))
    return console


def svg(doc: dict, width: int = 120, title: str = "mlxport check") -> str:
    """The rich matrix and summary as an SVG image."""
    return _recorded(doc, width).export_svg(title=title)


def html(doc: dict, width: int = 120) -> str:
    """The rich matrix and summary as a standalone HTML page."""
    return _recorded(doc, width).export_html()
