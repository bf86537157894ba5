"""How mlxport's CUDA kernels (``kernels/cuda/*.cu``) are found, built and launched.

Pure host-side logic: which template instance a dtype selects, the grid and block of each
shape of work, and the argument tuple in the kernel's parameter order, as a frozen
:class:`Launch`. :class:`CupyDevice` compiles a source file with ``cupy.RawModule`` on first
use (every instance of the file at once, through ``name_expressions``) and runs launches.
Nothing here imports cupy until a kernel runs. :func:`nvcc` finds the compiler that builds the
sources offline (the tests' build check).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import dtypes as dt

# T of a kernel template, by dtype name. Kernels compute in float whatever T is.
CTYPES = {"float32": "float", "float16": "__half", "bfloat16": "__nv_bfloat16"}
BITS = (2, 4, 8)  # affine code widths with instances: those that divide a 32-bit word
GROUP_SIZES = (32, 64, 128)
# --fmad=false: a*b + c is two roundings, as the numpy transcription of each kernel computes.
OPTIONS = ("--std=c++17", "--fmad=false")
MAX_BLOCK = 1024
WARPS = 4  # warps per block of the one-warp-per-item kernels (quantize, qmm_t)
THREADS = 256  # threads per block of the one-thread-per-item kernels

# Every instance of each source file: the row kernels take T, the others T and a flag or BITS.
NAME_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    **{f"{name}.cu": tuple(f"{name}<{c}>" for c in CTYPES.values())
       for name in ("rms_norm", "layer_norm", "softmax", "logsumexp")},
    "rope.cu": tuple(f"rope<{c}, {t}>" for c in CTYPES.values() for t in ("false", "true")),
    "quantize.cu": tuple(f"affine_quantize<{c}, {b}>" for c in CTYPES.values() for b in BITS),
    "dequantize.cu": tuple(f"affine_dequantize<{c}, {b}>" for c in CTYPES.values() for b in BITS),
    "quantized_matmul.cu": tuple(f"{k}<{c}, {b}>" for k in ("qmm_t", "qmm_n")
                                 for c in CTYPES.values() for b in BITS),
}


@dataclass(frozen=True)
class Launch:
    """One kernel launch: ``source``'s instance ``kernel`` over ``grid`` x ``block`` threads."""

    source: str
    kernel: str
    grid: tuple[int, ...]
    block: tuple[int, ...]
    args: tuple  # device arrays and numpy scalars (np.int32, np.int64, np.float32), in order

    @property
    def template(self) -> str:
        """The kernel's name without its template arguments: ``rms_norm<float>`` -> ``rms_norm``."""
        return self.kernel.split("<", 1)[0]


def kernel_dir() -> Path:
    """``kernels/cuda``: inside the wheel (``mlxport/kernels``), or beside the package in a checkout."""
    here = Path(__file__).resolve().parent.parent
    inside = here / "kernels" / "cuda"
    return inside if inside.is_dir() else here.parent / "kernels" / "cuda"


# The PyPI CUDA compiler (the `test` extra brings it on Linux). Its wheels and those of the headers
# and cicc share one tree, nvidia/cu13/{bin,include,nvvm}, which the wheel's nvcc.profile takes
# for its CUDA root: that nvcc needs no -I and no PATH for cicc.
NVCC_WHEEL = "nvidia-cuda-nvcc"
NO_NVCC = ("no nvcc on PATH and no nvidia-cuda-nvcc wheel installed: on Linux, "
           "pip install -e '.[test]' brings CUDA 13's nvcc from PyPI, or put a CUDA toolkit's "
           "bin/ on PATH")


def nvcc() -> str | None:
    """The nvcc that builds ``kernels/cuda``: the first on PATH (a system CUDA toolkit), else the
    ``nvidia-cuda-nvcc`` wheel's; None when there is neither (:data:`NO_NVCC` says what to do)."""
    return shutil.which("nvcc") or _wheel_nvcc()


def _wheel_nvcc() -> str | None:
    """``bin/nvcc`` of the installed ``nvidia-cuda-nvcc`` distribution, found through its RECORD."""
    try:
        files = importlib.metadata.distribution(NVCC_WHEEL).files or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "nvcc" and file.parent.name == "bin":
            path = Path(file.locate())
            return str(path) if os.access(path, os.X_OK) else None
    return None


def ctype(op: str, dtype: Any) -> str:
    """The kernel's T for ``dtype``; other dtypes have no kernel (unsupported, not an error)."""
    name = dt.name_of(np.dtype(dtype))
    if name not in CTYPES:
        raise NotImplementedError(f"[{op}] {name} has no CUDA kernel in mlxport "
                                  f"(kernels take {', '.join(CTYPES)})")
    return CTYPES[name]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def row_block(n: int) -> int:
    """Threads for a row of ``n``: about 4 elements each, a power of two from 32 to 1024."""
    return min(MAX_BLOCK, max(32, 1 << max(ceil_div(n, 4) - 1, 0).bit_length()))


def row_launch(source: str, x, out, extra: tuple) -> Launch:
    """One block per row of the 2-d ``x``: ``kernel(x, *pointers, out, n, *scalars)``."""
    rows, n = x.shape
    kernel = f"{source}<{ctype(source, x.dtype)}>"
    pointers, scalars = extra
    return Launch(f"{source}.cu", kernel, (rows,), (row_block(n),),
                  (x, *pointers, out, np.int32(n), *scalars))


def flat_grid(items: int, per_block: int = THREADS) -> tuple[int, ...]:
    """A 1-d grid of ``per_block``-thread blocks covering ``items`` (at least one block)."""
    return (max(1, ceil_div(items, per_block)),)


class CupyDevice:
    """Runs launches with cupy; each source file becomes one RawModule on first use."""

    @property
    def xp(self):
        import cupy

        return cupy

    def launch(self, launch: Launch) -> None:
        module = _module(launch.source)
        module.get_function(launch.kernel)(launch.grid, launch.block, launch.args)


@functools.lru_cache(maxsize=None)
def _module(source: str):
    import cupy

    folder = kernel_dir()
    return cupy.RawModule(code=(folder / source).read_text(), options=(*OPTIONS, f"-I{folder}"),
                          name_expressions=list(NAME_EXPRESSIONS[source]))
