"""CI gates on a finished run: coverage floors, regressions against a baseline, and expected
failures as data. Pure functions over cell results; the CLI turns a failed gate into exit 1."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .catalog import glob
from .model import CellResult, InputError, Status, rerun_command, target_of
from .results import load, summarize

PLACEHOLDER = "TODO: say why this is expected to fail"
FAILING = (Status.MISMATCH, Status.UNSUPPORTED, Status.ERROR, Status.CRASH, Status.TIMEOUT)
PASSED = (Status.PASS, Status.XPASS)  # an xpass is a pass that someone expected to fail


@dataclass(frozen=True)
class Xfail:
    """One line of an expected-failures file: ``TARGET_GLOB  CASE_GLOB  # reason``."""

    target: str
    cases: str
    reason: str
    line: int


@dataclass(frozen=True)
class Verdict:
    """What the gates say: the lines to print, and those of them that fail the gate."""

    lines: tuple[str, ...]
    failing: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.failing)

    def add(self, line: str, fails: bool) -> "Verdict":
        return Verdict(self.lines + (line,), self.failing + ((line,) if fails else ()))


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


def _lists(entry: Xfail, column: str) -> bool:
    """Whether an entry's target glob covers a column: the column's name or its target's
    (``mlx:gpu`` covers ``mlx:gpu@NVIDIA-H100``)."""
    return glob(entry.target, column) or glob(entry.target, target_of(column))


def apply_xfails(cells: list[CellResult], entries: list[Xfail]) -> tuple[list[CellResult], list[Xfail]]:
    """Failing cells that an entry lists become xfail, passing ones xpass; and the stale entries:
    those whose target and cases the run has, and that list no cell of it that failed or passed.
    An entry for a target or cases the run did not select is not stale."""
    used: set[int] = set()
    out = []
    for cell in cells:
        entry = next((e for e in entries if _lists(e, cell.target) and glob(e.cases, cell.case)), None)
        if entry is None or cell.status not in FAILING + (Status.PASS,):
            out.append(cell)
            continue
        used.add(entry.line)
        status = Status.XPASS if cell.status is Status.PASS else Status.XFAIL
        out.append(replace(cell, status=status, xfail=entry.reason,
                           reproduce=cell.reproduce or rerun_command(cell.target, cell.case)))
    columns, cases = {c.target for c in cells}, {c.case for c in cells}
    stale = [e for e in entries if e.line not in used
             and any(_lists(e, t) for t in columns) and any(glob(e.cases, c) for c in cases)]
    return out, stale


def write_xfails(path: Path, cells: list[CellResult]) -> tuple[int, int]:
    """Draft an expected-failures file from a run: one line per failing cell, with the catalog's
    reason where it records one, else the placeholder that the gate refuses until a person
    writes the real one. Returns the lines written and how many of them are placeholders."""
    failing = [c for c in cells if c.status in FAILING]
    lines = [f"{c.target}  {c.case}  # {' '.join(c.known.split()) if c.known else PLACEHOLDER}" for c in failing]
    header = "# Expected failures: TARGET_GLOB  CASE_GLOB  # reason. Replace every placeholder.\n"
    path.write_text(header + "".join(line + "\n" for line in lines))
    return len(lines), sum(not c.known for c in failing)


def read_baseline(path: Path) -> dict[tuple[str, str], Status]:
    """The status of every cell of a results file, by (case, target)."""
    doc = load(path, f"--baseline {path}")
    return {(r["case"], r["target"]): Status(r["status"]) for r in doc["results"]}


def parse_min_coverage(specs: list[str], known: set[str] | None = None) -> dict[str | None, float]:
    """``["95", "mlx:gpu=90"]`` -> ``{None: 95.0, "mlx:gpu": 90.0}``; None applies to every column.
    A target that is not in ``known`` (the targets mlxport knows) is an input error."""
    floors: dict[str | None, float] = {}
    for spec in specs:
        match = re.fullmatch(r"(?:([^=\s]+)=)?(\d+(?:\.\d+)?)", spec.strip())
        if not match or float(match.group(2)) > 100:
            raise InputError(f"--min-coverage {spec}: expected PCT or TARGET=PCT, e.g. 95 or mlx:gpu=90")
        name = match.group(1)
        if name and known is not None and target_of(name) not in known:
            raise InputError(f"--min-coverage {spec}: unknown target {target_of(name)}; known: {', '.join(sorted(known))}")
        floors[name] = float(match.group(2))
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


