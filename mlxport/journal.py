"""The journal: every finished cell, one JSON line each, flushed as it completes, so a crash or a
``kill -9`` of mlxport loses nothing and ``--resume`` can finish the run."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path

from .model import CellResult, InputError

SCHEMA = "mlxport.journal/1"
SCRATCH = Path(".mlxport")  # where a run keeps its files when no --json names a place


def scratch(kind: str) -> Path:
    """A results path of this run alone, for a run without ``--json``: two runs in one folder at
    once (the test suite and a manual run) never share a journal."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return SCRATCH / f"{kind}-{stamp}-{os.getpid()}.json"


def discard(path: Path) -> None:
    """Remove ``path``, and its folder when it is the scratch folder and now empty."""
    path.unlink(missing_ok=True)
    if path.parent == SCRATCH:
        with contextlib.suppress(OSError):  # not empty: another run's files are there
            SCRATCH.rmdir()


def journal_path(results: Path) -> Path:
    """Where the journal of a results file lives while the run goes on."""
    return results.with_name(results.name + ".partial")


class Journal:
    """Append-only: a header line with the run's selection, then one line per finished cell."""

    def __init__(self, path: Path, header: dict):
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        self.path = path
        self.file = path.open("a", encoding="utf-8")
        if fresh:
            self._write({"schema": SCHEMA, **header})

    def append(self, result: CellResult) -> None:
        self._write(result.to_json())

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def read(path: Path) -> tuple[dict, dict[tuple[str, str], CellResult]]:
    """The header and the finished cells of a journal. A last line cut short by a kill is
    dropped; any other damage is an input error that names the line."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--resume {path}: cannot read: {exc}") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines) or (number == len(lines) - 1 and not lines[-1]):
                break  # the line being written when the run was killed
            raise InputError(f"--resume {path}:{number}: corrupt journal line") from None
    if not records or not isinstance(records[0], dict) or records[0].get("schema") != SCHEMA:
        raise InputError(f"--resume {path}:1: not an mlxport journal (schema {SCHEMA})")
    done = {}
    for number, record in enumerate(records[1:], 2):
        try:
            result = CellResult.from_json(record)
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(f"--resume {path}:{number}: corrupt journal line ({exc})") from None
        done[(result.case, result.target)] = result
    return records[0], done
