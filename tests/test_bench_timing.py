"""The timing loop's logic on a fake clock (no real speeds are asserted), and Mann-Whitney U
against an exact enumeration of every way to split the pooled samples."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from mlxport.bench import stats
from mlxport.bench.timing import EventTimer, Samples, WallTimer, measure, quantile, settled


class FakeClock:
    """A clock that moves only when a fake call takes its time."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = iter(durations)
        self.calls = 0

    def __call__(self) -> float:
        return self.now

    def call(self):
        self.now += next(self.durations)
        self.calls += 1
        return ("output",)


def run(durations, **budget):
    clock = FakeClock(durations)
    synced = []
    samples = measure(clock.call, synced.append, clock=clock, timer=WallTimer(clock), **budget)
    return samples, clock, synced


BUDGET = dict(warmup_s=0.05, min_s=0.1, max_s=1.0, min_samples=5, rel_spread=0.02)


def test_first_call_is_its_own_column_and_warmup_is_a_time_budget():
    samples, clock, synced = run(itertools.chain([0.5], itertools.repeat(0.01)), **BUDGET)
    assert samples.first_call_s == 0.5 and 0.5 not in samples.times
    assert samples.median == pytest.approx(0.01)
    # 1 first call, 5 warmup calls (0.05 s), 10 samples (min_s 0.1 s at 0.01 s each, no spread)
    assert (clock.calls, samples.samples) == (16, 10)
    assert len(synced) == clock.calls  # every call was synced inside the timed region


def test_min_samples_is_a_floor_that_max_time_does_not_cut():
    samples, clock, _ = run(itertools.repeat(0.3), **{**BUDGET, "min_samples": 5})
    assert samples.samples == 5 and clock.now > 1.0  # 4 x 0.3 s passes max_s = 1.0; 5 are taken
    once, _, _ = run(itertools.cycle([0.2, 0.4]), **{**BUDGET, "min_samples": 2, "rel_spread": 1e-6})
    assert once.samples == 4  # above the floor, max_s ends sampling as before (0.2+0.4+0.2+0.4 s)
    capped, _, _ = run(itertools.repeat(0.001), **{**BUDGET, "min_samples": 30, "max_samples": 20})
    assert capped.samples == 30  # the floor beats the record-size cap too


def test_min_samples_extends_sampling_past_min_time():
    samples, _, _ = run(itertools.repeat(0.05), **{**BUDGET, "min_samples": 8})
    assert samples.samples == 8


def test_noisy_calls_sample_until_the_median_settles():
    rng = random.Random(7)
    durations = [0.001 * rng.lognormvariate(0, 0.3) for _ in range(100_000)]
    samples, clock, _ = run(durations, warmup_s=0.0, min_s=0.01, max_s=60.0, min_samples=5, rel_spread=0.02)
    assert settled(samples.times, 0.02) and clock.now < 60.0
    # the first settled count, or at most 5% later (the check runs every n/20 samples)
    first = next(n for n in range(5, samples.samples + 1) if settled(samples.times[:n], 0.02))
    assert first <= samples.samples <= first * 1.05 + 1
    assert samples.samples > 20  # lognormal(0.3) needs far more than the minimum
    flat, _, _ = run(itertools.repeat(0.001), warmup_s=0.0, min_s=0.01, max_s=60.0, min_samples=5, rel_spread=0.02)
    assert flat.samples == 10


def test_noise_that_never_settles_stops_at_max_time():
    rng = random.Random(3)
    durations = [0.01 * rng.choice([1, 10]) for _ in range(100_000)]
    samples, clock, _ = run(durations, warmup_s=0.0, min_s=0.1, max_s=2.0, min_samples=5, rel_spread=1e-6)
    assert 2.0 <= clock.now - samples.first_call_s < 2.0 + 0.1 + 1e-9


def test_an_event_timer_reads_the_device_clock_between_events_recorded_around_the_call():
    device, log = FakeClock(itertools.repeat(0.004)), []

    class Event:  # the shape of torch.cuda.Event and cupy.cuda.Event: record, synchronize
        def record(self):
            self.at = device.now
            log.append("record")

        def synchronize(self):
            log.append("wait")

    def call():
        log.append("call")
        return device.call()

    timer = EventTimer(Event, lambda a, b: 1e3 * (b.at - a.at))
    assert timer(call, lambda outputs: log.append("sync")) == pytest.approx(0.004)
    assert log == ["record", "call", "record", "sync", "wait"]


def test_max_samples_caps_a_fast_cell():
    samples, _, _ = run(itertools.repeat(1e-6), **{**BUDGET, "rel_spread": 0.0, "max_samples": 300})
    assert samples.samples == 300


@pytest.mark.parametrize("n", [1, 2, 5, 10, 101])
def test_quantiles_match_numpy(n):
    values = np.random.default_rng(n).lognormal(size=n)
    s = Samples(tuple(values), 0.0)
    assert (s.median, s.p10, s.p90) == pytest.approx(tuple(np.percentile(values, [50, 10, 90])))
    assert s.iqr == pytest.approx(np.percentile(values, 75) - np.percentile(values, 25))
    assert quantile(values, 0.0) == values.min() and quantile(values, 1.0) == values.max()


