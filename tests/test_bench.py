"""The bench harness on real targets: validation before and after timing, untimed cells, the
missing-sync self-test, worker processes. Budgets are tiny; no real speed is asserted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlxport.backends.mlx_backend import MLXTarget
from mlxport.backends.numpy_backend import NumpyTarget
from mlxport.bench import benchfile
from mlxport.bench.harness import bench_cell, probe
from mlxport.bench.run import BenchOptions, _merge, _one_process, bench_files, trusted
from mlxport.bench.timing import Budget
from mlxport.catalog import load_file
from mlxport.inputs import generate
from mlxport.model import InputError
from mlxport.runner import golden

SMOKE = Path(__file__).parent / "data" / "bench" / "smoke.yaml"
TINY = Budget(warmup_s=0.0, min_s=0.02, max_s=0.2, min_samples=3, rel_spread=0.5)


def smoke(op: str):
    return next(c for c in load_file(SMOKE) if c.op == op)


def cell(target, case, budget=TINY):
    inputs = generate(case)
    return bench_cell(target, case, inputs, golden(case, inputs), budget)


class NoSyncMLX(MLXTarget):
    """Real MLX with the harness's sync deliberately broken: MLX is lazy, so nothing runs."""

    def sync(self, outputs) -> None:
        pass


class DriftingNumpy(NumpyTarget):
    """numpy whose op turns wrong after its third call, as a kernel with a race can."""

    is_reference = False

    def function(self, op):
        fn, calls = super().function(op), []

        def drifting(*args, **kwargs):
            calls.append(1)
            out = fn(*args, **kwargs)
            return out if len(calls) <= 3 else out + 1

        return drifting


def test_a_validated_cell_is_timed_with_first_call_and_allocation_apart():
    timing = cell(MLXTarget("cpu"), smoke("add"))
    assert (timing.status, timing.validated, timing.message) == ("pass", True, None)
    assert timing.samples.samples >= TINY.min_samples and timing.samples.first_call_s > 0
    assert timing.alloc is not None and timing.alloc.samples >= TINY.min_samples  # MLX: cache off too
    assert cell(NumpyTarget("cpu"), smoke("add")).alloc is None  # numpy has no cache to control


def test_a_cell_that_does_not_pass_is_not_timed(case_dir):
    folder = case_dir("wrong.yaml", """
        category: binary
        ops:
          - {op: add, dtypes: [float32], shapes: ["(64,64) (64,64)"], out: float16}
        """)
    [case] = load_file(folder / "wrong.yaml")
    timing = cell(MLXTarget("cpu"), case)
    assert (timing.status, timing.validated, timing.samples) == ("mismatch", False, None)
    assert "dtype" in timing.message


# exp on MLX's CPU at rtol 1e-7: 25 of the 1000 float32 results are 1 ulp off our rounded golden,
# and MLX's float64 exp (which it evaluates in float32) gives exactly them: they pass only on the
# float64 re-check. ``check`` passes the cell; bench must validate it, not call it a mismatch.
RECHECKED = """
    category: unary
    ops:
      - {op: exp, dtypes: [float32], shapes: ["(1000,)"], inputs: [{domain: [-1, 1]}], tolerance: {rtol: 1e-7, atol: 0}}
    """


def test_bench_and_check_judge_a_cell_alike(case_dir):
    from mlxport.runner import run_cell

    [case] = load_file(case_dir("recheck.yaml", RECHECKED) / "recheck.yaml")
    inputs = generate(case)
    checked = run_cell(MLXTarget("cpu"), case, inputs, golden(case, inputs))
    assert checked.status.value == "pass" and "passed on the float64 re-check" in checked.message
    timing = cell(MLXTarget("cpu"), case)
    assert (timing.status, timing.validated, timing.message) == ("pass", True, None), timing.message
    assert timing.samples.samples >= TINY.min_samples


def test_an_unsupported_cell_is_not_timed():
    case = next(c for c in load_file(Path(__file__).parents[1] / "cases" / "random.yaml"))
    timing = cell(NumpyTarget("cpu"), case)  # the numpy target has no samplers
    assert (timing.status, timing.validated, timing.samples) == ("unsupported", False, None)


def test_a_cell_is_validated_again_after_timing():
    timing = cell(DriftingNumpy("cpu"), smoke("add"))
    assert (timing.status, timing.validated) == ("mismatch", False)
    assert timing.message.startswith("after timing:")
    merged = _merge(smoke("add"), "numpy:cpu", [timing])
    record = benchfile.record(merged, [merged], {})
    assert (record["validated"], record["median_s"], record["samples"]) == (False, None, 0)


def test_the_self_test_catches_a_target_whose_sync_does_not_wait():
    broken = probe(NoSyncMLX("cpu"))
    assert broken.problem() is not None
    with pytest.raises(InputError, match="mlx:cpu: harness self-test failed: .* refusing to report"):
        trusted("mlx:cpu", broken)
    honest = probe(MLXTarget("cpu"))
    assert honest.problem() is None and trusted("mlx:cpu", honest) == honest.floor_s > 0


