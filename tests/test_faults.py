"""Device faults: a poisoned device costs the cell that poisoned it, a hang costs a bounded time,
and neither changes any other cell. The faults are injected into the real MLX (faulty_backend)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import faulty_backend
from mlxport.bench.run import BenchOptions, Plan, execute
from mlxport.bench.timing import Budget
from mlxport.catalog import load_file
from mlxport.check import Selection, select_cases
from mlxport.limits import FACTOR, FLOOR, STRIKES, Limit, Limits
from mlxport.model import InputError, Status
from mlxport.pool import Pool, run_isolated

pytest.importorskip("mlx.core")

TESTS = Path(__file__).parent


def _run(cases, targets, timeout: float = 60.0, jobs: int = 1) -> dict:
    """Every cell of ``cases`` on the one target, as {case id: result}; each exactly once."""
    got = {}
    run_isolated([(c, targets[0]) for c in cases], targets, jobs, timeout,
                 lambda index, result: got.setdefault(result.case, []).append(result))
    assert sorted(got) == sorted(c.id for c in cases) and all(len(r) == 1 for r in got.values())
    return {case: results[0] for case, results in got.items()}


@pytest.fixture(scope="module")
def small():
    """exp, sort and add in two dtypes: sort's cells interleave with the others' in the queue."""
    return select_cases(Selection(ops=("exp", "sort", "add"), dtypes=("float32", "int32")))


@pytest.fixture(scope="module")
def clean(small):
    from mlxport.backends.mlx_backend import MLXTarget

    target = MLXTarget("cpu")
    target.spec = "mlxport.backends.mlx_backend:targets"
    return _run(small, [target])


@pytest.mark.parametrize("factory", ["poisoned_targets", "oddly_poisoned_targets"])
def test_a_poisoned_device_costs_only_the_cells_that_poison_it(small, clean, factory):
    poisoned = _run(small, getattr(faulty_backend, factory)())
    for case, result in poisoned.items():
        if result.op == "sort":
            assert result.status == Status.CRASH, result.message
            assert "the device context was lost: after this cell the canary failed" in result.message
            assert "its worker was replaced" in result.message
        else:  # cells sent ahead to a poisoned worker ran again in a fresh one, as in a clean run
            assert (result.status, result.max_ulp) == (clean[case].status, clean[case].max_ulp), result.message
    assert sum(r.op == "sort" for r in poisoned.values()) >= 4


def test_a_canary_that_fails_from_the_start_is_no_witness(case_dir):
    cases = load_file(case_dir("f.yaml", """
        category: test
        ops:
          - {op: sqrt, dtypes: [float32], shapes: ["(3,4)"], inputs: [{domain: [0, 2]}]}
          - {op: exp, dtypes: [float32], shapes: ["(3,4)"], out: inexact}
        """) / "f.yaml")
    got = _run(cases, faulty_backend.unwell_targets())
    assert [got[c.id].status for c in cases] == [Status.ERROR, Status.PASS]
    assert "canary" not in got[cases[0].id].message


CASES = """
category: test
ops:
  - {op: exp, dtypes: [float32], shapes: ["(3,4)"], out: inexact}
  - {op: arctan, dtypes: [float32], shapes: ["(8,)", "(9,)", "(10,)", "(3,)", "(11,)"], out: inexact}
  - {op: exp, dtypes: [float16], shapes: ["(5,)"], out: inexact}
