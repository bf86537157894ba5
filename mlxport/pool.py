"""Cells run in worker processes, so a kernel that segfaults, aborts, hangs or poisons its device
costs one cell.

A worker is reused across cells. A CPU target shares ``jobs`` workers; a GPU target (any other
device) gets one worker of its own, so two cells never compete for one device. A worker that dies
makes its cell ``crash``; one that runs past its cell's limit (``limits.py``) is killed and its
cell is ``timeout``; one whose device stopped computing after a cell (its canary failed) reports
that cell as ``crash`` and leaves. Either way the worker is replaced, the cells sent to it ahead
run in the new one, and the run goes on. Workers fork from a preloaded server where they can
(``processes.py``), so a replacement costs milliseconds. A worker's start is not charged to its
first cell: the limit counts from its READY message, and the start has ``STARTUP`` seconds of
its own.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import processes
from .backends import Target
from .limits import Limit, Limits
from .model import Case, CellResult, Status
from .runner import CORRECTNESS_ENV, known_reason, reproduce
from .worker import READY, REFUSED, Start

Cell = tuple[Case, Target]


def lane(target: Target) -> str:
    """Which workers may run a target: the shared CPU lane, or the target's own device."""
    return "cpu" if target.device == "cpu" else target.name


# Cells sent ahead to a worker: the next one waits in its pipe while it runs the first, so the
# round trip to the parent does not idle it. Only the first can be the one that crashed or hung.
DEPTH = 2
STARTUP = 300.0  # seconds a worker may take to start: a framework's import on a loaded machine


@dataclass
class _Worker:
    lane: str
    process: object  # a multiprocessing Process, forked or spawned
    conn: object
    cells: deque = field(default_factory=deque)  # (index, cell) sent and not yet answered
    deadline: float = 0.0  # of the first of ``cells``; of the start until ``ready``
    limit: Limit | None = None  # the first cell's; None until ``ready``
    started: float = 0.0  # when the first cell's limit began to count
    ready: bool = False  # it sent READY: started, its targets loaded
    sent: str | None = None  # the id of the last case sent
    broken: bool = False  # a send failed: it is dead, and takes no more cells


