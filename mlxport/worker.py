"""The worker process: runs one cell at a time for the pool, and reuses its targets and the
last case's inputs and golden (cells arrive case by case).

What a worker says to the pool, in order: ``READY`` once its targets are loaded (or ``(REFUSED,
why)`` when it must not run at all), then per cell any number of ``(NOTE, index, fields)`` and
one ``(index, result, lost)``. A note carries fields of the cell's result as soon as they are
known (its primitives, before its outputs are evaluated); the pool puts them on whatever result
the cell gets, the ``crash`` or ``timeout`` it makes when the worker dies or is killed included.
``lost`` is True when the cell left the device unable to compute: the worker's canary failed
after it. The result is then a ``crash`` that says so, and the worker exits so that the pool
starts a fresh one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path

from .backends import Target
from .inputs import generate
from .model import Status
from .processes import inherited_driver
from .runner import golden, run_cell

READY = "ready"  # a worker's first message to the pool
REFUSED = "refused"  # ... or this, with a reason, when it was forked from a process holding a GPU
NOTE = "note"  # (NOTE, index, fields): fields of a cell's result, sent before the cell ends
# A cell that ended so may have broken the device; one that passed or was skipped did not.
SUSPECT = (Status.ERROR, Status.UNSUPPORTED, Status.MISMATCH)


@dataclass(frozen=True)
class Start:
    """What a worker needs to start: its targets' ``(spec, name)``, the environment a run sets
    for the frameworks (TF32 off), and whether it was forked from the fork server."""

    specs: tuple[tuple[str, str], ...]
    env: tuple[tuple[str, str], ...] = ()
    forked: bool = False
    preload: tuple[str, ...] = ()  # modules to import before READY (already there when forked)


def load_targets(specs) -> dict[str, Target]:
    """Targets by name, rebuilt from their ``module:factory`` entry-point values."""
    targets: dict[str, Target] = {}
    for spec in sorted({s for s, _ in specs}):
        module, _, attr = spec.partition(":")
        for target in getattr(importlib.import_module(module), attr)():
            target.spec = spec
            targets[target.name] = target
    return {name: targets[name] for _, name in specs}


def main(conn, start: Start, save: Path | None = None) -> None:
    """Serve cells until the pool closes the pipe; ``save`` is --save-failures' folder."""
    serve_cells(conn, start, lambda target, case, inputs, expected, note:
                run_cell(target, case, inputs, expected, save, note))


def serve_cells(conn, start: Start, run) -> None:
    """Answer each cell the pool sends with ``run(target, case, inputs, golden, note)``, where
    ``note(fields)`` sends fields of the cell's result ahead of it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if start.forked and (driver := inherited_driver()) is not None:
        conn.send((REFUSED, f"its fork server had loaded the GPU driver {driver}"))
        return
    os.environ.update(dict(start.env))  # before any framework computes: some read it once
    # numpy's and the frameworks' warnings about a cell's inputs ("Mean of empty slice") are not
    # its result, and would break into the matrix the parent prints
    warnings.simplefilter("ignore")
    for module in start.preload:  # now, so that the first cell's time is its own
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    targets = load_targets(start.specs)
    conn.send(READY)  # the imports are done: from here on each cell's own time counts
    health = Health()
    case = inputs = expected = None
    while True:
        try:
            index, new_case, name = conn.recv()
        except (EOFError, OSError):
            return
        if new_case is not None:  # None: the same case as before, on another target
            case, inputs = new_case, generate(new_case)
            expected = golden(case, inputs)
        target = targets[name]
        health.baseline(target)
        result = run(target, case, inputs, expected, lambda fields: conn.send((NOTE, index, fields)))
        lost = health.lost(target, result)
        conn.send((index, result if lost is None else _crashed(result, lost), lost is not None))
        if lost is not None:
            return


class Health:
    """Whether each target's device still computes, by its canary (``Target.canary``). A canary
    that fails before any cell ran is no witness, and is not asked again."""

    def __init__(self):
        self.usable: dict[str, bool] = {}

    def baseline(self, target: Target) -> None:
        """Try the canary once, before the target's first cell in this process."""
        if target.name not in self.usable:
            self.usable[target.name] = target.canary() is None

    def lost(self, target: Target, result) -> str | None:
        """Why the device of ``target`` is lost after ``result``, else None."""
        if Status(result.status) not in SUSPECT or not self.usable[target.name]:
            return None
        return target.canary()


def _crashed(result, why: str):
    """``result`` (a check or bench result) as the crash of the cell that broke the device."""
    note = f"the device context was lost: after this cell the canary failed ({why}); its worker was replaced"
    message = f"{result.message}; {note}" if result.message else note
    return dataclasses.replace(result, status=Status.CRASH, message=message)
