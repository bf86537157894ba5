"""The cost of running cells in worker processes, and of device faults.

    python benchmarks/isolation.py overhead [--ops GLOB]...
    python benchmarks/isolation.py faults [--timeout S] [--jobs N]

``overhead``: the cells that crash or hang are found first (they cannot run in-process at all);
the rest run in-process, then through the pool with --jobs 1 and 2, on every available
non-reference target.

``faults``: the 6-op check of add, multiply, exp, sort, cumsum and tanh on mlx:cpu, three ways:
clean; with sort segfaulting, cumsum aborting and tanh hanging in every cell; and with a sticky
fault (the first sort poisons its process: every later MLX call there raises, as a CUDA context
does after an illegal memory access). The faults are injected into the real MLX by the targets of
tests/faulty_backend.py. For each: the wall time, the statuses, and the collateral (cells of the
other ops whose status differs from the clean run: it should be none).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from mlxport.check import Selection, select_cases, select_targets
from mlxport.inputs import generate
from mlxport.model import Status
from mlxport.pool import run_isolated
from mlxport.runner import golden, prepare_environment, run_cell

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

FAULT_OPS = ("add", "multiply", "exp", "sort", "cumsum", "tanh")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _inline(cells) -> None:
    for case, target in cells:
        inputs = generate(case)
        run_cell(target, case, inputs, golden(case, inputs))


def overhead(ops: tuple[str, ...]) -> None:
    selection = Selection(ops=ops)
    targets, _ = select_targets(selection)
    cells = [(c, t) for c in select_cases(selection) for t in targets]
    fatal = set()
    run_isolated(cells, targets, 2, 60.0, lambda i, r: r.status in (Status.CRASH, Status.TIMEOUT) and fatal.add(i))
    safe = [cell for i, cell in enumerate(cells) if i not in fatal]
    base = _timed(lambda: _inline(safe))
    print(f"{len(safe)} cells ({len(fatal)} that crash or hang left out) in-process: {base:.1f} s")
    for jobs in (1, 2):
        took = _timed(lambda: run_isolated(safe, targets, jobs, 60.0, lambda i, r: None))
        print(f"isolated --jobs {jobs}: {took:.1f} s ({100 * (took - base) / base:+.0f}% vs in-process)")


def _check(cases, target, timeout: float, jobs: int) -> tuple[dict, float]:
    got: dict = {}
    took = _timed(lambda: run_isolated([(c, target) for c in cases], [target], jobs, timeout,
                                       lambda i, r: got.setdefault(r.case, r)))
    return got, took


def faults(timeout: float, jobs: int) -> None:
    import faulty_backend

    cases = select_cases(Selection(ops=FAULT_OPS))
    [mlx] = select_targets(Selection(targets=("mlx:cpu",)))[0]
    clean, base = _check(cases, mlx, timeout, jobs)
    print(f"{len(cases)} cells of {', '.join(FAULT_OPS)} on mlx:cpu, --timeout {timeout:g}, --jobs {jobs}")
    print(f"  clean: {base:.1f} s  {dict(Counter(r.status.value for r in clean.values()))}")
    for name, factory in (("sort segfaults, cumsum aborts, tanh hangs", "faulty_mlx_targets"),
                          ("the first sort poisons its process", "poisoned_targets")):
        got, took = _check(cases, getattr(faulty_backend, factory)()[0], timeout, jobs)
        faulty = {"sort", "cumsum", "tanh"} if factory == "faulty_mlx_targets" else {"sort"}
        collateral = [c for c, r in got.items() if r.op not in faulty and r.status != clean[c].status]
        by_op = {op: dict(Counter(r.status.value for r in got.values() if r.op == op)) for op in sorted(faulty)}
        shortened = sum("shortened" in (r.message or "") for r in got.values())
        print(f"  {name}: {took:.1f} s ({took / base:.1f}x clean); faulty ops {by_op}; "
              f"{shortened} timeouts under a shortened limit; collateral: {len(collateral)} cells {collateral[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("overhead").add_argument("--ops", action="append", default=[])
    fault = sub.add_parser("faults")
    fault.add_argument("--timeout", type=float, default=10.0)
    fault.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    prepare_environment()
    if args.what == "overhead":
        overhead(tuple(args.ops))
    else:
        faults(args.timeout, args.jobs)


if __name__ == "__main__":
    main()