def test_noise_flags_at_ten_and_twenty_five_percent():
    def flag(spread):  # quartiles at 1 - spread/2 and 1 + spread/2, median 1
        return Samples((1 - spread / 2, 1 - spread / 2, 1.0, 1 + spread / 2, 1 + spread / 2), 0).noise

    assert (flag(0.05), flag(0.15), flag(0.30)) == ("ok", "noisy", "unstable")


# --- Mann-Whitney U ---------------------------------------------------------------------------

def brute_force(a, b):
    """U of ``a`` and the two-sided permutation p over every split of the pooled values."""
    pooled = list(a) + list(b)
    us = []
    for first_idx in itertools.combinations(range(len(pooled)), len(a)):
        rest_idx = set(range(len(pooled))) - set(first_idx)
        first = [pooled[i] for i in first_idx]
        us.append(sum((x > pooled[j]) + 0.5 * (x == pooled[j]) for x in first for j in rest_idx))
    observed = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    low = sum(v <= observed + 1e-9 for v in us) / len(us)
    high = sum(v >= observed - 1e-9 for v in us) / len(us)
    return observed, min(1.0, 2 * min(low, high))


def test_hand_computed_example():
    # Every value of a below every value of b: U = 0; 2 of the C(6,3) = 20 splits are as extreme.
    assert stats.mann_whitney([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == (0.0, pytest.approx(2 / 20))
    assert stats.mann_whitney([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]) == (9.0, pytest.approx(2 / 20))


@pytest.mark.parametrize("seed,n1,n2", [(1, 4, 5), (2, 6, 6), (3, 3, 9), (4, 7, 8)])
def test_exact_p_equals_enumeration_without_ties(seed, n1, n2):
    rng = random.Random(seed)
    a = [rng.gauss(0, 1) for _ in range(n1)]
    b = [rng.gauss(0.8, 1) for _ in range(n2)]
    u, p = stats.mann_whitney(a, b)
    assert (u, p) == pytest.approx(brute_force(a, b))


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_tie_corrected_normal_approximation_is_close_to_enumeration(seed):
    rng = random.Random(seed)
    a = [float(rng.randint(0, 5)) for _ in range(8)]  # many ties
    b = [float(rng.randint(1, 6)) for _ in range(9)]
    u, p = stats.mann_whitney(a, b)
    exact_u, exact_p = brute_force(a, b)
    assert u == exact_u
    assert p == pytest.approx(exact_p, abs=0.03)


def test_normal_approximation_is_close_to_the_exact_distribution_for_larger_samples():
    rng = random.Random(11)
    a = [rng.gauss(0, 1) for _ in range(25)]
    b = [rng.gauss(0.6, 1) for _ in range(25)]
    u, p = stats.mann_whitney(a, b)  # 50 values: the normal approximation
    exact = stats._exact_p(u, 25, 25)
    assert p == pytest.approx(exact, rel=0.05) and p < 0.05


def test_u_counts_pairs_with_ties_as_halves():
    rng = random.Random(9)
    a = [float(rng.randint(0, 3)) for _ in range(12)]
    b = [float(rng.randint(0, 3)) for _ in range(15)]
    pairs = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    assert stats.u_statistic(a, b) == pairs
    assert stats.u_statistic(a, b) + stats.u_statistic(b, a) == len(a) * len(b)


def test_equal_samples_give_p_one():
    assert stats.mann_whitney([1.0] * 10, [1.0] * 10)[1] == 1.0


def test_a_ratio_is_stated_only_when_significant_and_beyond_ten_percent():
    rng = random.Random(1)
    fast = [1.0 + rng.random() * 0.01 for _ in range(30)]
    assert stats.ratio_if_significant(fast, [2 * t for t in fast]) == pytest.approx(2.0, rel=0.01)
    assert stats.ratio_if_significant([2 * t for t in fast], fast) == pytest.approx(0.5, rel=0.01)
    assert stats.ratio_if_significant(fast, [1.05 * t for t in fast]) is None  # significant, but within 10%
    assert stats.ratio_if_significant(fast[:5], [2 * t for t in fast[:5]]) is None  # 5 vs 5: p >= 2/252
    spread = [rng.lognormvariate(0, 1) for _ in range(30)]
    assert stats.ratio_if_significant(spread, [rng.lognormvariate(0.2, 1) for _ in range(30)]) is None


def test_can_differ_says_whether_any_arrangement_of_that_many_samples_reaches_alpha():
    assert not stats.can_differ(6, 6)  # the smallest p of 6 vs 6 is 2/924 = 0.0022
    assert stats.can_differ(7, 7)  # 2/3432 < 0.002
    assert not stats.can_differ(2, 125)  # normal approximation: z 2.4
    assert stats.can_differ(4, 125) and not stats.can_differ(0, 100)
    for n1, n2 in ((6, 6), (7, 7), (3, 300), (4, 125)):  # real samples of those sizes do no better
        fast, slow = [float(i) for i in range(n1)], [1000.0 + i for i in range(n2)]
        assert (stats.ratio_if_significant(fast, slow) is not None) == stats.can_differ(n1, n2)