"""


def test_hangs_cost_a_short_limit_after_two_in_a_row_and_a_pass_restores_it(case_dir):
    cases = load_file(case_dir("f.yaml", CASES) / "f.yaml")
    got = _run(cases, faulty_backend.targets(), timeout=2.0)
    arctan = [got[c.id] for c in cases if c.op == "arctan"]  # it hangs on more than 4 elements
    assert [r.status for r in arctan] == [Status.TIMEOUT] * 3 + [Status.PASS, Status.TIMEOUT]
    assert all(r.message.startswith("[arctan] did not finish within 2 s; worker killed") for r in arctan[:2])
    assert arctan[2].message.startswith(f"[arctan] did not finish within {FLOOR:g} s (the limit was shortened "
                                        "from 2 s after 2 timeouts in a row of arctan on faulty:cpu: 10x the "
                                        "slowest passing cell on faulty:cpu ("), arctan[2].message
    assert arctan[4].message.startswith("[arctan] did not finish within 2 s; worker killed")  # the pass restored it
    assert [got[c.id].status for c in cases if c.op == "exp"] == [Status.PASS, Status.PASS]


def test_a_case_may_set_a_shorter_limit_of_its_own(case_dir):
    cases = load_file(case_dir("f.yaml", """
        category: test
        ops:
          - {op: tan, dtypes: [float32], shapes: ["(2,)"], timeout: 0.5}
        """) / "f.yaml")
    [result] = _run(cases, faulty_backend.targets(), timeout=30.0).values()
    assert result.status == Status.TIMEOUT
    assert result.message.startswith("[tan] did not finish within 0.5 s (the case's own limit")


def test_repeat_runs_the_call_that_many_times_in_the_cell(case_dir):
    cases = load_file(case_dir("f.yaml", """
        category: test
        ops:
          - {op: arcsin, dtypes: [float32], shapes: ["(3,)"], inputs: [{domain: [-1, 1]}]}
          - {op: arcsin, dtypes: [float32], shapes: ["(4,)"], inputs: [{domain: [-1, 1]}], repeat: 2}
          - {op: arcsin, dtypes: [float32], shapes: ["(5,)"], inputs: [{domain: [-1, 1]}], repeat: 2}
        """) / "f.yaml")  # arcsin hangs from its third call in a process on: the last runs in a new worker
    got = _run(cases, faulty_backend.targets(), timeout=2.0)
    assert [got[c.id].status for c in cases] == [Status.PASS, Status.TIMEOUT, Status.PASS]


@pytest.mark.parametrize("attempts,status,processes", [
    ('{"faulty:*": 5}', Status.TIMEOUT, 3), ('{"faulty:*": 2}', Status.PASS, 2), ('{"mlx:*": 5}', Status.PASS, 1)])
def test_attempts_run_a_cell_in_new_processes_until_one_fails(case_dir, tmp_path, attempts, status, processes):
    [case] = load_file(case_dir("f.yaml", f"""
        category: test
        ops:
          - {{op: arccos, dtypes: [float32], shapes: ["(3,)"], inputs: [{{domain: [-1, 1]}}], attempts: {attempts}}}
        """) / "f.yaml")  # arccos hangs in the third process that calls it, and from then on
    log = tmp_path / "attempts.log"
    targets = faulty_backend.targets()
    [(_, result)] = Pool(targets, 1, 2.0, env={"ATTEMPTS_LOG": str(log)}).run([(case, targets[0])])
    pids = log.read_text().split()
    assert result.status == status and len(pids) == len(set(pids)) == processes
    if status == Status.TIMEOUT:
        assert result.message.endswith("(in attempt 3 of 5, each in a new process)")


@pytest.mark.parametrize("factory,order,regular", [
    ("targets", ["exp", "log", "tan"], 1), ("gpu_targets", ["exp", "tan", "log"], 2)])
def test_a_cell_with_attempts_runs_beside_the_cpu_worker_and_instead_of_a_gpu_one(case_dir, factory, order, regular):
    cases = load_file(case_dir("f.yaml", """
        category: test
        ops:
          - {op: exp, dtypes: [float32], shapes: ["(3,)"]}
          - {op: tan, dtypes: [float32], shapes: ["(3,)"], timeout: 2, attempts: {"faulty:*": 1}}
          - {op: log, dtypes: [float32], shapes: ["(3,)"]}
        """) / "f.yaml")  # tan hangs
    targets = getattr(faulty_backend, factory)()
    pool, done, pids = Pool(targets, 1, 60.0), [], set()
    for _, result in pool.run([(case, targets[0]) for case in cases]):
        done.append(result.op)
        pids |= {w.process.pid for w in pool.workers if not w.alone}
    # On the CPU, log runs while tan hangs, in the worker that ran exp; a GPU runs one process at a time.
    assert done == order and len(pids) == regular


def test_limits_learn_from_the_cells_that_finish(case_dir):
    [case] = load_file(case_dir("f.yaml", "category: t\nops:\n  - {op: exp, dtypes: [float32], shapes: ['(3,)']}\n")
                       / "f.yaml")
    limits = Limits(30.0)
    limits.record(case, "t:cpu", Status.PASS, 0.5)
    for _ in range(STRIKES):
        assert limits.limit(case, "t:cpu") == Limit(30.0)
        limits.record(case, "t:cpu", Status.TIMEOUT, 30.0)
    assert limits.limit(case, "t:cpu").seconds == FACTOR * 0.5
    assert limits.limit(case, "other:cpu") == Limit(30.0)  # per target
    limits.record(case, "t:cpu", Status.CRASH, 0.1)  # only a pass restores the limit
    assert limits.limit(case, "t:cpu").seconds == FACTOR * 0.5
    limits.record(case, "t:cpu", Status.PASS, 3.5)
    assert limits.limit(case, "t:cpu") == Limit(30.0)
    for _ in range(STRIKES):
        limits.record(case, "t:cpu", Status.TIMEOUT, 30.0)
    assert limits.limit(case, "t:cpu") == Limit(30.0)  # 10x the slowest pass, 35 s, is no shorter


@pytest.mark.parametrize("field,value,message", [
    ("timeout", "0", "field 'timeout': a number of seconds > 0"),
    ("timeout", "soon", "field 'timeout': a number of seconds > 0"),
    ("repeat", "0", "field 'repeat': an integer from 1 to 1000"),
    ("repeat", "2.5", "field 'repeat': an integer from 1 to 1000"),
    ("attempts", "3", "field 'attempts': a mapping of target glob to an integer from 1 to 100"),
    ("attempts", "{'mlx:*': 0}", "field 'attempts': a mapping of target glob to an integer from 1 to 100"),
])
def test_bad_timeout_and_repeat_fields_name_the_field(case_dir, field, value, message):
    folder = case_dir("f.yaml", f"category: t\nops:\n  - {{op: exp, dtypes: [float32], shapes: ['(3,)'], {field}: {value}}}\n")
    with pytest.raises(InputError, match=f"f.yaml:3: exp: {message}"):
        load_file(folder / "f.yaml")


def test_ops_that_crash_abort_or_hang_in_every_cell_leave_the_others_as_in_a_clean_run(clean, small):
    cases = select_cases(Selection(ops=("exp", "sort", "add", "cumsum", "tanh"), dtypes=("float32",)))
    got = _run(cases, faulty_backend.faulty_mlx_targets(), timeout=2.0, jobs=2)
    expected = {"sort": (Status.CRASH, "SIGSEGV"), "cumsum": (Status.CRASH, "SIGABRT"),
                "tanh": (Status.TIMEOUT, "did not finish")}
    for case, result in got.items():
        if result.op in expected:
            status, words = expected[result.op]
            assert result.status == status and words in result.message, result.message
        else:
            assert result.status == clean[case].status, result.message
    assert sum("shortened" in r.message for r in got.values() if r.op == "tanh") >= 1


def test_a_cell_whose_evaluation_kills_or_hangs_its_worker_still_names_its_primitives():
    cases = [c for op in ("cumsum", "argmax", "sort", "exp")
             for c in select_cases(Selection(ops=(op,), dtypes=("float32",)))[:2]]
    got = _run(cases, faulty_backend.dying_eval_targets(), timeout=2.0)
    # The worker noted each graph before it evaluated it, and died (or was killed) in the eval.
    expected = {"cumsum": (Status.CRASH, "SIGSEGV", "CumSum"), "argmax": (Status.CRASH, "SIGABRT", "ArgReduce"),
                "sort": (Status.TIMEOUT, "did not finish", "Sort"), "exp": (Status.PASS, None, "Exp")}
    for result in got.values():
        status, words, primitive = expected[result.op]
        assert result.status == status and (words is None or words in result.message), result.message
        assert primitive in result.primitives, (result.case, result.primitives)


def test_bench_replaces_a_poisoned_worker_too():
    cases = select_cases(Selection(ops=("sort", "exp"), dtypes=("float32",)))
    cases = [c for c in cases if c.op == "sort"][:1] + [c for c in cases if c.op == "exp"][:1]
    targets = faulty_backend.poisoned_targets()
    tiny = Budget(warmup_s=0.0, min_s=0.01, max_s=0.05, min_samples=3, rel_spread=0.5)
    doc = execute(Plan(cases, targets, [t.probe() for t in targets]), BenchOptions(budget=tiny, processes=1))
    records = {r["op"]: r for r in doc["results"]}
    assert records["sort"]["status"] == "crash" and not records["sort"]["validated"]
    assert "the device context was lost" in records["sort"]["message"]
    assert records["exp"]["status"] == "pass" and records["exp"]["validated"]


DRIVER = """
import mmap, os, tempfile
path = os.path.join(tempfile.mkdtemp(), "libcuda.so.1")
with open(path, "wb") as f:
    f.write(bytes(4096))
