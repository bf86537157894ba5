"""mlxport's CUDA kernels without a GPU: every .cu builds warning-free for sm_80 and sm_90, and
the numpy transcription of each kernel, run on the launches the host code builds, matches the
goldens of the catalog's cases. The kernels themselves have not run here (no GPU).

The build uses the system nvcc when one is on PATH, else the one the `test` extra installs from
PyPI on Linux (``cuda_launch.nvcc``); on macOS, where no CUDA toolkit exists, it is skipped.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from cuda_emulator import EmulatedDevice, check_launch

from mlxport.backends import Target
from mlxport.backends.cuda_kernels import KERNEL_OPS, kernel_ops
from mlxport.backends.cuda_launch import (NAME_EXPRESSIONS, NO_NVCC, OPTIONS, Launch, kernel_dir,
                                          nvcc, row_block)
from mlxport.backends.numpy_backend import NumpyTarget
from mlxport.catalog import load_files
from mlxport.check import case_files
from mlxport.inputs import generate
from mlxport.model import Status
from mlxport.runner import golden, run_cell

ARCHS = ("80", "90")


def _nvcc() -> str:
    if sys.platform == "darwin":
        pytest.skip("macOS has no CUDA toolkit (NVIDIA ships none for it, nor a PyPI nvcc): "
                    "the kernels' build check runs on Linux")
    found = nvcc()
    if found is None:
        pytest.fail(f"the CUDA kernels' build check: {NO_NVCC}", pytrace=False)
    return found


def _nvcc_command(nvcc: str, source, out) -> list[str]:
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHS]
    flags = [o.replace("--fmad=", "-fmad=") for o in OPTIONS]
    return [nvcc, *flags, "-Werror", "all-warnings", f"-I{kernel_dir()}", *gencode, "--fatbin",
            "-o", str(out), str(source)]


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Each source with every instance the host code names (as name_expressions instantiate
    them), built for both archs; the nvcc runs go in parallel."""
    nvcc, folder = _nvcc(), tmp_path_factory.mktemp("nvcc")
    running = {}
    for source, names in NAME_EXPRESSIONS.items():
        unit = folder / f"instances_{source}"
        unit.write_text(f'#include "{source}"\n'
                        f"void* mlxport_instances[] = {{{', '.join(f'(void*)&{n}' for n in names)}}};\n")
        running[source] = subprocess.Popen(_nvcc_command(nvcc, unit, unit.with_suffix(".fatbin")),
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return {s: subprocess.CompletedProcess(p.args, p.wait(), p.communicate()[0]) for s, p in running.items()}


@pytest.mark.parametrize("source", sorted(NAME_EXPRESSIONS))
def test_kernel_builds_for_sm80_and_sm90_with_warnings_as_errors(builds, source):
    done = builds[source]
    assert done.returncode == 0, f"{source}: {done.args[0]} failed:\n{done.stdout}"


def test_the_build_check_fails_on_a_warning(tmp_path):
    unit = tmp_path / "warns.cu"
    unit.write_text("__global__ void k(float* out) { int unused = 1; out[0] = 0.0f; }\n")
    done = subprocess.run(_nvcc_command(_nvcc(), unit, tmp_path / "w.fatbin"), capture_output=True,
                          text=True)
    # failed for the warning, not for a toolchain that cannot compile at all (a missing header)
    assert done.returncode != 0 and "never referenced" in done.stdout + done.stderr, done.stderr


def _fake_nvcc(folder, wheel: bool):
    """An executable ``nvcc`` in ``folder``: bare (a toolkit's bin/), or inside a stand-in
    ``nvidia-cuda-nvcc`` distribution laid out as the wheel is."""
    exe = folder / "nvidia" / "cu13" / "bin" / "nvcc" if wheel else folder / "nvcc"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    if wheel:
        info = folder / "nvidia_cuda_nvcc-13.0.88.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nvidia-cuda-nvcc\n"
                                       "Version: 13.0.88\n")
        (info / "RECORD").write_text("nvidia/cu13/bin/nvcc,,\n")
    return str(exe)


