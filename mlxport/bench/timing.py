"""Time one callable the way the harness owns it: a first call of its own, a warmup budget, then
samples until the noise settles. Callers never synchronize; ``sync`` and the timer do.

    samples = measure(call, target.sync, warmup_s=0.2, min_s=0.5, max_s=3, min_samples=10, rel_spread=0.02)
    samples.median, samples.p10, samples.first_call_s
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

# One timed call: run ``fn``, wait for its outputs with ``sync``, return the seconds it took.
Timer = Callable[[Callable[[], Any], Callable[[Sequence[Any]], None]], float]

NOISY = 0.10  # IQR / median above this: the cell is flagged noisy
UNSTABLE = 0.25  # ... above this: unstable


class WallTimer:
    """A host clock around the call and its sync: right wherever ``sync`` really waits."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock

    def __call__(self, fn, sync) -> float:
        start = self.clock()
        sync(fn())
        return self.clock() - start


class EventTimer:
    """Device events around the call, then the sync and a wait on the end event: the device's
    own clock, for CUDA targets. ``new_event()`` makes an event with ``record()`` and
    ``synchronize()``; ``elapsed_ms(start, end)`` reads the time between two recorded events.

        torch: EventTimer(lambda: torch.cuda.Event(enable_timing=True), lambda a, b: a.elapsed_time(b))
        cupy:  EventTimer(cupy.cuda.Event, cupy.cuda.get_elapsed_time)
    """

    def __init__(self, new_event: Callable[[], Any], elapsed_ms: Callable[[Any, Any], float]):
        self.start, self.end, self.elapsed_ms = new_event(), new_event(), elapsed_ms

    def __call__(self, fn, sync) -> float:
        self.start.record()
        outputs = fn()
        self.end.record()
        sync(outputs)
        self.end.synchronize()
        return self.elapsed_ms(self.start, self.end) / 1e3


@dataclass(frozen=True)
class Budget:
    """How long to time a cell: warmup and sampling are time budgets, not counts."""

    warmup_s: float = 0.2
    min_s: float = 0.5
    max_s: float = 3.0
    min_samples: int = 10  # a floor: sampling runs past max_s until it has these
    rel_spread: float = 0.02  # stop when the median's 95% interval is within +-this (relative)
    max_samples: int = 5000  # enough for any median; keeps a fast cell's bench record small

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Samples:
    """The seconds of each timed call, in order, and the first call (compilation included)."""

    times: tuple[float, ...]
    first_call_s: float

    @property
    def samples(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return quantile(self.times, 0.5)

    @property
    def p10(self) -> float:
        return quantile(self.times, 0.1)

    @property
    def p90(self) -> float:
        return quantile(self.times, 0.9)

    @property
    def iqr(self) -> float:
        return quantile(self.times, 0.75) - quantile(self.times, 0.25)

    @property
    def iqr_rel(self) -> float:
        """IQR / median: the spread of one call's time."""
        return self.iqr / self.median if self.median > 0 else math.inf

    @property
    def noise(self) -> str:
        """``ok``, ``noisy`` (IQR/median > 10%) or ``unstable`` (> 25%)."""
        rel = self.iqr_rel
        return "unstable" if rel > UNSTABLE else "noisy" if rel > NOISY else "ok"


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation (numpy's default), without numpy."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def settled(times: Sequence[float], rel_spread: float) -> bool:
    """Whether the median is known to +-``rel_spread``: the half-width of its ~95% interval,
    1.57 IQR / sqrt(n) (McGill's notch), relative to the median. More samples narrow it even
    when each call is noisy, so sampling ends."""
    median = quantile(times, 0.5)
    if median <= 0:
        return True
    iqr = quantile(times, 0.75) - quantile(times, 0.25)
    return 1.57 * iqr / math.sqrt(len(times)) <= rel_spread * median


def measure(fn: Callable[[], Any], sync: Callable[[Sequence[Any]], None], *, warmup_s: float, min_s: float,
            max_s: float, min_samples: int, rel_spread: float, max_samples: int = 5000,
            timer: Timer | None = None, clock: Callable[[], float] = time.perf_counter) -> Samples:
    """Time ``fn``: one first call, warm up for ``warmup_s``, then sample for at least ``min_s``
    until the median settles to ``rel_spread``, for at most ``max_s`` and ``max_samples``.
    ``min_samples`` is a floor that no budget cuts: a cell too slow for it runs past ``max_s``
    (the caller's timeout still bounds it). ``clock`` keeps the budgets; ``timer`` times each
    call (a wall clock by default)."""
    timer = timer or WallTimer(clock)
    first = timer(fn, sync)
    start = clock()
    while clock() - start < warmup_s:
        timer(fn, sync)
    times: list[float] = []
    start, check = clock(), min_samples
    while True:
        times.append(timer(fn, sync))
        spent = clock() - start
        if len(times) < min_samples:
            continue
        if spent >= max_s or len(times) >= max_samples:
            break
        if spent >= min_s and len(times) >= check:
            if settled(times, rel_spread):
                break
            check = len(times) + max(1, len(times) // 20)  # sorting every sample would cost O(n^2 log n)
    return Samples(tuple(times), first)


def measure_with(fn, sync, budget: Budget, timer: Timer | None = None) -> Samples:
    """:func:`measure` with a :class:`Budget`."""
    return measure(fn, sync, timer=timer, **budget.to_json())
