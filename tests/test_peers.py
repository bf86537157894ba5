"""The peer targets: torch (torch:cpu for real) and the cupy adapter, whose array-namespace part
runs here with numpy as the namespace. Each runs a representative part of the built-in catalog
and must pass it, or fail only where the case data records why (a known divergence) or where
the framework itself says it lacks the op or dtype (porting debt)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from mlxport import dtypes as dt
from mlxport.backends.cupy_backend import NO_BFLOAT16, CupyTarget
from mlxport.catalog import load_files
from mlxport.check import case_files
from mlxport.model import Case, Status
from mlxport.runner import run

# One or two ops of each family, all their cases: every dtype (float16 and bfloat16 included),
# special values, empty and 0-d inputs, transposed and strided views.
OPS = ("exp", "add", "sum", "argmax", "softmax", "matmul", "fast.rms_norm", "conv2d", "argsort", "take",
       "cumsum", "transpose", "where", "fft.rfft", "linalg.qr", "pad", "sign", "random.uniform")


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    # without the long rows (20000, 70000 elements), which test speed more than semantics
    return [c for c in load_files(case_files(())) if c.op in OPS and "0000" not in c.id]


def _run(cases, target) -> list:
    cells = list(run(cases, [target]))
    unexplained = [f"{c.case}: {c.status.value} {c.message}" for c in cells
                   if c.status not in (Status.PASS, Status.SKIP, Status.UNSUPPORTED) and not c.known]
    assert not unexplained, "\n".join(unexplained[:20])
    not_ported = [c.case for c in cells if c.status is Status.UNSUPPORTED and "op table" in c.message]
    return cells, not_ported


def _passed(cells) -> list[str]:
    return [c.case for c in cells if c.status is Status.PASS]


def _covers_the_input_kinds(passed: list[str], dtypes: tuple[str, ...]) -> None:
    for word in dtypes + ("transposed", "strided", "special", "(0,4)", "()"):
        assert any(word in case for case in passed), f"no passing case with {word}"


def test_torch_cpu_passes_the_representative_cases(cases):
    torch = pytest.importorskip("torch")
    from mlxport.backends.torch_backend import TorchTarget

    cells, not_ported = _run(cases, TorchTarget("cpu"))
    assert not_ported == [] and len(cells) > 1500
    _covers_the_input_kinds(_passed(cells), ("float16", "bfloat16", "complex64", "uint8", "int64"))
    # torch lacks most ops on uint16/32/64: its own "not implemented for 'UInt32'" is porting debt.
    status = {c.case: c for c in cells}
    assert status["add[uint32,(33,65)x(33,65)]"].status is Status.UNSUPPORTED
    assert "not implemented for 'UInt32'" in status["add[uint32,(33,65)x(33,65)]"].message
    # MLX's conventions, ported: argmax gives uint32, a sum of int8 int32.
    assert status["argmax[float32,(33,65),axis=0]"].status is Status.PASS
    assert status["sum[int8,(33,65)]"].status is Status.PASS
    assert torch.__version__


def test_the_cupy_adapter_on_the_numpy_namespace_passes_the_representative_cases(cases):
    cells, not_ported = _run(cases, CupyTarget("numpy", xp=np))
    # What numpy lacks is also what the array-namespace part of the port lacks.
    assert set(c.split("[")[0] for c in not_ported) <= {"softmax", "fast.rms_norm", "conv2d"}
    _covers_the_input_kinds(_passed(cells), ("float16", "complex64", "uint32", "int64"))
    bf16 = [c for c in cells if c.dtype == "bfloat16" and "op table" not in c.message]
    assert bf16 and all(c.status is Status.UNSUPPORTED and NO_BFLOAT16 in c.message for c in bf16)


def test_an_op_missing_from_a_peer_table_is_unsupported():
    torch_target = pytest.importorskip("mlxport.backends.torch_backend").TorchTarget("cpu")
    case = next(c for c in load_files(case_files(())) if c.op == "hadamard_transform")  # neither has it
    for target in (torch_target, CupyTarget("numpy", xp=np)):
        assert target.function("no_such_op") is None
        [cell] = run([case], [target])
        assert cell.status is Status.UNSUPPORTED and cell.message == f"[hadamard_transform] not in {target.name}'s op table"
    # MLX's random ops take MLX's keys: never numpy.random.gumbel or the like by name.
    assert np.random.gumbel and CupyTarget("numpy", xp=np).function("random.gumbel") is None


def test_a_peer_ports_an_mlx_alias_as_its_original_and_namesakes_that_differ_with_mlx_semantics():
    # torch.concat, torch.empty (uninitialized), torch.allclose (a Python bool) and torch.unique
    # (no size) are not MLX's concat (= concatenate), empty (= zeros), allclose and unique.
    pytest.importorskip("torch")
    from mlxport.backends.torch_backend import TorchTarget

    ops = ("concat", "empty", "unique", "allclose")
    chosen = [c for c in load_files(case_files(())) if c.op in ops and c.dtype in ("float32", "int16", "complex64")]
    assert {c.op for c in chosen} == set(ops)
    for target in (TorchTarget("cpu"), CupyTarget("numpy", xp=np)):
        wanted = [c for c in chosen if c.op != "unique" or target.framework == "torch"]
        cells = list(run(wanted, [target]))
        assert [f"{c.case}: {c.message}" for c in cells if c.status is not Status.PASS] == []
        assert len(cells) == len(wanted) > 40


def test_devices_lists_the_peers_with_their_state():
    infos = {i["name"]: i for i in json.loads(run_cli("devices", "--json").stdout)}
    cupy_info, torch_info = infos["cupy:cuda"], infos["torch:cuda"]
    try:
        import cupy

        has_gpu = cupy.is_available()
        assert has_gpu or cupy_info["reason"].startswith("cupy is installed but no CUDA device is available (")
    except ImportError:
        assert cupy_info["reason"].startswith("cupy is not installed")
        has_gpu = False
    assert cupy_info["available"] == has_gpu
    torch = pytest.importorskip("torch")
    assert infos["torch:cpu"]["available"] and infos["torch:cpu"]["framework_version"] == torch.__version__
    assert torch_info["available"] == torch.cuda.is_available()
    assert torch_info["available"] or torch_info["reason"].startswith("CUDA is not available to torch (")


def test_bfloat16_keeps_its_bits_through_torch():
    pytest.importorskip("torch")
    from mlxport.backends.torch_backend import TorchTarget

    bits = np.array([0x7FC1, 0xFF80, 0x0001, 0x8000, 0x3F80], dtype=np.uint16)  # NaN payload, -inf, ...
    array = bits.view(dt.np_dtype("bfloat16"))
    target = TorchTarget("cpu")
    back = target.to_numpy(target.asarray(array))
    assert back.dtype == array.dtype and np.array_equal(back.view(np.uint16), bits)


def test_torch_takes_calls_as_programs_make_them():
    """Calls that mlxport trace records from real programs, not only the catalog's keyword form:
    a dtype passed by position, a sampler with no key (MLX's global generator)."""
    torch = pytest.importorskip("torch")
    from mlxport.backends.torch_backend import TorchTarget

    target = TorchTarget("cpu")
    zeros = target.function("zeros")((2, 3), target.param("dtype", "bfloat16"))
    assert zeros.dtype == torch.bfloat16 and tuple(zeros.shape) == (2, 3)
    sample = target.function("random.uniform")(low=-1.0, high=1.0, shape=(64,))
    assert tuple(sample.shape) == (64,) and bool(((sample >= -1) & (sample < 1)).all())
