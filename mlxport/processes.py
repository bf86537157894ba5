"""How worker processes start: forked from a server that has done the imports, or spawned.

A spawned worker pays for its imports every time: numpy, ml_dtypes (most of a second on its own)
and each framework. An op that crashes in every cell pays them once per cell. So on Linux workers
fork from multiprocessing's fork server, a fresh interpreter that imports those modules once and
then forks a worker per request; a worker starts in milliseconds.

A process that has initialised a GPU must never fork: the child inherits a driver state it cannot
use. The parent does initialise GPUs (it probes the targets), but the fork server is a new
interpreter started by exec, and it only imports: the modules it preloads are those whose import
touches no device (``Target.preload``). Should one of them load a GPU driver after all, the first
worker forked from it finds the driver in what it inherited (``inherited_driver``), refuses to
run, and from then on this process spawns its workers. Elsewhere (macOS, whose system frameworks
do not survive a fork) workers are always spawned.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path
from typing import Iterable

# Imported by every worker whatever its targets: the numerics, the dtypes and the worker itself.
BASE = ("numpy", "ml_dtypes", "mlxport.worker", "mlxport.bench.harness")
# Shared libraries whose presence in a process means a GPU driver was loaded, and so, most
# likely, initialised: the CUDA driver API. A false alarm costs speed (spawn), never results.
DRIVERS = ("libcuda.so",)

# Why this process no longer forks workers, once a worker refused. Process-wide, as the fork
# server itself is: multiprocessing keeps one per process.
_refused: list[str] = []


def modules(preload: Iterable[str]) -> tuple[str, ...]:
    """Every module a worker imports before it is ready: BASE, then the targets' ``preload``."""
    return tuple(dict.fromkeys([*BASE, *preload]))


def context(preload: Iterable[str] = ()):
    """The multiprocessing context to start workers with. The fork server imports
    ``modules(preload)``; they count only when the server starts, the first time a worker is
    started in this process."""
    if sys.platform != "linux" or _refused or "forkserver" not in multiprocessing.get_all_start_methods():
        return spawning()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(modules(preload)))
    return ctx


def spawning():
    """The context of a worker that must share nothing with any earlier process: it execs."""
    return multiprocessing.get_context("spawn")


def refuse(reason: str) -> None:
    """Spawn every later worker of this process: a forked worker found ``reason``."""
    _refused.append(reason)


def refused() -> str | None:
    """Why this process spawns its workers although it could fork them, else None."""
    return _refused[0] if _refused else None


def inherited_driver(maps: Path = Path("/proc/self/maps")) -> str | None:
    """The GPU driver library mapped into this process, if any: in a freshly forked worker,
    one that its fork server loaded."""
    try:
        text = maps.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.rpartition(" ")[2]
        if any(name in Path(path).name for name in DRIVERS):
            return path
    return None
