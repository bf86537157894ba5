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
    """Append-only: a header line with the run's selection, then one line per finished cell.

    The journal is locked (``flock``) while its run goes on: a second run on the same path is an
    input error, not a collision. ``fresh`` starts it over (a new run does not inherit an old
    journal); otherwise (``--resume``) the lines already there are kept."""

    def __init__(self, path: Path, header: dict, fresh: bool = True):
        self.path = path
        self.file = _locked(path)
        if fresh:
            self.file.truncate(0)
        if fresh or path.stat().st_size == 0:
            self._write({"schema": SCHEMA, **header})

    def append(self, result: CellResult) -> None:
        self._write(result.to_json())

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self, remove: bool = False) -> None:
        """Close, first removing the file when the run is over (while the lock still holds)."""
        if remove:
            discard(self.path)
        self.file.close()


def _locked(path: Path):
    """``path`` opened for appending and locked for this run alone."""
    import fcntl

    for _ in range(5):  # a run that just finished may remove the file (or folder) we opened
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            file = path.open("a", encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise InputError(f"another mlxport run is using {path}; wait for it, or give --json "
                             "another path") from None
        if path.exists() and path.stat().st_ino == os.fstat(file.fileno()).st_ino:
            return file
        file.close()  # locked a file that its run removed meanwhile: open it afresh
    raise InputError(f"{path}: cannot open the journal: it keeps disappearing")


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