with open(path, "rb") as f:
    MAPPED = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)  # in /proc/self/maps, as a loaded driver is
"""

TARGET = """
import sys
sys.path.insert(0, {tests!r})
import faulty_backend

class Target(faulty_backend.FaultyTarget):
    preload = ("preloaded",)

def targets():
    target = Target("cpu")
    target.spec = "faults_here:targets"
    return [target]
"""

POOL = """
from pathlib import Path

import faults_here
from mlxport import processes
from mlxport.catalog import load_file
from mlxport.pool import Pool, run_isolated

targets = faults_here.targets()
got = []
run_isolated([(c, targets[0]) for c in load_file(Path({cases!r}))], targets, 1, 60.0,
             lambda index, result: got.append(result.status.value))
print(processes.context().get_start_method(), got, processes.refused(), sep="|")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork from a fork server on Linux only")
@pytest.mark.parametrize("driver", [False, True])
def test_a_worker_forked_from_a_server_holding_a_gpu_driver_refuses_and_workers_spawn(tmp_path, case_dir, driver):
    (tmp_path / "preloaded.py").write_text(DRIVER if driver else "")
    (tmp_path / "faults_here.py").write_text(TARGET.format(tests=str(TESTS)))
    folder = case_dir("f.yaml", "category: test\nops:\n"
                                "  - {op: exp, dtypes: [float32, float64], shapes: ['(3,)'], out: inexact}\n")
    proc = subprocess.run([sys.executable, "-c", POOL.format(cases=str(folder / "f.yaml"))], capture_output=True,
                          text=True, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    method, statuses, why = proc.stdout.strip().split("|")
    assert statuses == "['pass', 'pass']"  # the cells ran, forked or spawned
    if driver:
        assert method == "spawn" and why.startswith("its fork server had loaded the GPU driver /")
        assert why.endswith("libcuda.so.1")
    else:
        assert (method, why) == ("forkserver", "None")
