"""The worker process: runs one cell at a time for the pool, and reuses its targets and the
last case's inputs and golden (cells arrive case by case)."""

from __future__ import annotations

import importlib
import signal
from pathlib import Path

from .backends import Target
from .inputs import generate
from .runner import golden, run_cell

READY = "ready"  # a worker's first message to the pool


def load_targets(specs: list[tuple[str, str]]) -> dict[str, Target]:
    """Targets by name, rebuilt from their ``module:factory`` entry-point values."""
    targets: dict[str, Target] = {}
    for spec in sorted({s for s, _ in specs}):
        module, _, attr = spec.partition(":")
        for target in getattr(importlib.import_module(module), attr)():
            target.spec = spec
            targets[target.name] = target
    return {name: targets[name] for _, name in specs}


def main(conn, specs: list[tuple[str, str]], save: Path | None = None) -> None:
    """Serve cells until the pool closes the pipe; ``save`` is --save-failures' folder."""
    serve_cells(conn, specs, lambda target, case, inputs, expected: run_cell(target, case, inputs, expected, save))


def serve_cells(conn, specs: list[tuple[str, str]], run) -> None:
    """Answer each cell the pool sends with ``run(target, case, inputs, golden)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    targets = load_targets(specs)
    conn.send(READY)  # the imports are done: from here on each cell's own time counts
    case = inputs = expected = None
    while True:
        try:
            index, new_case, name = conn.recv()
        except (EOFError, OSError):
            return
        if new_case is not None:  # None: the same case as before, on another target
            case, inputs = new_case, generate(new_case)
            expected = golden(case, inputs)
        conn.send((index, run(targets[name], case, inputs, expected)))
