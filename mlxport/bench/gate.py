"""The regression gate of ``mlxport bench --baseline BENCH.json``: which cells are significantly
slower than in the baseline, whether one is slower than ``--max-slowdown`` allows, and which
cells were timed there and are not now (they fail, error or are unsupported): those fail too."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import stats
from .benchfile import load

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


def read_baseline(path: Path | None) -> dict | None:
    """The baseline bench file, read before the run so that a bad one costs nothing (exit 2)."""
    return load(path, f"--baseline {path}") if path else None


def _timed(record: dict) -> bool:
    return bool(record.get("validated")) and bool(record.get("median_s"))


def slower(doc: dict, baseline: dict, max_slowdown: float) -> list[Slower]:
    """Cells timed in both files and significantly slower now (Mann-Whitney p < 0.002 and more
    than 10% slower, on the raw times; on the medians alone if the baseline kept no raw times)."""
    then = {(r["case"], r["target"]): r for r in baseline["results"] if _timed(r)}
    found = []
    for record in doc["results"]:
        old = then.get((record["case"], record["target"]))
        if old is None or not _timed(record):
            continue
        ratio = record["median_s"] / old["median_s"]
        if old.get("times_s") and record.get("times_s"):
            significant = stats.ratio_if_significant(record["times_s"], old["times_s"]) is not None
        else:
            significant = abs(ratio - 1) > stats.MARGIN
        if significant and ratio > 1:
            found.append(Slower(record["case"], record["target"], round(ratio, 4), ratio > max_slowdown))
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
