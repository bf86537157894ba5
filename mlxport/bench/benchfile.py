"""The bench file (``mlxport bench --json``), schema ``mlxport.bench/1`` as DESIGN.md fixes it:
one record per case x target, the measured peaks of each target, and how the run was timed.

A record's times come from ``BenchCell``; GB/s, GFLOP/s and % of peak are derived here from the
case's declared ``bytes``/``flops`` and the ``peaks`` slot, which ``--calibrate`` fills:
``{"mlx:cpu": {"bandwidth_gbps": 20.1, "flops_gflops": 310.0, "method": "..."}}``.

% of peak is against the *device's* peak: the best that any framework's calibration reached on
that device (``device_peaks``). A framework's own triad or GEMM is only a lower bound of what the
device can do: MLX's CPU wheel links a reference BLAS, so against its own GEMM every MLX matmul
would look near its peak.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .. import __version__
from ..model import InputError
from ..results import host, write  # noqa: F401  (write is re-exported: one atomic writer)
from . import stats
from .timing import Samples

SCHEMA = "mlxport.bench/1"
MIN_PROCESSES = 2  # per target, for a speedup between targets to be stated


@dataclass(frozen=True)
class BenchCell:
    """One case on one target, over every process that timed it. Untimed when not validated."""

    case: str
    op: str
    dtype: str
    target: str
    status: str  # a DESIGN.md status word: pass, mismatch, error, unsupported, skip, crash, timeout
    validated: bool
    message: str | None = None
    times: tuple[float, ...] = ()  # every timed call of every process, in seconds
    first_call_s: float | None = None  # median over processes of the first call (compilation included)
    alloc_times: tuple[float, ...] = ()  # timed with the allocator cache off (MLX), else empty
    processes: int = 0
    bytes: int | None = None
    flops: int | None = None

    @property
    def timed(self) -> bool:
        return self.validated and bool(self.times)


def _rate(amount: int | None, seconds: float | None, scale: float = 1e9) -> float | None:
    return round(amount / seconds / scale, 4) if amount is not None and seconds else None


def _pct(value: float | None, peak: float | None) -> float | None:
    return round(100 * value / peak, 2) if value is not None and peak else None


def device_of(target: str) -> str:
    """The device a target runs on: ``cpu``, else the (one) GPU, whatever each framework calls it."""
    return "cpu" if target.endswith(":cpu") else "gpu"


def device_peaks(peaks: Mapping[str, dict]) -> dict[str, dict]:
    """Per target, its device's peaks: the highest bandwidth and flops that any target on the same
    device measured, with the target that measured each."""
    best: dict[str, dict] = {}
    for target, peak in peaks.items():
        mine = best.setdefault(device_of(target), {})
        for key in ("bandwidth_gbps", "flops_gflops"):
            if (peak.get(key) or 0) > (mine.get(key) or 0):
                mine[key], mine[key.split("_")[0] + "_from"] = peak[key], target
    return {target: best[device_of(target)] for target in peaks}


def record(cell: BenchCell, peers: Sequence[BenchCell], peaks: Mapping[str, dict]) -> dict:
    """The JSON record of ``cell``; ``peers`` are the other targets' cells of the same case;
    ``peaks`` are the device peaks of each target (``device_peaks``)."""
    timed = Samples(cell.times, cell.first_call_s or 0.0) if cell.timed else None
    median = timed.median if timed else None
    gbps, gflops = _rate(cell.bytes, median), _rate(cell.flops, median)
    peak = peaks.get(cell.target) or {}
    alloc = stats.median(cell.alloc_times) if cell.timed and cell.alloc_times else None
    return {
        "case": cell.case, "op": cell.op, "dtype": cell.dtype, "target": cell.target,
        "status": cell.status, "validated": cell.validated, "message": cell.message,
        "median_s": median, "p10_s": timed.p10 if timed else None, "p90_s": timed.p90 if timed else None,
        "samples": timed.samples if timed else 0, "first_call_s": cell.first_call_s if timed else None,
        "bytes": cell.bytes, "flops": cell.flops, "gbps": gbps, "gflops": gflops,
        **percent_of_peak(gbps, gflops, peak),
        "speedup": {p.target: speedup(cell, p) for p in peers if p.target != cell.target and p.timed},
        "iqr_rel": round(timed.iqr_rel, 4) if timed else None, "noise": timed.noise if timed else None,
        "alloc_median_s": alloc, "processes": cell.processes, "times_s": list(cell.times),
    }


def percent_of_peak(gbps: float | None, gflops: float | None, peak: Mapping) -> dict:
    """The record fields ``pct_peak_bw`` and ``pct_peak_flops`` against a device ``peak``."""
    return {"pct_peak_bw": _pct(gbps, peak.get("bandwidth_gbps")),
            "pct_peak_flops": _pct(gflops, peak.get("flops_gflops"))}


def apply_peaks(doc: dict) -> dict:
    """``doc`` with its device peaks and every record's % of peak derived again from its
    ``peaks``: how a saved bench file is rendered (``benchmarks/matrix.py``)."""
    device = device_peaks(doc.get("peaks") or {})
    doc["device_peaks"] = device
    for r in doc["results"]:
        r.update(percent_of_peak(r.get("gbps"), r.get("gflops"), device.get(r["target"]) or {}))
    return doc


def speedup(cell: BenchCell, other: BenchCell) -> float | None:
    """How many times faster ``cell`` is than ``other`` (below 1: slower); None when the two are
    not significantly different (Mann-Whitney p < 0.002 and outside +-10%), or not both timed in
    at least two processes (drift between processes exceeds the noise within one)."""
    if not (cell.timed and other.timed) or min(cell.processes, other.processes) < MIN_PROCESSES:
        return None
    ratio = stats.ratio_if_significant(cell.times, other.times)
    return round(ratio, 4) if ratio is not None else None


def shortfalls(labelled: Sequence[tuple[str, Mapping]], min_samples: int = 1, tested: bool = True) -> list[str]:
    """Why two timed records cannot tell whether their times differ, each reason naming its
    record by its label (``[("now", record), ("in the baseline", old)]``); empty when they can.
    A record falls short with fewer than MIN_PROCESSES processes (drift between processes
    exceeds the noise within one) or fewer than ``min_samples`` samples per process; two
    ``tested`` records (compared by Mann-Whitney) also when no difference could reach p < ALPHA."""
    reasons = [reason for label, r in labelled for reason in _short(label, r, min_samples)]
    counts = [r.get("samples") for _, r in labelled]
    if tested and not reasons and None not in counts and not stats.can_differ(*counts):
        reasons.append(f"{counts[0]} and {counts[1]} samples: too few for any difference to reach "
                       f"p < {stats.ALPHA}")
    return reasons


def _short(label: str, record: Mapping, min_samples: int) -> list[str]:
    """What one record lacks; a field it does not have is not held against it."""
    processes, samples = record.get("processes"), record.get("samples")
    found = []
    if processes is not None and processes < MIN_PROCESSES:
        found.append(f"{processes} process{'es' * (processes != 1)} {label}: not enough to tell a difference "
                     f"from drift between processes (--processes {MIN_PROCESSES} or more)")
    need = min_samples * (processes or 1)
    if samples is not None and samples < need:
        each = f" in each of {processes} processes" if (processes or 1) > 1 else ""
        found.append(f"{samples} samples {label}, {need} needed (--min-samples {min_samples}{each})")
    return found


def document(cells: Sequence[BenchCell], targets: Sequence, *, peaks: Mapping[str, dict] | None = None,
             floors: Mapping[str, float] | None = None, budget: dict | None = None, processes: int = 0,
             env: dict | None = None) -> dict:
    """The whole bench file as a dict; ``targets`` are TargetInfo values."""
    peaks = dict(peaks or {})
    by_case: dict[str, list[BenchCell]] = {}
    for cell in cells:
        by_case.setdefault(cell.case, []).append(cell)
    return {
        "schema": SCHEMA,
        "tool": {"name": "mlxport", "version": __version__},
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": host(),
        "env": dict(env or {}),
        "targets": [t.to_json() for t in targets],
        "timing": {"budget": dict(budget or {}), "processes": processes, "floor_s": dict(floors or {}),
                   "significance": {"alpha": stats.ALPHA, "margin": stats.MARGIN}},
        "peaks": peaks,
        "device_peaks": device_peaks(peaks),
        "results": [record(c, by_case[c.case], device_peaks(peaks)) for c in cells],
    }


RECORD_FIELDS = ("case", "op", "dtype", "target", "validated", "median_s", "p10_s", "p90_s", "samples",
                 "first_call_s", "bytes", "flops", "gbps", "gflops", "pct_peak_bw", "pct_peak_flops", "speedup")


def load(path: Path, label: str | None = None) -> dict:
    """A bench file, checked: its schema and the DESIGN.md fields of every record. ``label``
    names it in the one-line error (``--baseline PATH``)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"schema {doc.get('schema') if isinstance(doc, dict) else None!r}, expected {SCHEMA}")
        for record in doc["results"]:
            missing = [f for f in RECORD_FIELDS if f not in record]
            if missing:
                raise ValueError(f"a record lacks {', '.join(missing)}")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{label or path}: unreadable or not a bench file: {exc}") from None
    return doc
