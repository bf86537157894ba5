"""How fast mlxport starts: a worker process up to READY (forked from the fork server, then
spawned, as on a machine where it cannot fork), and the commands a person types first.

    python benchmarks/startup.py [--target T]... [--starts N]

A worker's start is what every crash and every hang costs once more: an op that crashes in all
of its cells starts a worker per cell.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from mlxport import processes
from mlxport.check import Selection, select_targets
from mlxport.pool import Pool
from mlxport.runner import prepare_environment
from mlxport.worker import READY


def worker_starts(targets, count: int) -> list[float]:
    """Seconds from asking for a worker to its READY, ``count`` times in a row."""
    pool = Pool(targets)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        worker = pool._start("cpu")
        assert worker.conn.recv() == READY
        times.append(time.perf_counter() - start)
        pool._retire(worker)
    return times


def command(*args: str, count: int = 5) -> float:
    """The median wall time of ``mlxport ARGS``."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlxport", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(names: tuple[str, ...], count: int) -> None:
    prepare_environment()
    targets, _ = select_targets(Selection(targets=names))
    print(f"targets in each worker: {', '.join(t.name for t in targets)}")
    forked = worker_starts(targets, count + 1)
    print(f"forked worker: first {forked[0]:.3f} s (the fork server starts and imports), then median "
          f"{statistics.median(forked[1:]):.3f} s, max {max(forked[1:]):.3f} s over {count}")
    processes.refuse("benchmark: measure spawned workers")
    spawned = worker_starts(targets, count)
    print(f"spawned worker: median {statistics.median(spawned):.3f} s, max {max(spawned):.3f} s over {count}")
    for args in (("--help",), ("devices",), ("list",)):
        print(f"mlxport {' '.join(args)}: median {command(*args):.3f} s")


if __name__ == "__main__":
    argv = sys.argv[1:]
    pairs = list(zip(argv[::2], argv[1::2]))
    main(tuple(v for k, v in pairs if k == "--target"), int(dict(pairs).get("--starts", 10)))
