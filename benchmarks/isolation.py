"""The cost of running cells in worker processes: the whole catalog in-process, then through
the pool with --jobs 1 and 2, on every available non-reference target.

    python benchmarks/isolation.py [--ops GLOB]...
"""

from __future__ import annotations

import sys
import time

from mlxport.check import Selection, select_cases, select_targets
from mlxport.pool import run_isolated
from mlxport.runner import prepare_environment, run


def main(ops: tuple[str, ...]) -> None:
    prepare_environment()
    selection = Selection(ops=ops)
    cases = select_cases(selection)
    targets, _ = select_targets(selection)
    cells = [(c, t) for c in cases for t in targets]
    start = time.perf_counter()
    inline = list(run(cases, targets))
    base = time.perf_counter() - start
    print(f"{len(inline)} cells in-process: {base:.1f} s")
    for jobs in (1, 2):
        start = time.perf_counter()
        run_isolated(cells, targets, jobs, 60.0, lambda index, result: None)
        took = time.perf_counter() - start
        print(f"isolated --jobs {jobs}: {took:.1f} s ({100 * (took - base) / base:+.0f}% vs in-process)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(tuple(a for flag, a in zip(args[::2], args[1::2]) if flag == "--ops"))