def test_a_worker_that_crashes_costs_its_cell_only(case_dir):
    from faulty_backend import targets as faulty_targets

    folder = case_dir("faulty.yaml", """
        category: unary
        ops:
          - {op: sin, dtypes: [float32], shapes: ["(64,64)"]}
          - {op: exp, dtypes: [float32], shapes: ["(64,64)"]}
        """)
    cases = load_file(folder / "faulty.yaml")
    [target] = faulty_targets()
    timings = list(_one_process(target, cases, BenchOptions(budget=TINY, timeout=60)))
    assert [(t.case, t.status, t.validated) for t in timings] == [
        (cases[0].id, "crash", False), (cases[1].id, "pass", True)]
    assert timings[1].probe is None  # the faulty target has no add: no floor, no self-test


def test_peaks_and_declared_costs_give_rates_and_percent_of_peak():
    times = tuple(np.linspace(0.9e-3, 1.1e-3, 21))
    a = benchfile.BenchCell("c", "add", "float32", "mlx:cpu", "pass", True, times=times, first_call_s=0.01,
                            processes=2, bytes=2_000_000, flops=1_000_000)
    b = benchfile.BenchCell("c", "add", "float32", "numpy:cpu", "pass", True, times=tuple(2 * t for t in times),
                            first_call_s=0.01, processes=2)
    peaks = {"mlx:cpu": {"bandwidth_gbps": 4.0, "flops_gflops": 10.0, "method": "test"}}
    record = benchfile.record(a, [a, b], peaks)
    assert record["median_s"] == pytest.approx(1e-3)
    assert (record["gbps"], record["gflops"]) == pytest.approx((2.0, 1.0))
    assert (record["pct_peak_bw"], record["pct_peak_flops"]) == pytest.approx((50.0, 10.0))
    assert record["speedup"] == {"numpy:cpu": pytest.approx(2.0)}
    other = benchfile.record(b, [a, b], peaks)
    assert (other["gbps"], other["pct_peak_bw"]) == (None, None)
    assert other["speedup"] == {"mlx:cpu": pytest.approx(0.5)}


def test_percent_of_peak_is_against_the_best_calibration_on_the_device():
    peaks = {"mlx:cpu": {"bandwidth_gbps": 4.0, "flops_gflops": 10.0},
             "numpy:cpu": {"bandwidth_gbps": 8.0, "flops_gflops": 5.0},
             "torch:cuda": {"bandwidth_gbps": 3000.0, "flops_gflops": 50000.0}}
    device = benchfile.device_peaks(peaks)
    assert device["mlx:cpu"] == device["numpy:cpu"] == {
        "bandwidth_gbps": 8.0, "bandwidth_from": "numpy:cpu", "flops_gflops": 10.0, "flops_from": "mlx:cpu"}
    assert device["torch:cuda"]["bandwidth_gbps"] == 3000.0  # a GPU is not the CPU's device
    times = (1e-3,) * 5
    cell = benchfile.BenchCell("c", "add", "float32", "mlx:cpu", "pass", True, times=times, first_call_s=0.01,
                               processes=2, bytes=2_000_000)
    doc = benchfile.document([cell], [], peaks=peaks)
    assert doc["results"][0]["pct_peak_bw"] == pytest.approx(25.0)  # 2 GB/s of numpy's 8, not of mlx's own 4
    doc["results"][0]["pct_peak_bw"] = 50.0  # as a file written against mlx's own peak would say
    assert benchfile.apply_peaks(doc)["results"][0]["pct_peak_bw"] == pytest.approx(25.0)


def test_the_table_states_only_significant_ratios_and_colours_by_ratio_to_best():
    from rich.console import Console

    from mlxport.bench import report
    from mlxport.model import TargetInfo

    times = tuple(np.linspace(0.95e-3, 1.05e-3, 21))  # IQR/median 5%: no noise mark

    def timed(target, scale):
        return benchfile.BenchCell("c[x]", "add", "float32", target, "pass", True,
                                   times=tuple(scale * t for t in times), first_call_s=0.01, processes=2)

    cells = [timed("a:cpu", 1.0), timed("b:cpu", 3.0), timed("c:cpu", 1.02),
             benchfile.BenchCell("c[x]", "add", "float32", "d:cpu", "mismatch", False, "values differ")]
    infos = [TargetInfo(name, name[0], "cpu", True) for name in ("a:cpu", "b:cpu", "c:cpu", "d:cpu")]
    doc = benchfile.document(cells, infos, floors={"a:cpu": 1e-6}, processes=2)
    console = Console(record=True, width=200)
    report.print_bench(console, doc)
    text = console.export_text()
    assert "c[x]" in text and "1 ms best" in text and "3 ms x3.00" in text and "1.02 ms ≈" in text
    assert "mismatch" in text and "a:cpu 1 us" in text and "b:cpu n/a" in text
    best, *_ = doc["results"]
    styles = [report._cell(r, best).style for r in doc["results"]]
    assert styles == ["bold green", "red", "green", "red"]