@dataclass
class Pool:
    """Worker processes keyed by lane; ``run`` yields (index, result) as cells finish."""

    targets: Sequence[Target]
    jobs: int = 1
    timeout: float = 60.0
    workers: list[_Worker] = field(default_factory=list)
    serve: Callable | None = None  # the worker's main(conn, start, *serve_args); worker.main by default
    serve_args: tuple = ()  # worker.main's: (the --save-failures folder,)
    env: dict = field(default_factory=lambda: dict(CORRECTNESS_ENV))  # set in every worker
    limits: Limits | None = None  # the cells' limits, learnt as they finish; from ``timeout`` by default

    def __post_init__(self):
        self.limits = self.limits or Limits(self.timeout)

    def run(self, cells: Sequence[Cell]) -> Iterator[tuple[int, CellResult]]:
        pending: dict[str, deque] = {}
        for index, cell in enumerate(cells):
            pending.setdefault(lane(cell[1]), deque()).append((index, cell))
        try:
            while any(pending.values()) or any(w.cells for w in self.workers):
                self._assign(pending)
                yield from self._collect(pending)
        finally:
            self.close()

    def _assign(self, pending: dict[str, deque]) -> None:
        """Fill each worker of a lane up to DEPTH cells, starting workers as the lane allows."""
        for name, queue in pending.items():
            while queue and (worker := self._free(name)) is not None:
                index, cell = queue.popleft()
                # Cells come case by case: send a case once, and then only its target.
                same = worker.sent == cell[0].id
                try:
                    worker.conn.send((index, None if same else cell[0], cell[1].name))
                except OSError:  # it died; _collect reports the cell it was running
                    queue.appendleft((index, cell))
                    worker.broken = True
                    if not worker.cells:
                        self._retire(worker)
                    continue
                worker.sent = cell[0].id
                worker.cells.append((index, cell))
                if len(worker.cells) == 1 and worker.ready:
                    self._arm(worker)

    def _free(self, name: str) -> _Worker | None:
        mine = [w for w in self.workers if w.lane == name]
        if len(mine) < (self.jobs if name == "cpu" else 1) and all(w.cells for w in mine):
            return self._start(name)
        usable = (w for w in mine if len(w.cells) < DEPTH and not w.broken)
        return min(usable, key=lambda w: len(w.cells), default=None)

    def _start(self, name: str) -> _Worker:
        from .worker import main

        preload = processes.modules(m for t in self.targets for m in t.preload)
        context = processes.context(preload)
        parent, child = context.Pipe()
        start = Start(tuple((t.spec, t.name) for t in self.targets), tuple(self.env.items()),
                      context.get_start_method() == "forkserver", preload)
        process = context.Process(target=self.serve or main, args=(child, start, *self.serve_args), daemon=True)
        try:
            process.start()
        except Exception as exc:  # the fork server could not start or fork: spawn from now on
            if not start.forked:
                raise
            parent.close()
            child.close()
            processes.refuse(f"the fork server failed: {type(exc).__name__}: {exc}")
            return self._start(name)
        child.close()
        worker = _Worker(name, process, parent, deadline=time.monotonic() + STARTUP)
        self.workers.append(worker)
        return worker

    def _arm(self, worker: _Worker) -> None:
        """Start the clock of the worker's first cell, under the limit that cell has now."""
        case, target = worker.cells[0][1]
        worker.limit = self.limits.limit(case, target.name)
        worker.started = time.monotonic()
        worker.deadline = worker.started + worker.limit.seconds

    def _collect(self, pending: dict[str, deque]) -> Iterator[tuple[int, CellResult]]:
        """Wait for the first busy worker to answer, die or run out of time."""
        busy = [w for w in self.workers if w.cells]
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                     timeout=max(0.0, min(w.deadline for w in busy) - time.monotonic()))
        for worker in busy:
            if worker.conn in ready and worker.conn.poll():
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                if message is not None:
                    yield from self._answer(worker, message, pending)
                    continue
            index, (case, target) = worker.cells[0]
            if worker.process.sentinel in ready or not worker.process.is_alive():
                result = _died(case, target, worker.process)
            elif time.monotonic() >= worker.deadline:
                late = (worker.limit.late(case.op) if worker.ready
                        else f"[{case.op}] its worker did not start within {STARTUP:g} s")
                result = _result(case, target, Status.TIMEOUT, f"{late}; worker killed")
            else:
                continue
            if worker.ready:
                self.limits.record(case, target.name, result.status, time.monotonic() - worker.started)
            worker.cells.popleft()
            yield index, result
            self._replace(worker, pending)

    def _answer(self, worker: _Worker, message, pending: dict[str, deque]) -> Iterator[tuple[int, CellResult]]:
        """Act on one message of a worker: READY, REFUSED, or a finished cell."""
        if message == READY:
            worker.ready = True
            self._arm(worker)
            return
        if message[0] == REFUSED:  # it ran nothing: its cells go back to the queue
            processes.refuse(message[1])
            self._replace(worker, pending)
            return
        index, result, lost = message
        case, target = worker.cells.popleft()[1]
        self.limits.record(case, target.name, result.status, time.monotonic() - worker.started)
        yield index, result
        if lost:
            self._replace(worker, pending)
        elif worker.cells:
            self._arm(worker)

    def _replace(self, worker: _Worker, pending: dict[str, deque]) -> None:
        """Retire ``worker``; the cells it was sent and never started go back to the queue."""
        pending[worker.lane].extendleft(reversed(worker.cells))
        worker.cells.clear()
        self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        self.workers.remove(worker)

    def close(self) -> None:
        for worker in list(self.workers):
            self._retire(worker)


def _died(case: Case, target: Target, process) -> CellResult:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        how = f"signal {signal.Signals(-code).name}"
    else:
        how = f"exit status {code}"
    return _result(case, target, Status.CRASH, f"[{case.op}] the worker running it died: {how}")


def _result(case: Case, target: Target, status: Status, message: str) -> CellResult:
    return CellResult(case=case.id, op=case.op, dtype=case.dtype, target=target.name,
                      status=status, message=message, known=known_reason(case, target.name, status),
                      reproduce=reproduce(case, target.name, status))


def run_isolated(cells: Sequence[Cell], targets: Sequence[Target], jobs: int, timeout: float,
                 on_result: Callable[[int, CellResult], None], save: Path | None = None) -> None:
    """Run ``cells`` in workers, calling ``on_result`` for each as it finishes."""
    for index, result in Pool(targets, jobs, timeout, serve_args=(save,)).run(cells):
        on_result(index, result)
