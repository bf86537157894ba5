"""Which primitive classes of the installed MLX the catalog reaches on an MLX target: each
case's call is built (its graph read with mx.export_to_dot) and never evaluated, so the whole
catalog takes seconds.

    python benchmarks/primitives_reached.py [--target mlx:cpu] [--cases DIR]...

Prints the count, then each class that no case reaches, with the reason that
cases/unreachable-primitives.yaml gives for it on that target (or "NO REASON"), then any name
in a graph that no class of the build takes. With --reached, also each reached class and the
first case that reaches it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlxport import primitives
from mlxport.backends.mlx_backend import MLXTarget
from mlxport.check import Selection, builtin_cases, select_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="mlx:cpu", choices=["mlx:cpu", "mlx:gpu"])
    parser.add_argument("--cases", type=Path, action="append", default=[], help="extra case folder")
    parser.add_argument("--reached", action="store_true", help="also list each reached class and its first case")
    args = parser.parse_args()
    start = time.perf_counter()
    cases = select_cases(Selection(case_dirs=tuple(args.cases)))
    found = primitives.reach(cases, MLXTarget(args.target.partition(":")[2]))
    known = primitives.classes()
    reasons = primitives.unreachable([builtin_cases(), *args.cases])
    missing = [cls for cls in known if cls not in found.classes]
    print(f"{args.target}: {len(found.classes)} of {len(known)} primitive classes of MLX reached by {len(cases)} "
          f"cases ({time.perf_counter() - start:.1f} s); {len(missing)} unreached:")
    for cls in missing:
        print(f"  {cls}: {primitives.reason(reasons, cls, args.target) or 'NO REASON'}")
    for name, case in found.unknown.items():
        print(f"name of no class: {name!r} (in {case})")
    if args.reached:
        for cls, case in sorted(found.classes.items()):
            print(f"  reached {cls}: {case}")


if __name__ == "__main__":
    main()
