"""Render a saved bench file again: the Markdown matrix and the roofline, without re-timing.

    python benchmarks/matrix.py benchmarks/cpu-matrix.json --markdown benchmarks/cpu-matrix.md \
        --plot benchmarks/cpu-roofline.png

The bench file itself comes from one command (it is written at the top of the Markdown):

    mlxport bench --target numpy:cpu --target mlx:cpu --target torch:cpu --calibrate \
        --json benchmarks/cpu-matrix.json --markdown benchmarks/cpu-matrix.md --plot benchmarks/cpu-roofline.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlxport.bench import benchfile, matrix, roofline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="a bench file (mlxport bench --json)")
    parser.add_argument("--markdown", type=Path, help="write the matrix here")
    parser.add_argument("--plot", type=Path, help="write the roofline PNG here")
    args = parser.parse_args()
    doc = benchfile.apply_peaks(benchfile.load(args.bench))  # % of the device's peak, also for older files
    if args.markdown:
        matrix.write(doc, args.markdown)
    if args.plot:
        roofline.write(doc, args.plot)


if __name__ == "__main__":
    main()
