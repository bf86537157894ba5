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
from .report import GLYPHS, LEGEND, cell_text, counts_by_cell, matrix, summary_table
from .results import summarize

FAILURES = (Status.MISMATCH, Status.XPASS)
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


def junit(doc: dict) -> str:
    """JUnit XML: a ``<testsuite>`` per target, a ``<testcase>`` per cell."""
    cells, infos = cells_and_infos(doc)
    root = ET.Element("testsuites", name="mlxport")
    for info in infos:
        mine = [c for c in cells if c.target == info.name]
        if not mine:
            continue
        counts = Counter(c.status for c in mine)
        ET.SubElement(root, "testsuite", name=info.name, tests=str(len(mine)),
                      failures=str(sum(counts[s] for s in FAILURES)),
                      errors=str(sum(counts[s] for s in ERRORS)),
                      skipped=str(sum(counts[s] for s in SKIPPED)),
                      time=f"{sum(c.seconds or 0.0 for c in mine):.3f}")
        suite = root[-1]
        for cell in mine:
            _testcase(suite, cell)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, cell: CellResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=cell.target, name=cell.case,
                         time=f"{cell.seconds or 0.0:.3f}")
    message = f"{cell.status.value}: {cell.message}" if cell.message else cell.status.value
    if cell.status in SKIPPED:
        ET.SubElement(case, "skipped", message=cell.known or cell.message or cell.status.value)
        return
    if cell.status in FAILURES:
        element = ET.SubElement(case, "failure", message=message, type=cell.status.value)
    elif cell.status in ERRORS:
        element = ET.SubElement(case, "error", message=message, type=cell.status.value)
    else:
        return
    lines = [message] + ([f"known: {cell.known}"] if cell.known else []) + [f"reproduce: {reproduce(cell)}"]
    element.text = "\n".join(lines)


def markdown(doc: dict, gate_lines: Sequence[str] = ()) -> str:
    """A GitHub-flavoured summary: coverage per target, gate verdicts, the op x target matrix,
    and the unexplained non-passing cells in a collapsed list."""
    cells, infos = cells_and_infos(doc)
    infos = [i for i in infos if i.name in {c.target for c in cells}]
    out = ["## mlxport check", ""] + _coverage_rows(cells) + [""]
    if gate_lines:
        out += [f"- {_md(line)}" for line in gate_lines] + [""]
    out += _matrix_rows(cells, infos) + ["", f"<sub>{LEGEND}</sub>", ""]
    out += _details(cells)
    return "\n".join(out).rstrip() + "\n"


def _coverage_rows(cells: list[CellResult]) -> list[str]:
    columns = ("cells", "pass", "mismatch", "unsupported", "error", "skip", "xfail")
    rows = ["| target | " + " | ".join(columns) + " | coverage |",
            "|---" + "|---:" * (len(columns) + 1) + "|"]
    for target, s in summarize(cells).items():
        counts = {**s, "error": s["error"] + s["crash"] + s["timeout"]}
        coverage = "n/a" if s["coverage"] is None else f"{100 * s['coverage']:.1f}%"
        rows.append(f"| {_md(target)} | " + " | ".join(str(counts[c]) for c in columns) + f" | {coverage} |")
    return rows


def _matrix_rows(cells: list[CellResult], infos: list[TargetInfo]) -> list[str]:
    by_cell = counts_by_cell(cells)
    rows = ["| op | " + " | ".join(_md(i.name) for i in infos) + " |", "|---" * (len(infos) + 1) + "|"]
    for op in sorted({c.op for c in cells}):
        texts = [cell_text(by_cell.get((op, i.name), Counter())).plain for i in infos]
        rows.append(f"| {_md(op)} | " + " | ".join(texts) + " |")
    return rows


def _details(cells: list[CellResult]) -> list[str]:
    bad = sorted((c for c in cells if c.status not in (Status.PASS, Status.SKIP) and not c.known),
                 key=lambda c: (c.op, c.case, c.target))
    if not bad:
        return []
    lines = [f"- {GLYPHS[c.status][0]} `{c.case}` {_md(c.target)} **{c.status.value}**: {_md(c.message or '')}"
             f" <br>`{_md(reproduce(c))}`" for c in bad[:DETAILS_LIMIT]]
    if len(bad) > DETAILS_LIMIT:
        lines.append(f"- ... and {len(bad) - DETAILS_LIMIT} more; the results file has every cell")
    return ["<details>", f"<summary>{len(bad)} cells failed without a known reason</summary>", ""] \
        + lines + ["", "</details>"]


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
