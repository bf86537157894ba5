"""One results file from many: CI jobs on several machines (or shards of one catalog) merge into
one matrix. ``diff`` lists the cells whose status changed between two results files."""

from __future__ import annotations

import re

from . import __version__
from .model import CellResult, InputError
from .results import SCHEMA, summarize


def host_name(doc: dict) -> str:
    host = doc.get("host") or {}
    return host.get("name") or host.get("platform") or "unknown-host"


def device(doc: dict, target: str) -> tuple[str | None, str | None, str | None]:
    """The kind of device a file's target ran on: its framework, version and device name."""
    info = next((t for t in doc.get("targets", []) if t.get("name") == target), {})
    return info.get("framework"), info.get("framework_version"), info.get("device_name")


def _slug(text: str | None) -> str:
    """A device name as one word of a column name: ``NVIDIA H100 80GB HBM3`` -> ``NVIDIA-H100-80GB-HBM3``."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text or "unknown-device").strip("-") or "unknown-device"


def columns(docs: list[dict], by_host: bool = False) -> dict[tuple[int, str], str]:
    """The column of each (file, target): the target's own name when it ran on one kind of device
    (shards of it merge, whatever their hosts), else ``target@device`` per device, and the
    framework's version too where one device ran two versions. ``by_host``: one per host."""
    where = {(i, r["target"]): (host_name(doc),) if by_host else device(doc, r["target"])
             for i, doc in enumerate(docs) for r in doc["results"]}
    kinds: dict[str, list[tuple]] = {}
    for (_, target), kind in where.items():
        if kind not in kinds.setdefault(target, []):
            kinds[target].append(kind)

    def name(target: str, kind: tuple) -> str:
        if len(kinds[target]) == 1:
            return target
        if by_host:
            return f"{target}@{kind[0]}"
        same_device = [k for k in kinds[target] if k[2] == kind[2]]
        return f"{target}@{_slug(kind[2])}" + (f"-{_slug(kind[1])}" if len(same_device) > 1 else "")

    return {key: name(key[1], kind) for key, kind in where.items()}


def merge(docs: list[dict], by_host: bool = False) -> dict:
    """One results document: a column per target and kind of device (``columns``). The same
    cell twice in one column is an error."""
    column = columns(docs, by_host)
    cells, targets, seen = [], {}, set()
    for i, doc in enumerate(docs):
        for info in doc.get("targets", []):
            if (i, info["name"]) in column:
                name = column[(i, info["name"])]
                targets.setdefault(name, {**info, "name": name})
        for record in doc["results"]:
            try:
                cell = CellResult.from_json({**record, "target": column[(i, record["target"])]})
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
