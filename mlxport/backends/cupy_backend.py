"""The ``cupy:cuda`` target: our own port of the catalog to CUDA, through CuPy.

Most ops are CuPy's function of the same name: CuPy follows numpy's API, so the table is written
against an array namespace ``xp``, and the same adapter runs with ``xp = numpy`` where there is
no GPU (the tests run it that way: ``CupyTarget("numpy", xp=numpy)``, never registered as a
user target). On a GPU, ``cupyx`` adds special functions and triangular solves, and our own
CUDA kernels (``mlxport.backends.cuda_kernels.KERNEL_OPS``, when present) override both.
What none of them has stays out of the table: that is the porting debt this target shows.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from ..model import Status, TargetInfo
from . import ported

NO_BFLOAT16 = "bfloat16 is not implemented in CuPy (it has no bfloat16 dtype)"

# numpy's and CuPy's words for a dtype or function they lack.
_UNSUPPORTED = re.compile(r"not supported for the input types|[Uu]nsupported (d)?type|not implemented|"
                          r"not supported|did not contain a loop with signature matching types")


def targets() -> list:
    """The entry point."""
    return [CupyTarget("cuda")]


def _scan(xp, fn: Callable, identity) -> Callable:
    """An MLX scan (``reverse``, exclusive when not ``inclusive``) from numpy's inclusive one."""

    def scan(a, axis=None, reverse=False, inclusive=True, **kwargs):
        if axis is None:
            a, axis = a.reshape(-1), 0
        x = xp.flip(a, axis) if reverse else a
        out = fn(x, axis=axis, **kwargs)
        if not inclusive:
            head = xp.full_like(xp.take(out, [0], axis), identity)
            out = xp.concatenate([head, xp.take(out, xp.arange(out.shape[axis] - 1), axis)], axis)
        return xp.flip(out, axis) if reverse else out

    return scan


def _linspace(xp):
    """MLX's linspace: computed in float32 (float64 for float64), then cast to ``dtype``."""

    def linspace(start, stop, num=50, endpoint=True, dtype=None):
        wide = np.float64 if dtype == np.float64 else np.float32
        return xp.linspace(start, stop, num, endpoint=endpoint, dtype=wide).astype(dtype)

    return linspace


def _full(xp):
    def full(shape, vals, dtype=None):
        if isinstance(vals, (bool, int, float)):  # a Python scalar, typed as MLX types it
            vals = xp.asarray(vals, dtype=dt.np_dtype(ported.scalar_dtype(vals)))
        out = xp.broadcast_to(vals, shape)
        return out.astype(dtype) if dtype is not None else out.copy()

    return full


def _along_axis(xp):
    def put_along_axis(a, indices, values, axis=None):
        out = a.copy()  # MLX returns a new array; numpy and CuPy write in place
        xp.put_along_axis(out, indices, values, axis)
        return out

    return put_along_axis


def _at(ufunc, transform=None) -> Callable:
    """``a.at[indices].<op>(values)``: an unbuffered ``ufunc.at`` on a copy, along axis 0."""

    def scatter(a, indices, values):
        out = a.copy()
        ufunc.at(out, indices, (values if transform is None else transform(values)).astype(a.dtype))
        return out

    return scatter


def _flatten(a, start_axis=0, end_axis=-1):
    start, end = start_axis % max(a.ndim, 1), end_axis % max(a.ndim, 1)
    return a.reshape(a.shape[:start] + (-1,) + a.shape[end + 1:]) if a.ndim else a.reshape(1)


def _topk(xp):
    def topk(a, k, axis=-1):
        if axis is None:
            a, axis = a.reshape(-1), 0
        top = xp.partition(a, a.shape[axis] - k, axis)
        return xp.take(top, xp.arange(a.shape[axis] - k, a.shape[axis]), axis)

    return topk


