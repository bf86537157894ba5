"""Targets: discovery through entry points, unsupported ops, MLX's not-implemented family."""

from __future__ import annotations

import pytest

from mlxport.backends import Target, discover
from mlxport.backends.mlx_backend import FLOAT64_ON_GPU, MLXTarget
from mlxport.backends.numpy_backend import NumpyTarget
from mlxport.catalog import load_file
from mlxport.check import Selection, select_cases
from mlxport.inputs import generate
from mlxport.model import CellResult, Status
from mlxport.runner import golden, run, run_cell

pytest.importorskip("mlx.core")

CASES = """
category: test
ops:
  - op: sin
    dtypes: [float32, float64]
    shapes: ["(3,4)"]
  - op: cos
    dtypes: [float32]
    shapes: ["(3,4)"]
"""


class WithoutSin(MLXTarget):
    """MLX's CPU target whose op table lacks sin: a backend with porting debt."""

    def function(self, op):
        return None if op == "sin" else super().function(op)


@pytest.fixture
def cases(case_dir):
    return load_file(case_dir("t.yaml", CASES) / "t.yaml")


def test_builtin_targets_register_through_the_entry_point_group():
    names = [t.name for t in discover()]
    assert names[:3] == ["numpy:cpu", "mlx:cpu", "mlx:gpu"]


def test_an_op_missing_from_the_table_is_unsupported(cases):
    results = {r.case: r for r in run(cases, [WithoutSin("cpu")])}
    assert results["sin[float32,(3,4)]"].status is Status.UNSUPPORTED
    assert results["sin[float32,(3,4)]"].message == "[sin] not in mlx:cpu's op table"
    assert results["cos[float32,(3,4)]"].status is Status.PASS


@pytest.mark.parametrize("message", [
    "[QRF::eval_gpu] QRF has no CUDA implementation.",
    "Primitive Foo has no GPU implementation",
    "[linalg::qr] This op is not yet supported on the GPU. Explicitly pass a CPU stream to run it.",
    "[Eigh::eval_gpu] NYI",
    "[quantized_matmul] No implementation for problem shape.",
    "[Eig::eval_cpu] only supports float32.",  # MLX before 0.30.1: float64 and complex64 eig
])
def test_mlx_not_implemented_family_is_unsupported(message):
    assert Target("x").classify(RuntimeError(message)) is Status.UNSUPPORTED


@pytest.mark.parametrize("message", ["[matmul] Last dimension of first input mismatch", "out of memory"])
def test_other_exceptions_are_errors(message):
    assert Target("x").classify(ValueError(message)) is Status.ERROR


def test_an_exception_in_the_op_is_an_error_with_its_message(cases):
    class Broken(MLXTarget):
        def function(self, op):
            def fail(*args, **kwargs):
                raise ValueError("[sin] broken on purpose\nsecond line")
            return fail

    case = cases[0]
    cell = run_cell(Broken("cpu"), case, generate(case), golden(case, generate(case)))
    assert cell.status is Status.ERROR
    assert cell.message == "[sin] ValueError: [sin] broken on purpose second line"


def test_float64_on_an_mlx_gpu_is_skipped_by_design(cases):
    gpu, cpu = MLXTarget("gpu"), MLXTarget("cpu")
    f64 = next(c for c in cases if c.dtype == "float64")
    assert gpu.skip_reason(f64) == FLOAT64_ON_GPU and cpu.skip_reason(f64) is None
    assert gpu.skip_reason(cases[0]) is None


def test_the_gpu_target_says_why_it_is_unavailable():
    info = MLXTarget("gpu").probe()
    import mlx.core as mx

    assert info.available == mx.is_available(mx.gpu)
    assert info.available or "no GPU backend" in info.reason


def test_params_can_be_positional_before_or_after_the_arrays(case_dir):
    text = """
    category: test
    ops:
      - op: einsum
        dtypes: [float32]
        shapes: ["(3,4) (4,5)"]
        params: {subscripts: "ij,jk->ik"}
        positional: [subscripts, arrays]
        tolerance: {atol: 1e-5}
      - op: tile
        dtypes: [int16]
        shapes: ["(2,3)"]
        params: {reps: [2, 1]}
        positional: [arrays, reps]
    """
    cases = load_file(case_dir("p.yaml", text) / "p.yaml")
    assert [r.status for r in run(cases, [MLXTarget("cpu")])] == [Status.PASS, Status.PASS]


# A primitive that every cell of the op needs on mlx:cpu, as MLX names it in a graph.
NEEDS = {"cumsum": "CumSum", "linalg.qr": "QRF", "quantized_matmul": "QuantizedMatmul", "argmax": "ArgReduce",
         "gather_mm": "GatherMM"}


@pytest.mark.parametrize("op,primitive", NEEDS.items())
def test_each_mlx_cell_records_the_primitives_of_its_graph(op, primitive):
    # float16 gather_mm is unsupported on the CPU: its graph was taken before the eval that refused it.
    cases = select_cases(Selection(ops=(op,), dtypes=("float16" if op == "gather_mm" else "float32",)))[:4]
    results = list(run(cases, [MLXTarget("cpu")]))
    assert all(primitive in r.primitives for r in results), [(r.case, r.primitives) for r in results]
    assert op != "gather_mm" or {r.status for r in results} == {Status.UNSUPPORTED}
    assert CellResult.from_json(results[0].to_json()) == results[0]


def test_the_views_and_casts_that_pass_the_inputs_are_not_the_ops_primitives():
    ids = ["add[float32,(33,65)x(33,65)]", "add[bfloat16,(33,65)x(33,65)]", "add[float16,(16,33)x(16,33),transposed]",
           "add[float32,(16,33)x(16,33),strided]"]
    cases = select_cases(Selection(ops=tuple(ids)))
    assert {r.case: r.primitives for r in run(cases, [MLXTarget("cpu")])} == dict.fromkeys(ids, ("Add",))
    assert {r.primitives for r in run(cases, [NumpyTarget("cpu")])} == {None}  # no graph off MLX
