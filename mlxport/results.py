"""The results file (``--json``), exactly as DESIGN.md fixes it, and the per-target summary."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections import Counter
from pathlib import Path
from typing import Iterable

from . import __version__
from .hostinfo import cpu_name
from .model import CellResult, InputError, Status, TargetInfo

SCHEMA = "mlxport.results/1"


def summarize(results: Iterable[CellResult]) -> dict[str, dict]:
    """Per column: the count of each status, the cells, and coverage = (pass + xpass) / (cells -
    skip): a cell that passes counts as a pass whether or not someone expected it to fail."""
    counts: dict[str, Counter] = {}
    for r in results:
        counts.setdefault(r.target, Counter())[r.status] += 1
    summary = {}
    for target, c in counts.items():
        cells = sum(c.values())
        ran = cells - c[Status.SKIP]
        summary[target] = {"cells": cells, **{s.value: c[s] for s in Status},
                           "coverage": round((c[Status.PASS] + c[Status.XPASS]) / ran, 4) if ran else None}
    return summary


def host() -> dict:
    """Where the run happened."""
    return {"name": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu_name(), "cores": os.cpu_count()}


def document(results: list[CellResult], targets: list[TargetInfo], env: dict) -> dict:
    """The whole results file as a dict."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "mlxport", "version": __version__},
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": host(),
        "env": env,
        "targets": [t.to_json() for t in targets],
        "results": [r.to_json() for r in results],
        "summary": summarize(results),
    }


def load(path: Path, label: str | None = None) -> dict:
    """A results file, checked: its schema, and a case, target and status word in every result.
    ``label`` names it in the one-line error (``--baseline PATH``); the path alone by default."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"schema {doc.get('schema') if isinstance(doc, dict) else None!r}, expected {SCHEMA}")
        for record in doc["results"]:
            record["case"], record["target"], Status(record["status"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{label or path}: unreadable or not a results file: {exc}") from None
    return doc


def write(path: Path, doc: dict) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # not ".partial": that is the journal; the pid: two runs writing one path never share it
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(doc, indent=1) + "\n")
    temporary.replace(path)
