"""How long a cell may run. A hang must not cost ``--timeout`` in every cell of an op.

Each cell gets the run's ``--timeout``, or less where its case declares a limit of its own
(``timeout:`` in the case data). After ``STRIKES`` timeouts in a row of one op on one target, the
op's next cells on that target get a short limit instead: ``FACTOR`` times the slowest cell that
has passed on that target so far, and at least ``FLOOR`` seconds. Every cell still runs and gets
its own status, and a timeout under the short limit says so and why. A cell of the op that
passes gives the op its full limit back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Case, Status

STRIKES = 2  # timeouts in a row of one op on one target before its limit is shortened
FACTOR = 10.0  # the short limit, in multiples of the slowest passing cell of the target
FLOOR = 1.0  # seconds: the short limit is never below this


@dataclass(frozen=True)
class Limit:
    """The seconds one cell may run, and why they are fewer than the run's ``--timeout``."""

    seconds: float
    why: str | None = None

    def late(self, op: str) -> str:
        """The message of a cell of ``op`` that ran past this limit."""
        return f"[{op}] did not finish within {self.seconds:.3g} s" + (f" ({self.why})" if self.why else "")


@dataclass
class Limits:
    """The limits of the cells of one run, learnt from the cells that finished."""

    timeout: float
    strikes: dict[tuple[str, str], int] = field(default_factory=dict)  # (op, target) -> timeouts in a row
    slowest: dict[str, float] = field(default_factory=dict)  # target -> its slowest passing cell, s

    def limit(self, case: Case, target: str) -> Limit:
        """The limit of ``case`` on ``target`` now."""
        full = Limit(self.timeout)
        if case.timeout is not None and case.timeout < self.timeout:
            full = Limit(case.timeout, "the case's own limit, its timeout: field")
        strikes = self.strikes.get((case.op, target), 0)
        if strikes < STRIKES:
            return full
        slowest = self.slowest.get(target, 0.0)
        short = max(FLOOR, FACTOR * slowest)
        if short >= full.seconds:
            return full
        return Limit(short, f"the limit was shortened from {full.seconds:.3g} s after {strikes} timeouts in a "
                            f"row of {case.op} on {target}: {FACTOR:g}x the slowest passing cell on {target} "
                            f"({slowest:.3g} s), at least {FLOOR:g} s; a pass of {case.op} restores it")

    def record(self, case: Case, target: str, status: Status | str, seconds: float) -> None:
        """Learn from a finished cell: its status, and the seconds it took."""
        key = (case.op, target)
        if status == Status.TIMEOUT:
            self.strikes[key] = self.strikes.get(key, 0) + 1
        elif status == Status.PASS:
            self.strikes.pop(key, None)
            self.slowest[target] = max(self.slowest.get(target, 0.0), seconds)
