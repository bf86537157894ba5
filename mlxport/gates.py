"""CI gates on a finished run: coverage floors, regressions against a baseline, and expected
failures as data. Pure functions over cell results; the CLI turns a failed gate into exit 1."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .catalog import glob
from .model import CellResult, InputError, Status, rerun_command
from .results import load, summarize

PLACEHOLDER = "TODO: say why this is expected to fail"
FAILING = (Status.MISMATCH, Status.UNSUPPORTED, Status.ERROR, Status.CRASH, Status.TIMEOUT)


@dataclass(frozen=True)
class Xfail:
    """One line of an expected-failures file: ``TARGET_GLOB  CASE_GLOB  # reason``."""

    target: str
    cases: str
    reason: str
    line: int


@dataclass(frozen=True)
class Verdict:
    """What the gates say: the lines to print, and whether any gate failed."""

    failed: bool
    lines: tuple[str, ...]


def read_xfails(path: Path) -> list[Xfail]:
    """Parse an expected-failures file; a missing reason or a placeholder is an input error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--xfails {path}: cannot read: {exc}") from None
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        body, _, reason = raw.partition("#")
        if not body.strip():
            continue  # blank, or a comment line
        fields = body.split()
        if len(fields) != 2:
            raise InputError(f"{path}:{number}: expected 'TARGET_GLOB  CASE_GLOB  # reason'")
        if not reason.strip() or reason.strip() == PLACEHOLDER:
            raise InputError(f"{path}:{number}: every expected failure needs a reason after '#'"
                             + (" (this one is still the placeholder)" if reason.strip() else ""))
        entries.append(Xfail(fields[0], fields[1], reason.strip(), number))
    return entries


def apply_xfails(cells: list[CellResult], entries: list[Xfail]) -> tuple[list[CellResult], list[Xfail]]:
    """Failing cells that an entry lists become xfail, passing ones xpass; and the stale entries,
    those that match no cell of the run."""
    used: set[int] = set()
    out = []
    for cell in cells:
        entry = next((e for e in entries if glob(e.target, cell.target) and glob(e.cases, cell.case)), None)
        if entry is None or cell.status not in FAILING + (Status.PASS,):
            out.append(cell)
            continue
        used.add(entry.line)
        status = Status.XPASS if cell.status is Status.PASS else Status.XFAIL
        out.append(replace(cell, status=status, known=cell.known or entry.reason,
                           reproduce=cell.reproduce or rerun_command(cell.target, cell.case)))
    return out, [e for e in entries if e.line not in used]


def write_xfails(path: Path, cells: list[CellResult]) -> int:
    """Draft an expected-failures file from a run: one line per failing cell, each with the
    placeholder reason that the gate refuses until a person writes the real one."""
    lines = [f"{c.target}  {c.case}  # {PLACEHOLDER}" for c in cells if c.status in FAILING]
    header = "# Expected failures: TARGET_GLOB  CASE_GLOB  # reason. Replace every placeholder.\n"
    path.write_text(header + "".join(line + "\n" for line in lines))
    return len(lines)


def read_baseline(path: Path) -> dict[tuple[str, str], Status]:
    """The status of every cell of a results file, by (case, target)."""
    doc = load(path, f"--baseline {path}")
    return {(r["case"], r["target"]): Status(r["status"]) for r in doc["results"]}


def parse_min_coverage(specs: list[str]) -> dict[str | None, float]:
    """``["95", "mlx:gpu=90"]`` -> ``{None: 95.0, "mlx:gpu": 90.0}``; None applies to every target."""
    floors: dict[str | None, float] = {}
    for spec in specs:
        match = re.fullmatch(r"(?:([^=\s]+)=)?(\d+(?:\.\d+)?)", spec.strip())
        if not match or float(match.group(2)) > 100:
            raise InputError(f"--min-coverage {spec}: expected PCT or TARGET=PCT, e.g. 95 or mlx:gpu=90")
        floors[match.group(1)] = float(match.group(2))
    return floors


@dataclass(frozen=True)
class Inputs:
    """The gates' inputs as the flags gave them, read and checked before any run."""

    floors: dict
    baseline: dict | None
    xfails: tuple[Xfail, ...]

    @property
    def any(self) -> bool:
        """Whether any gate was asked for (without one, a run always exits 0)."""
        return bool(self.floors or self.baseline is not None or self.xfails)


def read_inputs(min_coverage: list[str], baseline: Path | None, xfails: Path | None) -> Inputs:
    """Parse ``--min-coverage``, read ``--baseline`` and ``--xfails``; a bad one is exit 2."""
    return Inputs(parse_min_coverage(min_coverage), read_baseline(baseline) if baseline else None,
                  tuple(read_xfails(xfails)) if xfails else ())


def judge(cells: list[CellResult], asked: Inputs, stale: list[Xfail], strict_xfail: bool) -> Verdict:
    """Every gate that was asked for, over the run's cells."""
    floors, baseline = asked.floors, asked.baseline
    lines: list[str] = []
    failed = False
    summary = summarize(cells)
    for target, counts in summary.items():
        floor = floors.get(target, floors.get(None))
        coverage = 100 * (counts["coverage"] or 0.0)
        if floor is not None:
            ok = coverage >= floor
            failed |= not ok
            lines.append(f"{'ok' if ok else 'FAIL'}: coverage {target} {coverage:.1f}% (minimum {floor:g}%)")
    for target in sorted(set(floors) - set(summary) - {None}):
        lines.append(f"not run: {target} has no cells in this run, so --min-coverage {target} does not apply")
    if baseline is not None:
        now = {(c.case, c.target): c.status for c in cells}
        regressed = sorted(k for k, s in baseline.items() if s is Status.PASS and k in now and now[k] is not Status.PASS)
        progress = sorted(k for k, s in now.items() if s is Status.PASS and k in baseline and baseline[k] is not Status.PASS)
        failed |= bool(regressed)
        lines += [f"REGRESSION: {t} {c} passed in the baseline, now {now[(c, t)].value}" for c, t in regressed]
        lines += [f"progress: {t} {c} now passes (was {baseline[(c, t)].value})" for c, t in progress]
        lines.append(f"{len(regressed)} regressions, {len(progress)} newly passing against the baseline")
    lines += [f"stale xfail (matches no cell): line {e.line}: {e.target}  {e.cases}" for e in stale]
    xpass = [c for c in cells if c.status is Status.XPASS]
    lines += [f"{'FAIL' if strict_xfail else 'xpass'}: {c.target} {c.case} passes but is listed as expected to fail"
              for c in xpass]
    failed |= strict_xfail and bool(xpass)
    return Verdict(failed, tuple(lines))