def _random(xp) -> dict[str, Callable]:
    """MLX's samplers on the namespace's generator, seeded from MLX's key; the catalog tests the
    law the samples follow. Dtypes the generator lacks (float16) it refuses itself."""

    def rng(key):
        return xp.random.default_rng(ported.key_seed(key))

    return {
        "random.normal": lambda shape=(), dtype=np.float32, loc=0.0, scale=1.0, key=None: (
            rng(key).standard_normal(shape, dtype=dtype) * scale + loc).astype(dtype),
        "random.uniform": lambda low=0.0, high=1.0, shape=(), dtype=np.float32, key=None: (
            rng(key).random(shape, dtype=dtype) * (high - low) + low).astype(dtype),
        "random.bernoulli": lambda p=0.5, shape=(), key=None: rng(key).random(shape) < p,
        "random.randint": lambda low, high, shape=(), dtype=np.int32, key=None: rng(key).integers(
            low, high, shape, dtype=dtype),
    }


def namespace_ops(xp) -> dict[str, Callable]:
    """The ops that are not ``xp``'s function of the same name and meaning, for any numpy-like
    namespace (numpy or CuPy)."""
    return {
        "equal": xp.equal, "power": xp.power, "bitwise_invert": xp.invert,
        # MLX's allclose is a 0-d bool array; numpy's returns a Python bool.
        "allclose": lambda a, b, rtol=1e-5, atol=1e-8, equal_nan=False: xp.asarray(
            xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)),
        "rsqrt": lambda a: xp.reciprocal(xp.sqrt(a)),
        "stop_gradient": lambda a: a,  # no autograd here: the identity
        "take": lambda a, indices, axis=None: xp.take(a, indices, axis=axis),
        "repeat": lambda a, repeats, axis=None: xp.repeat(a, repeats, axis),
        "split": lambda a, indices_or_sections, axis=0: xp.split(a, indices_or_sections, axis),
        "std": lambda a, axis=None, keepdims=False, ddof=0: xp.std(a, axis=axis, keepdims=keepdims, ddof=ddof),
        "var": lambda a, axis=None, keepdims=False, ddof=0: xp.var(a, axis=axis, keepdims=keepdims, ddof=ddof),
        "clip": lambda a, a_min=None, a_max=None: xp.clip(a, a_min, a_max),
        "reshape": lambda a, shape: a.reshape(shape),
        "astype": lambda a, dtype: a.astype(dtype),
        # MLX views the logical elements; ascontiguousarray makes a 0-d array 1-d, hence the reshape
        "view": lambda a, dtype: xp.ascontiguousarray(a).reshape(a.shape).view(dtype),
        "flatten": _flatten,
        "unflatten": lambda a, axis, shape: a.reshape(a.shape[:axis % a.ndim] + tuple(shape) + a.shape[axis % a.ndim + 1:]),
        "as_strided": lambda a, shape=None, strides=None, offset=0: xp.lib.stride_tricks.as_strided(
            xp.ascontiguousarray(a).reshape(-1)[offset:], shape, [s * a.itemsize for s in strides]).copy(),
        "arange": lambda *args, dtype=None: xp.arange(*args, dtype=dtype or dt.np_dtype(ported.scalar_dtype(*args))),
        "linspace": _linspace(xp),
        "eye": lambda n, m=None, k=0, dtype=None: xp.eye(n, m, k, dtype=dtype),
        "tri": lambda n, m=None, k=0, dtype=None: xp.tri(n, m, k, dtype=dtype),
        "full": _full(xp),
        "put_along_axis": _along_axis(xp),
        "at.add": _at(xp.add), "at.subtract": _at(xp.subtract), "at.multiply": _at(xp.multiply),
        "at.maximum": _at(xp.maximum), "at.minimum": _at(xp.minimum),
        "at.divide": _at(xp.multiply, lambda v: 1 / v),  # MLX multiplies by 1 / values
        "topk": _topk(xp),
        "cumsum": _scan(xp, xp.cumsum, 0), "cumprod": _scan(xp, xp.cumprod, 1),
        "linalg.cross": lambda a, b, axis=-1: xp.cross(a, b, axis=axis),
        "linalg.cholesky": lambda a, upper=False: (lambda low: xp.conj(xp.swapaxes(low, -1, -2)) if upper else low)(
            xp.linalg.cholesky(a)),
        "addmm": lambda c, a, b, alpha=1.0, beta=1.0: alpha * xp.matmul(a, b) + beta * c,
        "meshgrid": lambda *arrays, indexing="xy": xp.meshgrid(*arrays, indexing=indexing),
        **_random(xp),
    }


