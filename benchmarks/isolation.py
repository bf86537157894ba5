"""The cost of running cells in worker processes. The cells that crash or hang are found first
(they cannot run in-process at all); the rest run in-process, then through the pool with
--jobs 1 and 2, on every available non-reference target.

    python benchmarks/isolation.py [--ops GLOB]...
"""

from __future__ import annotations

import sys
import time

from mlxport.check import Selection, select_cases, select_targets
from mlxport.inputs import generate
from mlxport.model import Status
from mlxport.pool import run_isolated
from mlxport.runner import golden, prepare_environment, run_cell


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _inline(cells) -> None:
    for case, target in cells:
        inputs = generate(case)
        run_cell(target, case, inputs, golden(case, inputs))


def main(ops: tuple[str, ...]) -> None:
    prepare_environment()
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


if __name__ == "__main__":
    args = sys.argv[1:]
    main(tuple(a for flag, a in zip(args[::2], args[1::2]) if flag == "--ops"))
