"""The ``numpy:cpu`` target: numpy itself, in the case's own dtype. It is the reference
framework; the goldens come from the same table run in float64."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes as dt
from .. import references
from ..hostinfo import cpu_name
from ..model import TargetInfo
from . import Target


def targets() -> list[Target]:
    """The entry point."""
    return [NumpyTarget("cpu")]


class NumpyTarget(Target):
    framework = "numpy"
    is_reference = True

    def probe(self) -> TargetInfo:
        return TargetInfo(self.name, self.framework, self.device, True, None, np.__version__, cpu_name())

    def function(self, op: str) -> Callable | None:
        # The reference of a random op is a law to test samples against, not a sampler.
        return None if op.startswith("random.") else references.lookup(op)

    def asarray(self, array: np.ndarray) -> Any:
        return array.copy()

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def param(self, key: str, value: Any) -> Any:
        return dt.np_dtype(value) if key == "dtype" and value is not None else value
