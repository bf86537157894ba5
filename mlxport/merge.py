"""One results file from many: CI jobs on several machines (or shards of one catalog) merge into
one matrix. ``diff`` lists the cells whose status changed between two results files: fixes,
regressions, and what a release added or dropped."""

from __future__ import annotations

import re
from collections import Counter

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


PASSING = ("pass", "xpass")
KINDS = ("fix", "regression", "added", "dropped", "change")  # the order of the summaries


def kind(before: str, after: str) -> str:
    """What a status change means: ``fix`` (it passes now and failed before), ``regression``
    (it passed and fails now), ``added`` (it was skipped: a new op, keyword or dtype),
    ``dropped`` (it is skipped now), else ``change`` (one failure for another)."""
    if before == "skip" or after == "skip":
        return "added" if before == "skip" else "dropped"
    if (before in PASSING) != (after in PASSING):
        return "fix" if after in PASSING else "regression"
    return "change"


def changes(old: dict, new: dict) -> list[dict]:
    """Every cell in both files whose status changed, in the new file's order: its case, op,
    target, old and new status, ``kind``, and the recorded reason (or else the message) of
    the side that does not pass, the new one first."""
    before = {(r["case"], r["target"]): r for r in old["results"]}
    out = []
    for r in new["results"]:
        was = before.get((r["case"], r["target"]))
        if was is None or was["status"] == r["status"]:
            continue
        failing = r if r["status"] not in PASSING else was
        out.append({"case": r["case"], "op": r["op"], "target": r["target"], "old": was["status"],
                    "new": r["status"], "kind": kind(was["status"], r["status"]),
                    "cause": failing.get("known") or failing.get("message")})
    return out


def by_op(found: list[dict]) -> dict[str, Counter]:
    """The kinds of change of each op, ops in order of name."""
    ops: dict[str, Counter] = {}
    for c in sorted(found, key=lambda c: c["op"]):
        ops.setdefault(c["op"], Counter())[c["kind"]] += 1
    return ops


def diff_document(old: dict, new: dict) -> dict:
    """``diff --json``: the changes, a count of each kind per op and in all, and the cells in
    only one file, with the framework versions of each file's targets."""
    found = changes(old, new)
    before, after = ({(r["case"], r["target"]) for r in d["results"]} for d in (old, new))
    versions = lambda d: {t["name"]: t.get("framework_version") for t in d.get("targets", [])}  # noqa: E731
    return {"schema": "mlxport.diff/1", "old": {"created": old.get("created"), "versions": versions(old)},
            "new": {"created": new.get("created"), "versions": versions(new)}, "changes": found,
            "ops": {op: dict(kinds) for op, kinds in by_op(found).items()},
            "kinds": dict(Counter(c["kind"] for c in found)),
            "only_old": len(before - after), "only_new": len(after - before)}


def diff(old: dict, new: dict, per_op: bool = False, limit: int = 40) -> list[str]:
    """One line per cell whose status changed, and one per cell in only one file (``limit`` of
    each file, then how many more); per op instead, the kinds of change of each op that has any.
    Then a count of each kind and of cells in only one file."""
    doc = diff_document(old, new)
    if per_op:
        lines = [f"{op}: " + ", ".join(f"{kinds[k]} {k}" for k in KINDS if k in kinds)
                 for op, kinds in doc["ops"].items()]
    else:
        lines = [f"{c['target']} {c['case']}: {c['old']} -> {c['new']}" for c in doc["changes"]]
        lines += _one_sided(old, new, limit)
    kinds = ", ".join(f"{doc['kinds'][k]} {k}" for k in KINDS if k in doc["kinds"])
    lines.append(f"{len(doc['changes'])} cells changed status" + (f" ({kinds})" if kinds else "")
                 + f"; {doc['only_old']} only in the old file, {doc['only_new']} only in the new one")
    return lines


def _one_sided(old: dict, new: dict, limit: int) -> list[str]:
    """``only in old: TARGET CASE (status)`` for each cell of one file only, ``limit`` per file."""
    before = {(r["case"], r["target"]): r["status"] for r in old["results"]}
    after = {(r["case"], r["target"]): r["status"] for r in new["results"]}
    lines = []
    for name, mine, other in (("old", before, after), ("new", after, before)):
        only = [f"only in {name}: {target} {case} ({status})" for (case, target), status in mine.items()
                if (case, target) not in other]
        lines += only[:limit] + ([f"... and {len(only) - limit} more only in {name}"] if len(only) > limit else [])
    return lines
