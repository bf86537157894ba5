"""Cells run in worker processes, so a kernel that segfaults, aborts, hangs or poisons its device
costs one cell.

A worker is reused across cells. A CPU target shares ``jobs`` workers; a GPU target (any other
device) gets one worker of its own, so two cells never compete for one device. A cell of a case
with ``attempts`` runs alone in a new process: on a GPU instead of the device's worker, on the
CPU beside the ``jobs`` workers (at most ``jobs`` such processes at once; not in ``bench``,
whose timings a second process would change), so that the time it may hang overlaps the other
cells instead of stopping them. A worker that dies
makes its cell ``crash``; one that runs past its cell's limit (``limits.py``) is killed and its
cell is ``timeout``; one whose device stopped computing after a cell (its canary failed) reports
that cell as ``crash`` and leaves. Either way the worker is replaced, the cells sent to it ahead
run in the new one, and the run goes on. Workers fork from a preloaded server where they can
(``processes.py``), so a replacement costs milliseconds. A worker's start is not charged to its
first cell: the limit counts from its READY message, and the start has ``STARTUP`` seconds of
its own.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import processes
from .backends import Target
from .catalog import glob as match_target
from .limits import Limit, Limits
from .model import Case, CellResult, Status
from .runner import CORRECTNESS_ENV, known_reason, reproduce
from .worker import NOTE, READY, REFUSED, Start

Cell = tuple[Case, Target]


def lane(target: Target) -> str:
    """Which workers may run a target: the shared CPU lane, or the target's own device."""
    return "cpu" if target.device == "cpu" else target.name


