"""The regression gate of ``mlxport bench --baseline BENCH.json``: which cells are significantly
slower than in the baseline, whether one is slower than ``--max-slowdown`` allows, and which
cells were timed there and are not now (they fail, error or are unsupported): those fail too.
A cell whose times cannot tell (too few processes or samples, in either file) is inconclusive:
printed, and a failure with ``--strict-bench``.

    doc, found = compare(doc, read_baseline(path), max_slowdown=1.25, strict=False)
    failed = any(item.fails for item in found)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import stats
from .benchfile import load, shortfalls

DEFAULT_MAX_SLOWDOWN = 1.25  # 25% slower fails the gate


@dataclass(frozen=True)
class Slower:
    """A cell significantly slower than in the baseline: ``ratio`` = median now / median then."""

    case: str
    target: str
    ratio: float
    fails: bool  # slower than --max-slowdown allows

    def line(self) -> str:
        verdict = "FAIL" if self.fails else "slower"
        return f"{verdict}: {self.case} on {self.target}: {self.ratio:.2f}x the baseline's median time"


@dataclass(frozen=True)
class Untimed:
    """A cell validated and timed in the baseline that is not validated now: always a failure."""

    case: str
    target: str
    status: str
    message: str | None
    fails: bool = True

    def line(self) -> str:
        why = f": {' '.join(self.message.split())}" if self.message else ""  # one line
        return f"FAIL: {self.case} on {self.target}: timed in the baseline, {self.status} now{why}"


@dataclass(frozen=True)
class Inconclusive:
    """A cell timed in both files whose times show no significant difference and could not have
    shown one: ``reason`` says what is missing; it fails the gate only with ``--strict-bench``."""

    case: str
    target: str
    reason: str
    fails: bool = False

    def line(self) -> str:
        if self.fails:
            return f"FAIL: {self.case} on {self.target}: inconclusive (--strict-bench): {self.reason}"
        return f"inconclusive: {self.case} on {self.target}: {self.reason}"


def compare(doc: dict, baseline: dict, max_slowdown: float, strict: bool = False) -> tuple[dict, list]:
    """The whole gate: ``doc`` marked (``mark``), and its findings in the order they are printed:
    slower cells, cells no longer timed, inconclusive cells."""
    found = slower(doc, baseline, max_slowdown)
    return mark(doc, found), [*found, *untimed(doc, baseline), *inconclusive(doc, baseline, strict)]


def read_baseline(path: Path | None) -> dict | None:
    """The baseline bench file, read before the run so that a bad one costs nothing (exit 2)."""
    return load(path, f"--baseline {path}") if path else None


def _timed(record: dict) -> bool:
    return bool(record.get("validated")) and bool(record.get("median_s"))


def _paired(doc: dict, baseline: dict):
    """(record now, record then) of every cell timed in both files."""
    then = {(r["case"], r["target"]): r for r in baseline["results"] if _timed(r)}
    for record in doc["results"]:
        old = then.get((record["case"], record["target"]))
        if old is not None and _timed(record):
            yield record, old


def _tested(record: dict, old: dict) -> bool:
    """Whether both files kept raw times, for Mann-Whitney; else the medians alone judge."""
    return bool(old.get("times_s")) and bool(record.get("times_s"))


def _differs(record: dict, old: dict) -> bool:
    """Whether the times now and then differ significantly: Mann-Whitney p < 0.002 and more than
    10% apart, on the raw times; on the medians alone (10%) if a file kept no raw times."""
    if _tested(record, old):
        return stats.ratio_if_significant(record["times_s"], old["times_s"]) is not None
    return abs(record["median_s"] / old["median_s"] - 1) > stats.MARGIN


def slower(doc: dict, baseline: dict, max_slowdown: float) -> list[Slower]:
    """Cells timed in both files and significantly slower now (``_differs``)."""
    found = []
    for record, old in _paired(doc, baseline):
        ratio = record["median_s"] / old["median_s"]
        if ratio > 1 and _differs(record, old):
            found.append(Slower(record["case"], record["target"], round(ratio, 4), ratio > max_slowdown))
    return found


def inconclusive(doc: dict, baseline: dict, strict: bool = False) -> list[Inconclusive]:
    """Cells timed in both files whose times show no significant difference and could not have
    shown one (``benchfile.shortfalls``, with this run's ``--min-samples``)."""
    floor = (doc.get("timing") or {}).get("budget", {}).get("min_samples", 1)
    found = []
    for record, old in _paired(doc, baseline):
        if _differs(record, old):
            continue
        reasons = shortfalls([("now", record), ("in the baseline", old)], floor, _tested(record, old))
        if reasons:
            found.append(Inconclusive(record["case"], record["target"], "; ".join(reasons), strict))
    return found


def untimed(doc: dict, baseline: dict) -> list[Untimed]:
    """Cells of this run that the baseline validated and timed and this run did not validate."""
    then = {(r["case"], r["target"]) for r in baseline["results"] if _timed(r)}
    return [Untimed(r["case"], r["target"], r.get("status") or "not validated", r.get("message"))
            for r in doc["results"] if (r["case"], r["target"]) in then and not r.get("validated")]


def mark(doc: dict, found: list[Slower]) -> dict:
    """The document with ``slower_than_baseline`` (the ratio, or null) on every record."""
    ratios = {(s.case, s.target): s.ratio for s in found}
    results = [{**r, "slower_than_baseline": ratios.get((r["case"], r["target"]))} for r in doc["results"]]
    return {**doc, "results": results}
