"""The ``torch:cpu`` and ``torch:cuda`` targets: MLX's API on PyTorch, the framework most MLX-on-CUDA
users would pick instead. Its op table is :mod:`.torch_ops`; :mod:`.ported` adds MLX's dtype
conventions around every op."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from ..hostinfo import cpu_name
from ..model import Status, TargetInfo
from . import ported, torch_ops

# PyTorch's own words for a dtype or op it lacks: porting debt of this target, not a bug.
_UNSUPPORTED = re.compile(r"Unsupported dtype|not implemented for|does not support|only supports|is not supported"
                          r"|input tensor must be either float or double")


def targets() -> list:
    """The entry point: one target per device."""
    return [TorchTarget("cpu"), TorchTarget("cuda")]


class TorchTarget(ported.PortedTarget):
    framework = "torch"
    preload = ("torch",)  # torch initialises CUDA lazily, on first use: its import is fork-safe
    renames = {"axis": "dim", "keepdims": "keepdim"}

    def probe(self) -> TargetInfo:
        try:
            import torch
        except ImportError as exc:
            return self._info(False, f"torch is not installed ({exc}); pip install 'mlxport[torch]'")
        if self.device == "cuda" and not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA device is visible"
            return self._info(False, f"CUDA is not available to torch ({why}; torch {torch.__version__})", torch.__version__)
        name = torch.cuda.get_device_name() if self.device == "cuda" else cpu_name()
        return self._info(True, None, torch.__version__, name)

    def _info(self, available, reason, version=None, device_name=None) -> TargetInfo:
        return TargetInfo(self.name, self.framework, self.device, available, reason, version, device_name)

    def namespace(self):
        import torch

        return torch

    def table(self, xp) -> dict[str, Callable]:
        return torch_ops.ops(xp)

    def dtype_name(self, x: Any) -> str | None:
        dtype = getattr(x, "dtype", None)
        return str(dtype).removeprefix("torch.") if dtype is not None and hasattr(x, "device") else None

    def cast(self, x: Any, name: str) -> Any:
        return x.to(self.param("dtype", name))

    def asarray(self, array: np.ndarray) -> Any:
        import torch

        if dt.name_of(array.dtype) == "bfloat16":  # numpy has no bfloat16 of its own: move the bits
            return torch.from_numpy(array.view(np.uint16).copy()).view(torch.bfloat16).to(self.device)
        return torch.from_numpy(array.copy()).to(self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        import torch

        x = x.detach().cpu().resolve_conj().resolve_neg().contiguous()
        if x.dtype == torch.bfloat16:
            return x.view(torch.uint16).numpy().view(dt.np_dtype("bfloat16"))
        return x.numpy()

    def param(self, key: str, value: Any) -> Any:
        import torch

        return getattr(torch, value) if key == "dtype" and value is not None else value

    def session(self):
        import torch

        return torch.device(self.device)  # ops that make arrays (arange, eye) make them here

    def sync(self, outputs) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()

    def timer(self):
        if self.device != "cuda":
            return super().timer()
        import torch

        from ..bench.timing import EventTimer

        return EventTimer(lambda: torch.cuda.Event(enable_timing=True), lambda a, b: a.elapsed_time(b))

    def classify(self, exc: BaseException) -> Status:
        return Status.UNSUPPORTED if _UNSUPPORTED.search(str(exc)) else super().classify(exc)