ALONE = "cpu alone"  # the CPU's second lane: the processes of the cells of cases with attempts


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
    alone: bool = False  # started for one cell of a case with ``attempts``; it leaves after it
    noted: dict = field(default_factory=dict)  # index -> the fields its cell noted before it ended


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
    beside: bool = True  # on the CPU, cells of cases with attempts run beside the workers, in lane ALONE
    tries: dict = field(default_factory=dict)  # cell index -> attempts made, for cases with ``attempts``
    ahead: dict = field(default_factory=dict)  # target name -> a spawned worker started ahead of its cell

    def __post_init__(self):
        self.limits = self.limits or Limits(self.timeout)

    def run(self, cells: Sequence[Cell]) -> Iterator[tuple[int, CellResult]]:
        pending: dict[str, deque] = {}
        for index, cell in enumerate(cells):
            pending.setdefault(self._queue(*cell), deque()).append((index, cell))
        try:
            while any(pending.values()) or any(w.cells for w in self.workers):
                self._assign(pending)
                yield from self._collect(pending)
        finally:
            self.close()

    def _assign(self, pending: dict[str, deque]) -> None:
        """Fill each worker of a lane up to DEPTH cells, starting workers as the lane allows."""
        for name, queue in pending.items():
            while queue and (worker := self._free(name, *queue[0])) is not None:
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

    def _queue(self, case: Case, target: Target) -> str:
        """The lane a cell waits for: its target's, or on the CPU (with ``beside``) ``ALONE`` for a
        case with attempts. A GPU has one lane: a second process on it would change what it measures."""
        name = lane(target)
        return ALONE if self.beside and name == "cpu" and _attempts(case, target) else name

    def _free(self, name: str, index: int, cell: Cell) -> _Worker | None:
        """A worker of lane ``name`` that can take ``cell`` now: for a case with ``attempts``,
        a new process of its own, made room for by retiring an idle worker of the lane (on the CPU,
        with ``beside``, such cells have a lane of their own, ``ALONE``, where none is ever idle)."""
        mine = [w for w in self.workers if w.lane == name]
        if _attempts(*cell):
            idle = next((w for w in mine if not w.cells), None)
            if idle is None and len(mine) >= self._room(name):
                return None
            if idle is not None:
                self._retire(idle)
            # The first attempt forks (cheap); the others exec, as they must share nothing.
            return self._spawned(name, cell[1]) if index in self.tries else self._start(name, alone=cell[1])
        if len(mine) < self._room(name) and all(w.cells for w in mine):
            return self._start(name)
        usable = (w for w in mine if len(w.cells) < DEPTH and not w.broken and not w.alone)
        return min(usable, key=lambda w: len(w.cells), default=None)

    def _room(self, name: str) -> int:
        """How many workers lane ``name`` may have: ``jobs`` for each of the CPU's, one per device."""
        return self.jobs if name in ("cpu", ALONE) else 1

    def _start(self, name: str, alone: Target | None = None, spawn: bool = False) -> _Worker:
        """A new worker for lane ``name``, forked where it can be, else (or with ``spawn``)
        spawned; with ``alone``, one for a single cell of that target."""
        from .worker import main

        preload = processes.modules(m for t in self.targets for m in t.preload)
        context = processes.spawning() if spawn else processes.context(preload)
        targets, forked = [alone] if alone else self.targets, context.get_start_method() == "forkserver"
        parent, child = context.Pipe()
        # A spawned single-cell worker imports only its target's framework: it starts in a fifth of a second.
        start = Start(tuple((t.spec, t.name) for t in targets), tuple(self.env.items()), forked,
                      alone.preload if alone and not forked else preload)
        process = context.Process(target=self.serve or main, args=(child, start, *self.serve_args), daemon=True)
        try:
            process.start()
        except Exception as exc:  # the fork server could not start or fork: spawn from now on
            if not start.forked:
                raise
            parent.close()
            child.close()
            processes.refuse(f"the fork server failed: {type(exc).__name__}: {exc}")
            return self._start(name, alone, spawn)
        child.close()
        worker = _Worker(name, process, parent, deadline=time.monotonic() + STARTUP, alone=alone is not None)
        self.workers.append(worker)
        return worker

    def _spawned(self, name: str, target: Target) -> _Worker:
        """A spawned worker for one cell of ``target``: the one started ahead, if there is one.
        The next one is started now, so that its start (a fifth of a second of imports) overlaps
        this cell's run instead of following it."""
        worker = self.ahead.pop(target.name, None)
        if worker is None:
            worker = self._start(name, alone=target, spawn=True)
        else:
            self.workers.append(worker)
        ahead = self._start(name, alone=target, spawn=True)
        self.workers.remove(ahead)
        self.ahead[target.name] = ahead
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
            # Its pipe is ready, or its answer may be there although only its exit was seen.
            if worker.conn in ready or worker.conn.poll():
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
            yield from self._finished(worker, result, pending, lost=True)

    def _answer(self, worker: _Worker, message, pending: dict[str, deque]) -> Iterator[tuple[int, CellResult]]:
        """Act on one message of a worker: READY, REFUSED, a cell's note, or a finished cell."""
        if message == READY:
            worker.ready = True
            self._arm(worker)
        elif message[0] == REFUSED:  # it ran nothing: its cells go back to the queue
            processes.refuse(message[1])
            self._replace(worker, pending)
        elif message[0] == NOTE:  # kept until the cell ends, however it ends
            worker.noted.setdefault(message[1], {}).update(message[2])
        else:
            yield from self._finished(worker, message[1], pending, lost=message[2])

    def _finished(self, worker: _Worker, result, pending: dict[str, deque], lost: bool):
        """The worker's first cell ended with ``result``: learn from it, yield it (or try it
        again, for a case with attempts left), and replace the worker if it is lost."""
        index, (case, target) = worker.cells.popleft()
        result = _with(result, worker.noted.pop(index, {}))
        if worker.ready:
            self.limits.record(case, target.name, result.status, time.monotonic() - worker.started)
        attempts = _attempts(case, target)
        if attempts:  # only cells of cases with attempts are counted
            self.tries[index] = self.tries.get(index, 0) + 1
        tries = self.tries.get(index, 1)
        if attempts and result.status == Status.PASS and tries < attempts:
            pending[worker.lane].appendleft((index, (case, target)))
        elif attempts > 1 and result.status != Status.PASS:
            note = f"in attempt {tries} of {attempts}, each in a new process"
            yield index, dataclasses.replace(result, message=f"{result.message} ({note})")
        else:
            yield index, result
        if lost or worker.alone:
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
        self.workers += self.ahead.values()
        self.ahead.clear()
        for worker in list(self.workers):
            self._retire(worker)


def _attempts(case: Case, target: Target) -> int:
    """How many new processes a cell runs in, alone, before it counts as passing (its case's
    ``attempts``); 0 where the case declares none: it shares a worker with other cells."""
    return next((n for glob, n in case.attempts if match_target(glob, target.name)), 0)


def _with(result, noted: dict):
    """``result`` with the fields its cell noted that its type has (a bench Timing has none) and
    that it lacks (the worker's own result has them already; a crash or timeout made here not)."""
    fields = {k: v for k, v in noted.items() if getattr(result, k, v) != v}
    return dataclasses.replace(result, **fields) if fields else result


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
                      status=status, message=message, known=known_reason(case, target, status),
                      reproduce=reproduce(case, target.name, status))


def run_isolated(cells: Sequence[Cell], targets: Sequence[Target], jobs: int, timeout: float,
                 on_result: Callable[[int, CellResult], None], save: Path | None = None) -> None:
    """Run ``cells`` in workers, calling ``on_result`` for each as it finishes."""
    for index, result in Pool(targets, jobs, timeout, serve_args=(save,)).run(cells):
        on_result(index, result)
