"""The ``mlx:cpu`` and ``mlx:gpu`` targets. ``gpu`` is whichever GPU backend this MLX build has:
Metal or CUDA."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from ..hostinfo import cpu_name
from ..model import Case, TargetInfo
from . import Target, resolve

FLOAT64_ON_GPU = "float64 is not supported on the GPU by MLX's design"
STEADY_CACHE_BYTES = 1 << 40
# A primitive in mx.export_to_dot's text: ``{ 9450140117 [label ="CumSum", shape=rectangle]; }``,
# its id and the name its instance takes (arrays are the other nodes, and have no label).


def targets() -> list[Target]:
    """The entry point: one target per MLX device kind."""
    return [MLXTarget("cpu"), MLXTarget("gpu")]


def attribute(dtype: str) -> str:
    """The attribute of ``mlx.core`` that is the dtype of this name: ``bool`` is ``mx.bool_``."""
    return "bool_" if dtype == "bool" else dtype


def _at(method: str) -> Callable:
    """Scatter through MLX's public ``a.at[indices].<method>(values)``."""

    def scatter(a, indices, values):
        return getattr(a.at[indices], method)(values)

    return scatter


def _setitem(a, index, values):
    """``a[index] = values`` (with a boolean mask, MLX's only way to its MaskedScatter), on a new
    handle of ``a``: the caller's array stays as it was."""
    out = a[...]
    out[index] = values
    return out


def _getitem(a, index):
    """``a[index]``: MLX's ``__getitem__`` (slices, integers, arrays, None, Ellipsis)."""
    return a[index]


# Ops that MLX exposes as methods rather than functions.
METHODS = {**{f"at.{m}": _at(m) for m in ("add", "subtract", "multiply", "divide", "maximum", "minimum")},
           "setitem": _setitem, "getitem": _getitem}


class MLXTarget(Target):
    framework = "mlx"
    preload = ("mlx.core",)

    def probe(self) -> TargetInfo:
        try:
            import mlx.core as mx
        except ImportError as exc:
            return self._info(False, f"mlx is not installed ({exc}); pip install 'mlxport[cpu]'")
        device = self._device(mx)
        if self.device == "gpu" and not mx.is_available(device):
            return self._info(False, "this MLX build has no GPU backend (Metal or CUDA)", mx.__version__)
        return self._info(True, None, mx.__version__, self._device_name(mx, device))

    def _info(self, available, reason, version=None, device_name=None) -> TargetInfo:
        return TargetInfo(self.name, self.framework, self.device, available, reason, version, device_name)

    def _device(self, mx):
        return mx.gpu if self.device == "gpu" else mx.cpu

    def _device_name(self, mx, device) -> str:
        if hasattr(mx, "device_info"):  # MLX 0.30 and later
            name = mx.device_info(device).get("device_name")
        elif self.device == "gpu" and mx.metal.is_available():  # before 0.30: Metal's own
            name = mx.metal.device_info().get("device_name")
        else:
            name = None
        if self.device == "gpu":
            backend = "Metal" if mx.metal.is_available() else "CUDA"
            return f"{name or 'unnamed GPU'} ({backend})"
        return name or cpu_name()

    def mlx_version(self) -> str:
        import mlx.core as mx

        return mx.__version__

    def function(self, op: str) -> Callable | None:
        import mlx.core as mx

        return METHODS.get(op) or resolve(mx, op)

    def session(self):
        import mlx.core as mx

        @contextlib.contextmanager
        def on_device():
            previous = mx.default_device()
            mx.set_default_device(self._device(mx))
            try:
                yield
            finally:
                mx.set_default_device(previous)

        return on_device()

    def asarray(self, array: np.ndarray) -> Any:
        import mlx.core as mx

        name = dt.name_of(array.dtype)
        if name == "bfloat16":  # numpy has no bfloat16 of its own; float32 holds it exactly
            return mx.array(array.astype(np.float32)).astype(mx.bfloat16)
        # An explicit dtype, because mx.array turns float64 into float32 by default.
        return mx.array(array, dtype=self.param("dtype", name))

    def to_numpy(self, x: Any) -> np.ndarray:
        import mlx.core as mx

        if x.dtype == mx.bfloat16:  # its bits: exact, and 30x faster than through float32
            return np.array(x.view(mx.uint16)).view(dt.np_dtype("bfloat16"))
        return np.array(x)

    def param(self, key: str, value: Any) -> Any:
        import mlx.core as mx

        if key != "dtype" or value is None:
            return value
        return getattr(mx, attribute(value))

    def sync(self, outputs) -> None:
        import mlx.core as mx

        mx.eval(*outputs)

    def graph(self, outputs, given=()) -> tuple[str, ...]:
        """The primitives MLX itself names in the graph of ``outputs`` (``mx.export_to_dot``),
        not those of ``given``; an evaluated array has no graph, so take it before ``sync``."""
        from ..primitives import graph

        return graph(outputs, given)

    def cache(self, steady: bool):
        import mlx.core as mx

        @contextlib.contextmanager
        def limit():
            # Steady state: a cache limit no run reaches. Allocation included: no cache at all.
            previous = mx.set_cache_limit(STEADY_CACHE_BYTES if steady else 0)
            mx.clear_cache()
            try:
                yield
            finally:
                mx.set_cache_limit(previous)

        return limit()

    def skip_reason(self, case: Case) -> str | None:
        """float64 on the GPU by MLX's design; what this release of MLX lacks: the op or a dtype."""
        import mlx.core as mx

        dtypes = {s.dtype for s in case.inputs} | set(case.out) | {case.params.get("dtype")}
        if case.op not in METHODS and resolve(mx, case.op) is None:  # the release's, not this table's
            return f"not in MLX {mx.__version__}"
        missing = sorted(d for d in dtypes - {None} if not hasattr(mx, attribute(d)))
        if missing:
            return f"MLX {mx.__version__} has no {', '.join(missing)}"
        return FLOAT64_ON_GPU if self.device == "gpu" and "float64" in dtypes else None

    def lacks(self, case: Case, exc: BaseException) -> str | None:
        """A keyword of the case that this release's function does not take: MLX's bindings
        raise "incompatible function arguments" and list the signatures they do take."""
        text = str(exc)
        if not isinstance(exc, TypeError) or "incompatible function arguments" not in text:
            return None
        import mlx.core as mx

        signatures = text.split("Invoked with")[0]
        taken = set(re.findall(r"[(,]\s*\**(\w+)\s*(?=[:=,)])", signatures))  # a, *, b: int = 1
        order = case.positional or ("arrays",)
        asked = [s.name for s in case.inputs if s.name] + [k for k in case.params if k not in order]
        unknown = [k for k in asked if k not in taken]
        if not taken or not unknown:
            return None
        return f"MLX {mx.__version__}'s {case.op} has no {', '.join(k + '=' for k in unknown)}"