def read_inputs(min_coverage: list[str], baseline: Path | None, xfails: Path | None,
                known: set[str] | None = None) -> Inputs:
    """Parse ``--min-coverage`` (its targets among ``known``), read ``--baseline`` and
    ``--xfails``; a bad one is exit 2."""
    return Inputs(parse_min_coverage(min_coverage, known), read_baseline(baseline) if baseline else None,
                  tuple(read_xfails(xfails)) if xfails else ())


def judge(cells: list[CellResult], asked: Inputs, stale: list[Xfail], strict_xfail: bool) -> Verdict:
    """Every gate that was asked for, over the run's cells. A floor whose target has no column in
    the run fails: a gate that cannot apply does not pass."""
    floors = asked.floors
    verdict = Verdict(())
    summary = summarize(cells)
    for column, counts in summary.items():
        floor = floors.get(column, floors.get(target_of(column), floors.get(None)))
        coverage = 100 * (counts["coverage"] or 0.0)
        if floor is not None:
            ok = coverage >= floor
            verdict = verdict.add(f"{'ok' if ok else 'FAIL'}: coverage {column} {coverage:.1f}% (minimum {floor:g}%)", not ok)
    for name, floor in floors.items():
        if not any(name in (column, target_of(column)) for column in summary) and (name or not summary):
            what, flag = name or "any target", f"{name}={floor:g}" if name else f"{floor:g}"
            verdict = verdict.add(f"FAIL: coverage {what}: no cell of {what} in this run (not selected, or not "
                                  f"available where it ran), so --min-coverage {flag} cannot hold", True)
    if asked.baseline is not None:
        for line, fails in _regressions(cells, asked.baseline):
            verdict = verdict.add(line, fails)
    for e in stale:
        verdict = verdict.add(f"stale xfail (its target and cases ran, and it lists no cell that failed or passed): "
                              f"line {e.line}: {e.target}  {e.cases}", False)
    for c in cells:
        if c.status is Status.XPASS:
            verdict = verdict.add(f"{'FAIL' if strict_xfail else 'xpass'}: {c.target} {c.case} passes but is listed "
                                  "as expected to fail", strict_xfail)
    return verdict


def _regressions(cells: list[CellResult], baseline: dict[tuple[str, str], Status]) -> list[tuple[str, bool]]:
    """A line per cell that passed in the baseline and does not pass now (each fails the gate),
    per newly passing cell, and a count. A column is compared with the baseline's column of
    the same name, else with its target's only column there if it is its target's only column
    here too (one device, named for it on one side only)."""
    now = {(c.case, c.target): c.status for c in cells}
    then_columns = {column for _, column in baseline}
    here = {column for _, column in now}
    pair = {}
    for column in here:
        theirs = [t for t in then_columns if target_of(t) == target_of(column)]
        alone = sum(target_of(c) == target_of(column) for c in here) == 1
        pair[column] = column if column in then_columns else theirs[0] if alone and len(theirs) == 1 else None
    was = {key: baseline.get((key[0], pair[key[1]])) for key in now}
    regressed = sorted(k for k, s in was.items() if s in PASSED and now[k] not in PASSED)
    progress = sorted(k for k, s in was.items() if s is not None and s not in PASSED and now[k] in PASSED)
    lines = [(f"REGRESSION: {t} {c} passed in the baseline, now {now[(c, t)].value}", True) for c, t in regressed]
    lines += [(f"progress: {t} {c} now passes (was {was[(c, t)].value})", False) for c, t in progress]
    lines.append((f"{len(regressed)} regressions, {len(progress)} newly passing against the baseline", False))
    return lines