def _cupyx_ops() -> dict[str, Callable]:
    """What ``cupyx`` adds on a GPU: special functions and triangular solves. Each imports its
    module when it runs, so a CUDA library missing on the machine is that cell's error."""

    def special():
        return importlib.import_module("cupyx.scipy.special")

    return {
        "erf": lambda a: special().erf(a), "erfinv": lambda a: special().erfinv(a),
        "sigmoid": lambda a: special().expit(a),
        "logsumexp": lambda a, axis=None, keepdims=False: special().logsumexp(a, axis=axis, keepdims=keepdims),
        "softmax": lambda a, axis=None, precise=False: special().softmax(a, axis=axis),
        "linalg.solve_triangular": lambda a, b, upper=False: importlib.import_module(
            "cupyx.scipy.linalg").solve_triangular(a, b, lower=not upper),
    }


def kernel_ops() -> dict[str, Callable]:
    """Our own CUDA kernels, when their module is part of this install."""
    try:
        from .cuda_kernels import KERNEL_OPS
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.cuda_kernels":
            raise
        return {}
    return dict(KERNEL_OPS)


class CupyTarget(ported.PortedTarget):
    framework = "cupy"
    preload = ("cupy",)  # CuPy loads the CUDA driver and creates its context lazily, on first use

    def __init__(self, device: str, xp=None):
        super().__init__(device)
        self._xp = xp  # None: CuPy itself; numpy for the namespace tests

    def probe(self) -> TargetInfo:
        try:
            import cupy
        except ImportError as exc:
            return self._info(False, f"cupy is not installed ({exc}); pip install 'mlxport[cuda13]'")
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError, or a missing driver library
            why = " ".join(str(exc).split()) or type(exc).__name__
            return self._info(False, f"cupy is installed but no CUDA device is available ({why})", cupy.__version__)
        if count == 0:
            return self._info(False, "cupy is installed but no CUDA device is available (0 devices)", cupy.__version__)
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        return self._info(True, None, cupy.__version__, name.decode() if isinstance(name, bytes) else name)

    def _info(self, available, reason, version=None, device_name=None) -> TargetInfo:
        return TargetInfo(self.name, self.framework, self.device, available, reason, version, device_name)

    def namespace(self):
        if self._xp is not None:
            return self._xp
        import cupy

        return cupy

    def table(self, xp) -> dict[str, Callable]:
        if xp is np:
            return namespace_ops(xp)
        return {**namespace_ops(xp), **_cupyx_ops(), **kernel_ops()}

    def keyword(self, key: str, value: Any) -> tuple[str, Any]:
        # numpy and CuPy take several axes as a tuple only
        return key, tuple(value) if key in ("axis", "axes") and isinstance(value, list) else value

    def dtype_name(self, x: Any) -> str | None:
        if not (hasattr(x, "dtype") and hasattr(x, "shape")):
            return None
        return dt.name_of(x.dtype)

    def cast(self, x: Any, name: str) -> Any:
        return self.namespace().asarray(x).astype(dt.np_dtype(name), copy=False)

    def asarray(self, array: np.ndarray) -> Any:
        if dt.name_of(array.dtype) == "bfloat16":
            raise NotImplementedError(NO_BFLOAT16)
        return self.namespace().array(array)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)

    def param(self, key: str, value: Any) -> Any:
        if key != "dtype" or value is None:
            return value
        if value == "bfloat16":
            raise NotImplementedError(NO_BFLOAT16)
        return dt.np_dtype(value)

    def session(self):
        if self.namespace() is np:  # overflow to inf and NaN are results here, as on a GPU
            return np.errstate(all="ignore")
        import cupy

        return cupy.cuda.Device(0)

    def sync(self, outputs) -> None:
        if self.namespace() is not np:
            import cupy

            cupy.cuda.get_current_stream().synchronize()

    def timer(self):
        if self.namespace() is np:
            return super().timer()
        import cupy

        from ..bench.timing import EventTimer

        return EventTimer(cupy.cuda.Event, cupy.cuda.get_elapsed_time)  # events time by default

    def classify(self, exc: BaseException) -> Status:
        return Status.UNSUPPORTED if _UNSUPPORTED.search(str(exc)) else super().classify(exc)