def test_bench_times_numpy_as_a_peer_by_default():
    from mlxport.bench.run import plan
    from mlxport.check import Selection

    chosen = plan(Selection(case_dirs=(SMOKE.parent,)))
    assert {"numpy:cpu", "mlx:cpu"} <= {t.name for t in chosen.targets}


def test_no_ratio_between_targets_from_a_single_process():
    times = tuple(np.linspace(0.95e-3, 1.05e-3, 21))
    a = benchfile.BenchCell("c", "add", "float32", "a:cpu", "pass", True, times=times, processes=1)
    b = benchfile.BenchCell("c", "add", "float32", "b:cpu", "pass", True, times=tuple(3 * t for t in times),
                            processes=2)
    assert benchfile.speedup(a, b) is None and benchfile.speedup(b, a) is None
    assert benchfile.speedup(benchfile.BenchCell(**{**a.__dict__, "processes": 2}), b) == pytest.approx(3.0)


@pytest.mark.parametrize("processes,scale,n,mark", [
    (1, 7.0, 21, "?"),  # 7x apart, but one process each: cannot tell
    (2, 7.0, 3, "?"),  # 3 and 3 samples: no difference can reach p < 0.002
    (2, 1.02, 21, "≈"),  # enough of both: no significant difference
    (2, 7.0, 21, "7.00"),
])
def test_an_unstated_ratio_says_whether_the_data_could_tell(processes, scale, n, mark):
    from rich.console import Console

    from mlxport.bench import matrix, report
    from mlxport.model import TargetInfo

    times = tuple(np.linspace(0.95e-3, 1.05e-3, n))
    cells = [benchfile.BenchCell("c[x]", "add", "float32", name, "pass", True, times=tuple(s * t for t in times),
                                 first_call_s=0.01, processes=processes)
             for name, s in (("mlx:cpu", 1.0), ("b:cpu", scale))]
    doc = benchfile.document(cells, [TargetInfo(c.target, "f", "cpu", True) for c in cells], processes=processes)
    console = Console(record=True, width=200)
    report.print_bench(console, doc)
    row = next(line for line in console.export_text().splitlines() if "c[x]" in line)
    assert row.rstrip(" │").endswith(mark if mark != "7.00" else "x7.00")
    assert matrix.markdown(doc).splitlines()[-2].endswith(f" | {mark}{'×' * (mark == '7.00')} |")


def test_crashing_and_hanging_cells_become_records_and_the_run_goes_on(case_dir, tmp_path):
    from faulty_backend import targets as faulty_targets
    from mlxport.bench.run import Plan, execute

    folder = case_dir("faulty.yaml", """
        category: unary
        ops:
          - {op: sin, dtypes: [float32], shapes: ["(64,64)"]}
          - {op: tan, dtypes: [float32], shapes: ["(64,64)"]}
          - {op: exp, dtypes: [float32], shapes: ["(64,64)"]}
        """)
    cases = load_file(folder / "faulty.yaml")
    targets = faulty_targets()
    keep = tmp_path / "kept.json"
    doc = execute(Plan(cases, targets, [t.probe() for t in targets]),
                  BenchOptions(budget=TINY, processes=1, timeout=2.0), keep=keep)
    records = {r["case"]: r for r in doc["results"]}
    assert [(records[c.id]["status"], records[c.id]["validated"]) for c in cases] == [
        ("crash", False), ("timeout", False), ("pass", True)]
    assert "[sin]" in records[cases[0].id]["message"] and "SIGSEGV" in records[cases[0].id]["message"]
    assert "[tan] did not finish within 2 s" in records[cases[1].id]["message"]
    kept = benchfile.load(keep)  # rewritten as each cell finished: the last write had all three
    assert kept["complete"] is False and [r["status"] for r in kept["results"]] == ["crash", "timeout", "pass"]


def test_a_sample_floor_the_timeout_cannot_afford_ends_as_a_timeout():
    floor = Budget(warmup_s=0.0, min_s=0.0, max_s=0.01, min_samples=10**9, rel_spread=0.5)
    from mlxport.backends import discover

    numpy_cpu = next(t for t in discover() if t.name == "numpy:cpu")  # with its spec: a worker loads it
    [timing] = _one_process(numpy_cpu, [smoke("add")], BenchOptions(budget=floor, timeout=1.5))
    assert (timing.status, timing.validated) == ("timeout", False)  # max_s did not cut the floor
    assert "did not finish within 1.5 s" in timing.message


def test_bench_files_leave_out_the_lists_beside_the_cases(tmp_path):
    for name in ("ops.yaml", "not-applicable.yaml", "dtype-limits.yaml"):
        (tmp_path / name).write_text("{}\n")
    files = bench_files((tmp_path,))
    assert tmp_path / "ops.yaml" in files
    assert not [f for f in files if f.name in ("not-applicable.yaml", "dtype-limits.yaml")]
