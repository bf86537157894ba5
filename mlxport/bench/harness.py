"""Time the cells of one target in this process. The harness owns the methodology: a cell is
validated against the golden, timed, and validated again; the target only runs the op and says
how to wait for it (``sync``) and how to clock it (``timer``).

``serve`` is the worker process of ``mlxport bench``: the pool sends it cells one at a time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import numpy as np

from ..backends import Target
from ..model import Case, Outcome, Status
from ..runner import bind, blocked, failed, judge
from .timing import Budget, Samples, measure, measure_with
from .work import cost

SELFTEST_ELEMENTS = 1 << 24  # a 16M-element float32 add: 192 MiB of traffic per call
SELFTEST_MAX_GBPS = 20_000.0  # 20 TB/s: beyond any memory system today; faster means no sync
PROBE_BUDGET = Budget(warmup_s=0.0, min_s=0.05, max_s=1.0, min_samples=5, rel_spread=0.05)


@dataclass(frozen=True)
class Probe:
    """What the harness measured about itself on a target, in one process."""

    floor_s: float  # a 1-element add plus its sync: nothing a cell takes can be told below this
    add_small_s: float  # a 1M-element add
    add_big_s: float  # a 16M-element add

    @property
    def gbps(self) -> float:
        return 3 * 4 * SELFTEST_ELEMENTS / self.add_big_s / 1e9 if self.add_big_s > 0 else float("inf")

    def problem(self) -> str | None:
        """Why these times cannot be real (the sync did not wait), else None."""
        if self.gbps > SELFTEST_MAX_GBPS or self.add_big_s < 2 * self.add_small_s:
            return (f"a {SELFTEST_ELEMENTS:,}-element add took {self.add_big_s * 1e6:.1f} us "
                    f"({self.gbps:,.0f} GB/s; a 16x smaller add took {self.add_small_s * 1e6:.1f} us): "
                    "the target's sync does not wait for its outputs")
        return None


@dataclass(frozen=True)
class Timing:
    """One process's measurement of one cell."""

    case: str
    target: str
    status: str
    validated: bool
    message: str | None = None
    samples: Samples | None = None
    alloc: Samples | None = None
    probe: Probe | None = None  # on the first cell of a target in a process
    work: tuple[int | None, int | None] = (None, None)  # (bytes, flops) the case data declares


def probe(target: Target) -> Probe | None:
    """The harness floor and the missing-sync self-test of ``target``; None if it has no add."""
    fn = target.function("add")
    if fn is None:
        return None
    with target.session(), _cache(target, True):
        def timed(n: int) -> float:
            a = target.asarray(np.ones(n, np.float32))
            b = target.asarray(np.ones(n, np.float32))
            return measure_with(lambda: (fn(a, b),), target.sync, PROBE_BUDGET, target.timer()).median
        return Probe(timed(1), timed(SELFTEST_ELEMENTS // 16), timed(SELFTEST_ELEMENTS))


def bench_cell(target: Target, case: Case, inputs, expected, budget: Budget) -> Timing:
    """Validate, time (steady state, then with allocation where the target can tell), validate."""
    def untimed(outcome: Outcome) -> Timing:
        return Timing(case.id, target.name, outcome.status.value, False, outcome.message)

    if (outcome := blocked(target, case, expected)) is not None:
        return untimed(outcome)
    try:  # numpy as a peer: overflow to inf and NaN are results, not warnings on stderr
        with target.session(), np.errstate(all="ignore"):
            fn = target.function(case.op)
            call, timer, first = bind(target, fn, case, inputs), target.timer(), []

            def first_call():  # timed like the rest, and its outputs kept for validation
                first.extend(call())
                return first

            first_s = timer(first_call, target.sync)
            if (outcome := _check(target, fn, case, inputs, expected, first)).status != Status.PASS:
                return untimed(outcome)
            with _cache(target, True):
                samples = replace(measure_with(call, target.sync, budget, timer), first_call_s=first_s)
            alloc = _alloc(target, call, budget, timer)
            outcome = _check(target, fn, case, inputs, expected, _synced(target, call()))
    except Exception as exc:
        return untimed(failed(target, case, exc))
    after = None if outcome.status == Status.PASS else f"after timing: {outcome.message}"
    return Timing(case.id, target.name, outcome.status.value, after is None, after, samples, alloc)


def _check(target: Target, fn, case: Case, inputs, expected, outputs) -> Outcome:
    """check's verdict on ``outputs`` (runner.judge, the float64 re-check included)."""
    return judge(target, fn, case, inputs, expected, [target.to_numpy(o) for o in outputs])


def _synced(target: Target, outputs):
    target.sync(outputs)
    return outputs


def _cache(target: Target, steady: bool):
    return target.cache(steady) or contextlib.nullcontext()


def _alloc(target: Target, call, budget: Budget, timer) -> Samples | None:
    """The time with the allocator cache off, where the target has one: a second, shorter run."""
    context = target.cache(False)
    if context is None:
        return None
    with context:
        return measure(call, target.sync, timer=timer, warmup_s=0.0, min_s=budget.min_s / 2,
                       max_s=budget.max_s / 2, min_samples=budget.min_samples, rel_spread=budget.rel_spread)


def serve(conn, start, budget: dict) -> None:
    """The bench worker: time each cell the pool sends, one at a time, until the pipe closes;
    the first cell of each target carries the probe of the harness on it."""
    from ..worker import serve_cells

    limits, probed = Budget(**budget), set()

    def run(target: Target, case: Case, inputs, expected, note) -> Timing:  # a Timing notes nothing
        check = None if target.name in probed else probe(target)
        probed.add(target.name)
        timing = bench_cell(target, case, inputs, expected, limits)
        return replace(timing, probe=check, work=_work(case, inputs, expected))

    serve_cells(conn, start, run)


def _work(case: Case, inputs, expected) -> tuple[int | None, int | None]:
    """The case's declared bytes and flops, from its inputs and the golden's shapes."""
    if isinstance(expected, Exception):
        return None, None
    return cost(case, [i.value for i in inputs], expected)
