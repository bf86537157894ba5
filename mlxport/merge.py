"""One results file from many: CI jobs on several machines (or shards of one catalog) merge into
one matrix. ``diff`` lists the cells whose status changed between two results files."""

from __future__ import annotations

from collections import Counter

from . import __version__
from .model import CellResult, InputError
from .results import SCHEMA, summarize


def host_name(doc: dict) -> str:
    host = doc.get("host") or {}
    return host.get("name") or host.get("platform") or "unknown-host"


def merge(docs: list[dict]) -> dict:
    """One results document. A target that ran on several hosts gets one column per host,
    ``mlx:gpu@host``; shards of one host merge into one column. A cell twice is an error."""
    hosts: dict[str, set[str]] = {}
    for doc in docs:
        for record in doc["results"]:
            hosts.setdefault(record["target"], set()).add(host_name(doc))

    def column(target: str, doc: dict) -> str:
        return f"{target}@{host_name(doc)}" if len(hosts.get(target, ())) > 1 else target

    cells, targets, seen = [], {}, set()
    for doc in docs:
        for info in doc.get("targets", []):
            if info["name"] in hosts:
                targets.setdefault(column(info["name"], doc), {**info, "name": column(info["name"], doc)})
        for record in doc["results"]:
            try:
                cell = CellResult.from_json({**record, "target": column(record["target"], doc)})
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"merge: {record.get('case')}: not a whole result ({exc})") from None
            if (cell.case, cell.target) in seen:
                raise InputError(f"merge: {cell.case} on {cell.target} is in more than one file")
            seen.add((cell.case, cell.target))
            cells.append(cell)
    return {"schema": SCHEMA, "tool": {"name": "mlxport", "version": __version__},
            "created": max(d.get("created", "") for d in docs),
            "host": {"merged": sorted({host_name(d) for d in docs})},
            "targets": list(targets.values()), "results": [c.to_json() for c in cells],
            "summary": summarize(cells)}


def diff(old: dict, new: dict, limit: int = 40) -> list[str]:
    """One line per cell whose status changed, one per cell in only one file (``limit`` of each
    file, then how many more), then the counts."""
    before = {(r["case"], r["target"]): r["status"] for r in old["results"]}
    after = {(r["case"], r["target"]): r["status"] for r in new["results"]}
    lines = [f"{target} {case}: {before[(case, target)]} -> {status}"
             for (case, target), status in after.items()
             if (case, target) in before and before[(case, target)] != status]
    changed = len(lines)
    only = {}
    for name, mine, other in (("old", before, after), ("new", after, before)):
        only[name] = [f"only in {name}: {target} {case} ({status})"
                      for (case, target), status in mine.items() if (case, target) not in other]
        more = len(only[name]) - limit
        lines += only[name][:limit] + ([f"... and {more} more only in {name}"] if more > 0 else [])
    lines.append(f"{changed} cells changed status; {len(only['old'])} only in the old file, "
                 f"{len(only['new'])} only in the new one")
    return lines