def test_nvcc_on_path_comes_before_the_wheels(tmp_path, monkeypatch):
    _fake_nvcc(tmp_path / "site", wheel=True)
    on_path = _fake_nvcc(tmp_path / "toolkit", wheel=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PATH", str(tmp_path / "toolkit"))
    assert nvcc() == on_path


def test_without_nvcc_on_path_it_is_the_wheels(tmp_path, monkeypatch):
    wheels = _fake_nvcc(tmp_path, wheel=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert nvcc() == wheels


def test_on_macos_the_build_check_skips_and_says_why(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(pytest.skip.Exception, match="macOS has no CUDA toolkit"):
        _nvcc()


def test_every_source_file_has_its_instances_listed():
    assert sorted(p.name for p in kernel_dir().glob("*.cu")) == sorted(NAME_EXPRESSIONS)


# --- the transcriptions against the goldens, through the real host code ----------------------
class EmulatedCuda(NumpyTarget):
    """The kernel table on the emulated device, as a target the runner can run."""

    framework, is_reference = "cuda-emulated", False

    def __init__(self):
        super().__init__("cpu")
        self.device_ = EmulatedDevice()
        self.table = kernel_ops(self.device_)

    def function(self, op):
        return self.table.get(op)


def _no_kernel(case) -> bool:
    """Cases outside the kernels: other modes and widths, float64 and complex64."""
    p = case.params
    return (str(p.get("mode", "affine")) != "affine" or p.get("bits", 4) not in (2, 4, 8)
            or case.dtype in ("float64", "complex64"))


CASES = [c for c in load_files(case_files(())) if c.op in KERNEL_OPS]


def _run(case):
    target = EmulatedCuda()
    inputs = generate(case)
    return run_cell(target, case, inputs, golden(case, inputs)), target.device_.launches


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_transcription_matches_the_golden(case):
    if case.op == "quantize" and case.stress == "nonfinite":
        pytest.skip("a NaN or inf in a group has no defined code, scale or bias: MLX's own quantizer gives "
                    "another answer than the golden's replay (the case's divergence record), so neither binds our kernel")
    result, launches = _run(case)
    if _no_kernel(case):
        assert result.status is Status.UNSUPPORTED and "no CUDA kernel in mlxport" in result.message
    else:
        assert result.status is Status.PASS, result.message
        assert launches or 0 in case.inputs[0].shape


def _resized(case, *shapes):
    inputs = tuple(dataclasses.replace(spec, shape=s) for spec, s in zip(case.inputs, shapes))
    return dataclasses.replace(case, id=f"{case.id}@{shapes}", inputs=inputs)


def _first(case_id: str):
    return next(c for c in CASES if c.id == case_id)


# Rows that no block size divides, a row of one, rows longer than 4 x 1024; groups and outputs
# that are not a multiple of the warps per block.
ODD = [
    ("fast.rms_norm[float16,(33,64)x(64,),eps=1e-05]", [(3, 1), (1,)]),
    ("fast.rms_norm[bfloat16,(33,64)x(64,),eps=1e-05]", [(5, 4099), (4099,)]),
    ("fast.rms_norm[float32,(33,64)x(64,),eps=1e-05]", [(7, 1025), (1025,)]),
    ("fast.layer_norm[float16,(33,64)x(64,)x(64,),eps=1e-05]", [(2, 4099), (4099,), (4099,)]),
    ("fast.layer_norm[bfloat16,(33,64)x(64,)x(64,),eps=1e-05]", [(6, 33), (33,), (33,)]),
    ("fast.layer_norm[float32,(33,64)x(64,)x(64,),eps=1e-05]", [(3, 100), (100,), (100,)]),
    ("softmax[float32,(33,65),axis=-1]", [(3, 5000)]),
    ("softmax[float16,(33,65),axis=-1,precise=True]", [(2, 31)]),
    ("logsumexp[bfloat16,(33,65),axis=-1,keepdims=True]", [(3, 1023)]),
    ("logsumexp[float32,(4,20000),long,axis=-1]", [(4, 4097)]),
    ("fast.rope[float16,(2,4,16,64),dims=64,traditional=False,base=10000.0,scale=1.0,offset=0]",
     [(3, 5, 7, 64)]),
    ("fast.rope[float32,(3,16,48),partial-trad,dims=32,traditional=True,base=10000.0,scale=1.0,"
     "offset=0]", [(5, 9, 34)]),
    ("quantized_matmul[float32,(5,160)x(160,16)x(160,4)x(160,4),k160,transpose=False,bits=4,"
     "group_size=32]", [(3, 160), (160, 12), (160, 3), (160, 3)]),
    ("quantize[bfloat16,(64,256),bits=4,group_size=32]", [(3, 96)]),
    ("quantize[float16,(64,256),bits=8,group_size=128]", [(5, 128)]),
    ("quantized_matmul[float16,(5,256)x(32,32)x(32,4)x(32,4),transpose=True,bits=4,group_size=64]",
     [(3, 256), (30, 32), (30, 4), (30, 4)]),
    ("quantized_matmul[bfloat16,(5,256)x(32,64)x(32,2)x(32,2),transpose=True,bits=8,group_size=128]",
     [(7, 256), (9, 64), (9, 2), (9, 2)]),
]


@pytest.mark.parametrize("case_id,shapes", ODD, ids=[f"{c}@{s[0]}" for c, s in ODD])
def test_transcription_on_sizes_no_block_divides(case_id, shapes):
    result, _ = _run(_resized(_first(case_id), *map(tuple, shapes)))
    assert result.status is Status.PASS, result.message


# --- launch geometry and marshalling --------------------------------------------------------
@pytest.mark.parametrize("n,threads", [(1, 32), (128, 32), (129, 64), (1000, 256), (4096, 1024),
                                       (20000, 1024)])
def test_row_block(n, threads):
    assert row_block(n) == threads


def test_launches_of_a_row_op_and_a_matmul():
    device = EmulatedDevice()
    ops = kernel_ops(device)
    ops["softmax"](np.ones((3, 1000), np.float16), axis=-1)
    x, w = np.ones((5, 64), np.float32), np.zeros((30, 8), np.uint32)
    ops["quantized_matmul"](x, w, np.ones((30, 1), np.float32), np.ones((30, 1), np.float32),
                            transpose=True, group_size=64, bits=4)
    (soft, qmm) = device.launches
    assert (soft.kernel, soft.grid, soft.block) == ("softmax<__half>", (3,), (256,))
    assert (qmm.kernel, qmm.grid, qmm.block) == ("qmm_t<float, 4>", (5 * 8,), (32, 4))


@pytest.mark.parametrize("bad", [
    lambda a: (a[0].astype(np.float32), *a[1:]),  # x of another dtype than T
    lambda a: (*a[:3], np.int64(a[3]), *a[4:]),  # long long where the kernel takes int
    lambda a: (a[0].T, *a[1:]),  # a non-contiguous pointer
    lambda a: a[:-1],  # one argument short
])
def test_the_launch_check_catches_bad_marshalling(bad):
    device = EmulatedDevice()
    kernel_ops(device)["fast.rms_norm"](np.ones((4, 4), np.float16), None, 1e-5)
    launch = device.launches[0]
    check_launch(launch)
    with pytest.raises(AssertionError):
        check_launch(dataclasses.replace(launch, args=bad(launch.args)))


@pytest.mark.parametrize("op,args,kwargs", [
    ("quantize", (np.ones((4, 64), np.float32),), {"mode": "mxfp4"}),
    ("quantize", (np.ones((4, 64), np.float32),), {"bits": 3}),
    ("softmax", (np.ones((4, 64), np.float64),), {"axis": -1}),
])
def test_what_has_no_kernel_is_unsupported(op, args, kwargs):
    with pytest.raises(NotImplementedError) as info:
        kernel_ops(EmulatedDevice())[op](*args, **kwargs)
    assert Target("x").classify(info.value) is Status.UNSUPPORTED
    assert str(info.value).startswith(f"[{op}]")


def test_importing_the_kernels_imports_no_cupy():
    code = ("import sys, mlxport.backends.cuda_kernels as k; "
            "assert 'cupy' not in sys.modules and len(k.KERNEL_OPS) == 8")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_launch_names_its_template():
    assert Launch("rope.cu", "rope<float, true>", (1,), (32,), ()).template == "rope"


# --- on a GPU: the kernels themselves --------------------------------------------------------
class CupyKernels(NumpyTarget):
    """KERNEL_OPS on cupy arrays: the real kernels, where a CUDA device is present."""

    framework, is_reference = "cuda-kernels", False

    def function(self, op):
        return KERNEL_OPS.get(op)

    def asarray(self, array):
        import cupy

        return cupy.asarray(array)

    def to_numpy(self, x):
        import cupy

        return cupy.asnumpy(x)

    def sync(self, outputs):
        import cupy

        cupy.cuda.Device().synchronize()


def test_kernels_on_the_gpu_match_the_goldens():
    cupy = pytest.importorskip("cupy")
    if not cupy.is_available():
        pytest.skip("no CUDA device here: the kernels' GPU run is still to be done")
    target, bad = CupyKernels("cuda"), []
    for case in CASES:
        inputs = generate(case)
        result = run_cell(target, case, inputs, golden(case, inputs))
        want = Status.UNSUPPORTED if _no_kernel(case) else Status.PASS
        if result.status is not want:
            bad.append(f"{case.id}: {result.status.value}: {result.message}")
    assert not bad, f"{len(bad)} of {len(CASES)} cases:\n" + "\n".join(bad[:40])
