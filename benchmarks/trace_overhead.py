"""What recording costs a program: the example models' own time with and without `mlxport trace`'s
recording, in this process (mlx-lm imported beforehand, each program run once to warm up).

    python benchmarks/trace_overhead.py [--repeats 5]

Prints, per program: calls, distinct signatures, signatures recorded inside mx.compile (on the
first run, which traces the compiled functions), the median time of a plain run and of a recorded
one (all of ``record``: patching MLX, the program, copying the kept arrays to numpy afterwards),
their ratio, and the ratio of the program's own part of the recorded run to the plain run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROGRAMS = {
    "tiny llama (bfloat16)": ["tiny_llama.py"],
    "tiny qwen3-moe (4-bit)": ["tiny_moe.py"],
    "tiny gemma-3 (float16)": ["tiny_gemma3.py"],
    "larger llama (1024 wide, 4 layers, 16 steps)": ["tiny_llama.py", "--large", "--steps", "16"],
}


def timed(run) -> tuple[float, object]:
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        result = run()
        return time.perf_counter() - start, result


def recorded(argv: list[str]) -> tuple[float, float, object]:
    """Seconds of ``record(argv)``, of the program's own run inside it, and the trace."""
    from mlxport.trace import record

    own, run = [], record.run_program

    def run_program(argv):
        start = time.perf_counter()
        try:
            return run(argv)
        finally:
            own.append(time.perf_counter() - start)

    with mock.patch.object(record, "run_program", run_program):
        seconds, trace = timed(lambda: record.record(argv))
    return seconds, own[0], trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import mlx_lm.models.cache  # noqa: F401  (imported once, outside every timing)

    from mlxport.trace.record import run_program

    print(f"{'program':46} {'calls':>6} {'sigs':>5} {'compiled':>8} {'plain s':>8} {'traced s':>9} {'ratio':>6} "
          f"{'own':>5}")
    for label, argv in PROGRAMS.items():
        argv = [str(EXAMPLES / argv[0]), *argv[1:]]
        # Warm (imports, allocator), recorded: the first run also traces the compiled functions.
        compiled = sum(s.compiled for s in recorded(argv)[2].signatures)
        plain, traced, own, trace = [], [], [], None
        for _ in range(args.repeats):  # interleaved, so drift in the machine's load hits both
            plain.append(timed(lambda: run_program(argv))[0])
            seconds, program, trace = recorded(argv)
            traced.append(seconds)
            own.append(program)
        a, b, c = statistics.median(plain), statistics.median(traced), statistics.median(own)
        sigs = trace.signatures
        print(f"{label:46} {sum(s.calls for s in sigs):6} {len(sigs):5} {compiled:8} "
              f"{a:8.3f} {b:9.3f} {b / a:6.2f} {c / a:5.2f}")
    print(f"(median of {args.repeats}; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
