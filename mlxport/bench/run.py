"""The library behind ``mlxport bench``: choose the bench cases and targets, time every cell in
worker processes (each target in at least two processes, interleaved A1 B1 A2 B2 ..., one process
at a time), and build the bench document."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..check import Selection, builtin_cases, case_files, select_cases, select_targets
from ..model import Case, CellResult, InputError
from ..pool import Pool
from ..runner import prepare_environment
from . import benchfile, environment, peaks, stats
from .benchfile import BenchCell
from .harness import Probe, Timing, serve
from .timing import Budget

DEFAULT_PROCESSES = 2


@dataclass(frozen=True)
class BenchOptions:
    """How a bench run goes."""

    budget: Budget = Budget()
    processes: int = DEFAULT_PROCESSES  # per target, interleaved
    timeout: float = 300.0  # seconds one cell may take in a worker, golden and validation included
    peaks: dict = field(default_factory=dict)  # {target: {"bandwidth_gbps", "flops_gflops", "method"}}
    calibrate: bool = False  # measure the peaks first (bench/peaks.py), in place of ``peaks``


def bench_files(extra: tuple[Path, ...]) -> list[Path]:
    """The bench case files: ``cases/bench/*.yaml``, then those of each ``--cases`` folder."""
    files = case_files(extra, builtin_cases() / "bench")
    if not files:
        raise InputError(f"no bench cases: {builtin_cases() / 'bench'} has no case files; give --cases DIR")
    return files


def select_bench_cases(selection: Selection) -> list[Case]:
    """Every bench case file validated, then ``--ops`` and ``--dtypes`` applied."""
    return select_cases(selection, bench_files(selection.case_dirs))


@dataclass(frozen=True)
class Plan:
    """What a bench run covers, checked: every input error is raised before any timing."""

    cases: list[Case]
    targets: list
    infos: list


def plan(selection: Selection) -> Plan:
    """Validate the bench case files and the targets of ``selection``; numpy is a peer here."""
    return Plan(select_bench_cases(selection), *select_targets(selection, reference=True))


class Interrupted(Exception):
    """Ctrl-C during a bench: the cells finished so far are in the bench file at ``path``."""

    def __init__(self, path: Path, kept: int):
        super().__init__(f"interrupted: {kept} finished cell{'s' if kept != 1 else ''} kept in {path}")
        self.path, self.kept = path, kept


def execute(chosen: Plan, options: BenchOptions, on_timing: Callable[[Timing], None] = lambda t: None,
            keep: Path | None = None) -> dict:
    """Time every cell and return the bench document (not yet written). With ``keep``, the bench
    file of the cells finished so far is rewritten there as each one finishes (``"complete":
    false``), so Ctrl-C, a crash or a kill of mlxport loses no timed cell; Ctrl-C raises
    ``Interrupted``."""
    env = prepare_environment()
    cases, targets, infos = chosen.cases, chosen.targets, chosen.infos
    timings: dict[tuple[str, str], list[Timing]] = {}
    floors: dict[str, list[float]] = {}
    machine = environment.collect(targets)

    def document(measured: dict) -> dict:
        cells = [_merge(case, target.name, timings[(case.id, target.name)])
                 for case in cases for target in targets if (case.id, target.name) in timings]
        made = benchfile.document(cells, infos, peaks=measured, budget=options.budget.to_json(),
                                  floors={t: stats.median(f) for t, f in floors.items()},
                                  processes=options.processes, env=env)
        return {**made, "environment": machine}

    try:
        for _ in range(options.processes):
            for target in targets:
                for timing in _one_process(target, cases, options):
                    if timing.probe is not None:
                        floors.setdefault(target.name, []).append(trusted(target.name, timing.probe))
                    timings.setdefault((timing.case, timing.target), []).append(timing)
                    if keep is not None:
                        benchfile.write(keep, {**document(options.peaks), "complete": False})
                    on_timing(timing)
    except KeyboardInterrupt:
        if keep is None:
            raise
        benchfile.write(keep, {**document(options.peaks), "complete": False})
        raise Interrupted(keep, len(timings)) from None
    return {**document(peaks.calibrate(targets) if options.calibrate else options.peaks), "complete": True}


def trusted(target: str, probe: Probe) -> float:
    """The harness floor of ``target``; refuses to go on when its self-test failed."""
    if (problem := probe.problem()) is not None:
        raise InputError(f"{target}: harness self-test failed: {problem}; refusing to report")
    return probe.floor_s


def _one_process(target, cases: Sequence[Case], options: BenchOptions):
    """Every case on ``target`` in one fresh worker process (a new one only after a crash), with
    no other process of the pool beside it: a cell with attempts waits, as it changes the timings."""
    pool = Pool([target], 1, options.timeout, serve=serve, serve_args=(options.budget.to_json(),), beside=False)
    for index, result in pool.run([(case, target) for case in cases]):
        yield result if isinstance(result, Timing) else _lost(result)


def _lost(result: CellResult) -> Timing:
    """A cell whose worker crashed or ran out of time: not timed."""
    return Timing(result.case, result.target, result.status.value, False, result.message)


def _merge(case: Case, target: str, runs: list[Timing]) -> BenchCell:
    """One cell over its processes: timed only when every process validated it."""
    size, flops = next((t.work for t in runs if t.work != (None, None)), (None, None))
    bad = next((t for t in runs if not t.validated), None)
    base = dict(case=case.id, op=case.op, dtype=case.dtype, target=target, bytes=size, flops=flops)
    if bad is not None:
        return BenchCell(**base, status=bad.status, validated=False, message=bad.message, processes=len(runs))
    return BenchCell(
        **base, status="pass", validated=True, processes=len(runs),
        times=tuple(s for t in runs for s in t.samples.times),
        first_call_s=stats.median([t.samples.first_call_s for t in runs]),
        alloc_times=tuple(s for t in runs if t.alloc for s in t.alloc.times),
    )
