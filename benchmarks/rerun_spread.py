"""Are bench medians repeatable? Run ``mlxport bench`` several times, each a fresh invocation, and
compare the medians of every cell of 1 ms or more: each must lie within 10% of the others.
Run it on a quiet machine; on a busy one it measures the neighbours.

    python benchmarks/rerun_spread.py [--runs 2] [--keep DIR] -- [mlxport bench flags, e.g. --ops 'exp*']
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

LIMIT = 0.10
MIN_MEDIAN_S = 1e-3


def bench(flags: list[str], path: Path) -> dict[tuple[str, str], float]:
    """One fresh ``mlxport bench`` run: the median of each timed cell."""
    subprocess.run([sys.executable, "-m", "mlxport", "bench", *flags, "--json", str(path)], check=True,
                   stdout=subprocess.DEVNULL)  # its table; the comparison below is what counts
    doc = json.loads(path.read_text())
    return {(r["case"], r["target"]): r["median_s"] for r in doc["results"] if r["validated"] and r["median_s"]}


def main(runs: int, keep: Path | None, flags: list[str]) -> int:
    folder = keep or Path(tempfile.mkdtemp(prefix="rerun-spread-"))
    folder.mkdir(parents=True, exist_ok=True)
    medians = [bench(flags, folder / f"run{i + 1}.json") for i in range(runs)]
    cells = [c for c in medians[0] if all(c in m for m in medians) and min(m[c] for m in medians) >= MIN_MEDIAN_S]
    worst = 0.0
    print(f"{'case':48} {'target':12} {'max/min':>8}  medians (ms)")
    for cell in cells:
        values = [m[cell] for m in medians]
        spread = max(values) / min(values) - 1
        worst = max(worst, spread)
        flag = "" if spread <= LIMIT else "  <-- over 10%"
        print(f"{cell[0]:48} {cell[1]:12} {1 + spread:8.3f}  {' '.join(f'{v * 1e3:.3f}' for v in values)}{flag}")
    if not cells:
        print("no cell of 1 ms or more was timed in every run")
        return 1
    verdict = "PASS" if worst <= LIMIT else "FAIL"
    print(f"{verdict}: {len(cells)} cells of >= 1 ms, largest spread {100 * worst:.1f}% (limit 10%); files in {folder}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the bench files in this folder")
    options = parser.parse_args(argv[:split])
    raise SystemExit(main(options.runs, options.keep, argv[split + 1:]))
