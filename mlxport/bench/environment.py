"""What a bench number depends on besides the code: the CPU, the BLAS behind each framework and
its threads, TF32, MLX's cache limit, and on a GPU its name and clocks. Read when asked, in the
process that times (a framework is imported only for its own target); an unknown fact is
``null`` with a ``*_reason`` beside it, never a guess.

    record(target)  # -> {"cpu": {...}, "framework": {...}, "gpu": {...}}
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
from pathlib import Path

from ..backends import Target
from ..hostinfo import cpu_name

# Entry points that name an optimized BLAS when a library exports them.
# scipy-openblas (numpy's wheels) prefixes its symbols and suffixes them with 64_.
BLAS_SYMBOLS = (("openblas_get_config", "OpenBLAS"), ("scipy_openblas_get_config64_", "OpenBLAS"),
                ("scipy_openblas_get_config", "OpenBLAS"), ("mkl_get_version_string", "MKL"),
                ("bli_info_get_version_str", "BLIS"), ("flexiblas_get_version", "FlexiBLAS"))
NVIDIA_SMI_FIELDS = ("name", "driver_version", "clocks.sm", "clocks.max.sm", "clocks.mem", "power.limit")


def cpu() -> dict:
    """The CPU's name, logical CPUs, the CPUs this process may use, and cores per socket."""
    cores = _cpuinfo_field("cpu cores")
    return {"model": cpu_name(), "machine": platform.machine(), "logical_cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "cores_per_socket": int(cores) if cores and cores.isdigit() else None}


def _cpuinfo_field(name: str) -> str | None:
    path = Path("/proc/cpuinfo")
    if not path.exists():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if line.split(":")[0].strip() == name:
            return line.split(":", 1)[1].strip()
    return None


def loaded_libraries(words: tuple[str, ...] = ("blas", "lapack", "mkl", "omp", "gomp")) -> list[str]:
    """Shared libraries mapped into this process whose file names contain one of ``words``."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if ".so" in line}
    return sorted(p for p in paths if any(w in Path(p).name.lower() for w in words))


def blas_kind(path: str) -> str:
    """Which BLAS a library is, by the entry points it exports; the reference BLAS (netlib) has
    none of them. Example: ``blas_kind(".../libscipy_openblas64_.so") == "OpenBLAS"``."""
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        return f"unknown (cannot load: {exc})"
    for symbol, name in BLAS_SYMBOLS:
        if hasattr(lib, symbol):
            return name
    return "no OpenBLAS/MKL/BLIS/FlexiBLAS entry point (a reference BLAS, netlib-style)"


def threadpools() -> list[dict] | None:
    """threadpoolctl's view of the BLAS and OpenMP pools loaded here; None without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def numpy_info() -> dict:
    import numpy

    pools = threadpools()
    return {"version": numpy.__version__, "threadpools": pools,
            "threadpools_reason": None if pools is not None else "threadpoolctl is not installed",
            "blas_libraries": _described(loaded_libraries())}


def mlx_info() -> dict:
    import mlx.core as mx

    mx.eval(mx.matmul(mx.ones((2, 2)), mx.ones((2, 2))))  # loads the BLAS if it loads lazily
    # numpy's BLAS is mapped here too (mlxport imports numpy): keep the libraries of MLX's wheel.
    own = [p for p in loaded_libraries() if "mlx" in p]
    return {"version": getattr(mx, "__version__", None), "blas_libraries": _described(own),
            "blas_libraries_note": "the BLAS/LAPACK libraries mapped from MLX's own wheel (mlx*, mlx_*.libs)",
            "cache_limit_bytes": _cache_limit(mx),
            "tf32": os.environ.get("MLX_ENABLE_TF32"), "tf32_note": "MLX_ENABLE_TF32 as set in this process "
            "(0: float32 matmul and conv stay float32 on CUDA; unset: MLX's default)",
            "metal": bool(getattr(getattr(mx, "metal", None), "is_available", lambda: False)()),
            "cuda": bool(getattr(getattr(mx, "cuda", None), "is_available", lambda: False)())}


def _cache_limit(mx) -> int | None:
    """MLX has no getter: set_cache_limit returns the previous limit, so set it straight back."""
    setter = getattr(mx, "set_cache_limit", None)
    if setter is None:
        return None
    previous = setter(0)
    setter(previous)
    return int(previous)


def torch_info() -> dict:
    import torch

    return {"version": torch.__version__, "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
            "config": torch.__config__.show(), "parallel": torch.__config__.parallel_info(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def cupy_info() -> dict:
    import cupy

    return {"version": cupy.__version__, "runtime": cupy.cuda.runtime.runtimeGetVersion(),
            "device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()}


FRAMEWORKS = {"numpy": numpy_info, "mlx": mlx_info, "torch": torch_info, "cupy": cupy_info}


def gpu() -> dict:
    """The GPU's name and clocks from ``nvidia-smi``; nulls with the reason where there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"devices": None, "reason": "nvidia-smi is not installed (no NVIDIA driver on this machine)"}
    try:
        out = subprocess.run([smi, f"--query-gpu={','.join(NVIDIA_SMI_FIELDS)}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"devices": None, "reason": f"nvidia-smi failed: {exc}"}
    if out.returncode != 0:
        return {"devices": None, "reason": f"nvidia-smi: {(out.stderr or out.stdout).strip()[:200]}"}
    rows = [[v.strip() for v in line.split(",")] for line in out.stdout.strip().splitlines()]
    return {"devices": [dict(zip(NVIDIA_SMI_FIELDS, row)) for row in rows], "reason": None}


def record(target: Target) -> dict:
    """Everything above for one target, from inside the process that runs it."""
    info = FRAMEWORKS.get(target.framework)
    try:
        framework = info() if info else {"reason": f"no environment reader for {target.framework}"}
    except Exception as exc:  # an environment fact is never worth failing a bench run for
        framework = {"reason": f"{type(exc).__name__}: {exc}"}
    return {"target": target.name, "cpu": cpu(), "framework": framework,
            "gpu": gpu()}


def collect(targets) -> dict[str, dict]:
    """:func:`record` of every target, each read in a fresh process of its own."""
    from .peaks import per_target

    return per_target(targets, record)


def _described(paths: list[str]) -> list[dict]:
    return [{"path": p, "kind": blas_kind(p) if "blas" in Path(p).name.lower() else None} for p in paths]
