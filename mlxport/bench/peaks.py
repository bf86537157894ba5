"""``mlxport bench --calibrate``: each target's own peaks, measured with its own framework.

- Bandwidth: a STREAM-like triad ``a = b + s * c`` on float32 arrays far larger than the last
  level cache, in one pass where the framework can fuse it (torch ``add(alpha=)``, a CuPy
  elementwise kernel, MLX ``compile``). numpy cannot: ``b + s * c`` makes a temporary, so numpy
  runs STREAM's Add ``a = b + c`` into a preallocated ``a``, which moves the same three arrays.
  Bytes per call = 3 * n * 4 (read b, read c, write a); as in STREAM, the write-allocate read of
  ``a`` that a CPU cache adds is NOT counted, so a CPU's bus may carry up to 4/3 of that.
- Flops: a square GEMM ``c = a @ b``, 2 * n^3 flops per call, in float32; on a GPU also in
  bfloat16 and float16. n doubles from ``GEMM_START`` until a call takes ``GEMM_MIN_S`` or n
  reaches the device's limit, so a slow BLAS is not asked for minutes of work.

Both are timed by the harness (:func:`timing.measure_with`) with the target's own sync and timer;
the peak is the median call. ``peaks`` returns the bench file's ``peaks`` slot for one target.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..backends import Target
from .timing import Budget, Samples, measure_with

TRIAD_SCALAR = 3.0
GEMM_START = 256
GEMM_MIN_S = 0.2  # one GEMM call (median of three) at least this long ...
SIZING = Budget(warmup_s=0.0, min_s=0.0, max_s=60.0, min_samples=3, rel_spread=1e9)  # exactly 3 calls
CALIBRATE_BUDGET = Budget(warmup_s=0.2, min_s=0.5, max_s=3.0, min_samples=5, rel_spread=0.02)


@dataclass(frozen=True)
class Sizes:
    """How large the calibration problems are on one kind of device."""

    triad_elements: int  # per array: 128 MiB of float32 on a CPU, 4x a 32 MiB last-level cache
    gemm_max: int  # ... or n up to this
    gemm_dtypes: tuple[str, ...]


CPU = Sizes(1 << 25, 4096, ("float32",))
GPU = Sizes(1 << 28, 16384, ("float32", "bfloat16", "float16"))


def default_sizes(target: Target) -> Sizes:
    return CPU if target.device == "cpu" else GPU


# One kernel: the call (returns its outputs, unsynced) and the words that say what it runs.
Kernel = tuple[Callable[[], Any], str]


def _numpy_triad(target, b, c, s) -> Kernel:
    a = np.empty_like(b)
    return (lambda: (np.add(b, c, out=a),)), "numpy.add(b, c, out=a) (STREAM Add: numpy has no one-pass triad)"


def _torch_triad(target, b, c, s) -> Kernel:
    import torch

    a = torch.empty_like(b)
    return (lambda: (torch.add(b, c, alpha=s, out=a),)), "torch.add(b, c, alpha=s, out=a)"


def _mlx_triad(target, b, c, s) -> Kernel:
    import mlx.core as mx

    fused = mx.compile(lambda b, c: b + s * c)
    return (lambda: (fused(b, c),)), "mx.compile(lambda b, c: b + s * c), mx.eval"


def _cupy_triad(target, b, c, s) -> Kernel:
    import cupy

    a = cupy.empty_like(b)
    kernel = cupy.ElementwiseKernel("T b, T c, T s", "T a", "a = b + s * c", "mlxport_triad")
    scalar = np.float32(s)
    return (lambda: (kernel(b, c, scalar, a),)), "cupy.ElementwiseKernel a = b + s * c"


def _generic_triad(target, b, c, s) -> Kernel:
    add = target.function("add")
    return (lambda: (add(b, c),)), f"{target.framework}'s add(b, c) (STREAM Add, a fresh output per call)"


TRIADS = {"numpy": _numpy_triad, "torch": _torch_triad, "mlx": _mlx_triad, "cupy": _cupy_triad}


def _gemm(target: Target, a, b) -> Kernel:
    if target.framework in ("numpy", "torch", "cupy"):
        xp = _namespace(target.framework)
        c = xp.empty_like(a)
        return (lambda: (xp.matmul(a, b, out=c),)), f"{target.framework}.matmul(a, b, out=c)"
    matmul = target.function("matmul")
    return (lambda: (matmul(a, b),)), f"{target.framework}'s matmul(a, b)"


def _namespace(framework: str):
    import importlib

    return importlib.import_module(framework)


def bandwidth(target: Target, elements: int, budget: Budget) -> dict:
    """The triad's GB/s on ``target``: median of the harness's samples."""
    rng = np.random.default_rng(0)
    b, c = (target.asarray(rng.standard_normal(elements, np.float32)) for _ in range(2))
    call, text = TRIADS.get(target.framework, _generic_triad)(target, b, c, TRIAD_SCALAR)
    samples = _measure(target, call, budget)
    moved = 3 * elements * 4
    return {"kernel": text, "dtype": "float32", "elements": elements, "bytes_per_call": moved,
            "formula": "3 * n * 4 bytes / median (b and c read, a written; write-allocate not counted)",
            "gbps": _figure(moved / samples.median / 1e9), **_summary(samples)}


def gemm(target: Target, dtype: str, largest: int, budget: Budget) -> dict:
    """The GEMM's GFLOP/s on ``target`` in ``dtype``, at the first n (doubling) that is slow
    enough to time well, or the largest allowed."""
    from .. import dtypes as dt

    rng = np.random.default_rng(1)
    n = min(GEMM_START, largest)
    while True:
        a, b = (target.asarray(rng.standard_normal((n, n)).astype(dt.np_dtype(dtype))) for _ in range(2))
        call, text = _gemm(target, a, b)
        # Three calls, not one: on a busy machine a single call can be slow by chance.
        if _measure(target, call, SIZING).median >= GEMM_MIN_S or 2 * n > largest:
            break
        n *= 2
    samples = _measure(target, call, budget)
    return {"kernel": text, "dtype": dtype, "n": n, "flops_per_call": 2 * n ** 3,
            "formula": f"2 * n^3 flops / median (first n from {GEMM_START}, doubling, with a call of "
                       f">= {GEMM_MIN_S} s, at most {largest})",
            "gflops": _figure(2 * n ** 3 / samples.median / 1e9), **_summary(samples)}


def peaks(target: Target, sizes: Sizes | None = None, budget: Budget = CALIBRATE_BUDGET) -> dict:
    """The ``peaks`` entry of one target: ``{bandwidth_gbps, flops_gflops, method, ...}``."""
    sizes = sizes or default_sizes(target)
    with target.session():
        bw = bandwidth(target, sizes.triad_elements, budget)
        flops = {d: gemm(target, d, sizes.gemm_max, budget) for d in sizes.gemm_dtypes}
    main = flops.get("float32") or next(iter(flops.values()))
    method = (f"bandwidth: {bw['kernel']} on {bw['elements']:,} float32 elements per array, "
              f"{bw['formula']}, median of {bw['samples']}; flops: {main['kernel']} in {main['dtype']}, "
              f"n = {main['n']}, 2 n^3 / median of {main['samples']}")
    return {"bandwidth_gbps": bw["gbps"], "flops_gflops": main["gflops"], "method": method,
            "bandwidth": bw, "flops": flops}


def _measure(target: Target, call, budget: Budget) -> Samples:
    """Timed as the harness times a cell: steady state, freed buffers kept for reuse (MLX's
    default cache limit is below one 128 MiB output, which would be paged in on every call)."""
    timer = target.timer() if hasattr(target, "timer") else None
    steady = target.cache(True) if hasattr(target, "cache") else None
    with steady or contextlib.nullcontext():
        return measure_with(call, target.sync, budget, timer)


def _summary(samples: Samples) -> dict:
    return {"median_s": samples.median, "p10_s": samples.p10, "p90_s": samples.p90,
            "samples": samples.samples, "iqr_rel": round(samples.iqr_rel, 4), "noise": samples.noise}


def calibrate(targets, sizes: Sizes | None = None, budget: Budget = CALIBRATE_BUDGET) -> dict[str, dict]:
    """The ``peaks`` slot: every target measured in a fresh process of its own."""
    return per_target(targets, peaks, sizes, budget)


PER_TARGET_TIMEOUT = 600.0  # seconds one target's calibration or environment reading may take


def per_target(targets, fn, *args, timeout: float = PER_TARGET_TIMEOUT) -> dict[str, Any]:
    """``fn(target, *args)`` for each target, each in a fresh spawned process, one at a time, so
    that no framework's threads or caches are warm from another's run. A process that dies,
    raises or runs past ``timeout`` gives ``{"error": why}`` for its target, and the run goes on."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    found = {}
    for target in targets:
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_in_worker, args=(child, (target.spec, target.name), fn, args), daemon=True)
        process.start()
        child.close()
        ready = wait([parent, process.sentinel], timeout)
        try:  # it may have sent its answer and exited before we look: read the pipe first
            found[target.name] = parent.recv() if parent.poll() else _lost(process, bool(ready), timeout)
        except EOFError:
            found[target.name] = _lost(process, True, timeout)
        process.kill()
        process.join()
        parent.close()
    return found


def _lost(process, ended: bool, timeout: float) -> dict:
    """The entry of a target whose process gave no answer: it died, or ran out of time."""
    if not ended:
        return {"error": f"did not finish within {timeout:g} s"}
    process.join(timeout=5)
    return {"error": f"its process died (exit status {process.exitcode})"}


def _in_worker(conn, spec: tuple[str, str], fn, args) -> None:
    from ..model import one_line
    from ..runner import prepare_environment
    from ..worker import load_targets

    prepare_environment()
    try:
        conn.send(fn(load_targets([spec])[spec[1]], *args))
    except Exception as exc:
        conn.send({"error": f"{type(exc).__name__}: {one_line(exc)}"})


def _figure(x: float) -> float:
    """A rate to four significant digits: a slow device's 0.0499 GB/s stays 0.0499, not 0.05."""
    return float(f"{x:.4g}")
