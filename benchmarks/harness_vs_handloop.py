"""Does the harness measure what a hand-written loop measures? For a few ops of a millisecond or
more on mlx:cpu, time each cell with the full harness (validation, warmup budget, settling, cache
limit) and with the plainest loop one would write by hand, in the same process, alternating the two
several times so that drift hits both alike. Each round gives one ratio (harness median / loop
median, taken back to back); the median ratio over the rounds should be within 5% of 1.

    python benchmarks/harness_vs_handloop.py [--rounds 7] [--calls 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

CASES = """
category: binary
ops:
  - {op: add, dtypes: [float32], shapes: ["(2048,2048) (2048,2048)"]}
  - {op: exp, category: unary, dtypes: [float32], shapes: ["(256,1024)"]}
  - {op: matmul, category: matmul, dtypes: [float32], shapes: ["(384,384) (384,384)"],
     tolerance: {atol: 9.2e-5}}   # 2 K eps32, K = 384, as cases/matmul.yaml sets it
  - {op: max, category: reduction, dtypes: [float32], shapes: ["(2048,2048)"], params: {axis: -1}}
"""


def hand_loop(mx, case, inputs, calls: int) -> float:
    """The loop a user writes: arrays made once, call, eval, perf_counter around both."""
    fn = getattr(mx, case.op)
    args = [mx.array(i.base) for i in inputs]
    mx.eval(*args)
    kwargs = dict(case.params)
    for _ in range(3):
        mx.eval(fn(*args, **kwargs))
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        mx.eval(fn(*args, **kwargs))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(rounds: int, calls: int) -> int:
    import mlx.core as mx

    from mlxport.backends.mlx_backend import MLXTarget
    from mlxport.bench.harness import bench_cell
    from mlxport.bench.timing import Budget
    from mlxport.catalog import load_file
    from mlxport.inputs import generate
    from mlxport.runner import golden, prepare_environment

    prepare_environment()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.yaml"
        path.write_text(textwrap.dedent(CASES))
        cases = load_file(path)
    target, budget, worst = MLXTarget("cpu"), Budget(), 0.0
    print(f"{'case':44} {'harness':>9} {'hand loop':>9} {'ratio':>6}  per-round ratios ({rounds} rounds)")
    for case in cases:
        inputs = generate(case)
        expected = golden(case, inputs)
        harness, loop = [], []
        for _ in range(rounds):
            timing = bench_cell(target, case, inputs, expected, budget)
            assert timing.validated, timing.message
            harness.append(timing.samples.median)
            loop.append(hand_loop(mx, case, inputs, calls))
        ratios = [h / l for h, l in zip(harness, loop)]
        ratio = statistics.median(ratios)
        worst = max(worst, abs(ratio - 1))
        print(f"{case.id:44} {statistics.median(harness) * 1e3:7.3f}ms {statistics.median(loop) * 1e3:7.3f}ms "
              f"{ratio:6.3f}  {' '.join(f'{r:.2f}' for r in ratios)}")
    verdict = "PASS" if worst <= 0.05 else "FAIL"
    print(f"{verdict}: the largest difference is {100 * worst:.1f}% (limit 5%)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30)
    options = parser.parse_args()
    raise SystemExit(main(options.rounds, options.calls))
