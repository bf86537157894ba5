"""Targets: a framework on a device, as a small adapter. Discovered through the entry-point group
``mlxport.backends``; the built-in numpy and mlx targets register there too.

A third party adds a target with a package whose ``pyproject.toml`` says::

    [project.entry-points."mlxport.backends"]
    mytarget = "my_package.mlxport_backend:targets"

where ``targets()`` returns a list of :class:`Target` instances, one per device.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any, Callable, Sequence

import numpy as np

from ..model import Case, InputError, Status, TargetInfo, View, one_line
from ..references import resolve  # noqa: F401  (re-exported for backends)

GROUP = "mlxport.backends"

# The framework's own words for "not implemented here": porting debt, not a bug.
UNSUPPORTED_PATTERNS = (
    r"has no (CUDA|GPU|Metal|CPU) implementation",
    r"has no CUDA kernel in mlxport",  # mlxport's own kernels (backends/cuda_kernels.py)
    r"not yet supported on the GPU",
    r"\bNYI\b",
    r"[Nn]o implementation for problem shape",
    r"not (yet )?implemented",
    r"[Nn]ot supported on the GPU",
    r"[Cc]urrently only supports",  # [GatherMM] on the CPU: "Currently only supports float32"
    r"::eval_cpu\] only supports",  # [Eig::eval_cpu] before MLX 0.30.1: "only supports float32"
    r"got unsupported data type",  # [Convolution::eval] on the CPU, for float64
)
_UNSUPPORTED = re.compile("|".join(UNSUPPORTED_PATTERNS))


class Target:
    """A framework on one device. Subclasses fill in the conversions and the op table."""

    framework = "?"
    is_reference = False
    spec = ""  # the "module:factory" that made it, set by discover()
    # Modules whose import initialises no device: the fork server that starts the workers
    # imports them once (processes.py), so a new worker need not.
    preload: tuple[str, ...] = ()

    def __init__(self, device: str):
        self.device = device

    @property
    def name(self) -> str:
        return f"{self.framework}:{self.device}"

    def probe(self) -> TargetInfo:
        """Whether this target can run here, and what it is; never raises."""
        raise NotImplementedError

    def function(self, op: str) -> Callable | None:
        """The callable of ``op``, looked up when the cell runs; None when the table lacks it."""
        raise NotImplementedError

    def asarray(self, array: np.ndarray) -> Any:
        """A framework array on this target's device, from numpy."""
        raise NotImplementedError

    def to_numpy(self, x: Any) -> np.ndarray:
        """A numpy array of the same dtype from a framework array."""
        raise NotImplementedError

    def param(self, key: str, value: Any) -> Any:
        """A case param in the framework's terms; dtype names become framework dtypes."""
        return value

    def sync(self, outputs: Sequence[Any]) -> None:
        """Wait until ``outputs`` are computed; the harness calls this, never the op."""

    def timer(self):
        """How ``mlxport bench`` times one call and its sync: ``timer(fn, sync) -> seconds``. A
        host clock by default; a CUDA target returns one that records events around the call."""
        from ..bench.timing import WallTimer

        return WallTimer()

    def cache(self, steady: bool):
        """A context manager for timing, or None where the framework has no allocator cache to
        control: ``steady`` keeps freed buffers for reuse, else each call allocates afresh."""
        return None

    def view(self, x: Any, view: View) -> Any:
        """The non-contiguous view of a framework array that a case asks for."""
        return view.apply(x)

    def session(self):
        """A context manager around the cells of a run: select the device, set modes."""
        import contextlib

        return contextlib.nullcontext()

    def graph(self, outputs: Sequence[Any], given: Sequence[Any] = ()) -> tuple[str, ...] | None:
        """The sorted names of the primitives that compute ``outputs``, read from the lazy graph
        before it is evaluated, leaving out those already in the graph of ``given`` (the call's
        arguments: a view or a cast made to pass an input is not the op's). None where the
        framework has no graph to read; called inside ``session()``."""
        return None

    def skip_reason(self, case: Case) -> str | None:
        """A reason to skip ``case`` on this target by the framework's design, else None."""
        return None

    def canary(self) -> str | None:
        """Why this target's device no longer computes, else None: a tiny add with a known
        answer, evaluated, synchronised and read back. A worker runs it after a cell that did
        not pass, so that a cell that poisoned the device (a CUDA context lost to an illegal
        memory access) is caught whatever words the error used."""
        fn = self.function("add")
        if fn is None:
            return None
        a, b = np.array([1.5, -2.0, 3.25], np.float32), np.array([0.25, 4.0, -1.0], np.float32)
        try:
            with self.session():
                out = fn(self.asarray(a), self.asarray(b))
                self.sync([out])
                got = self.to_numpy(out)
        except Exception as exc:
            return f"{type(exc).__name__}: {one_line(exc)}"
        if got.shape != a.shape or not np.array_equal(got, a + b):
            return f"{a.tolist()} + {b.tolist()} gave {got.tolist()}"
        return None

    def mlx_version(self) -> str | None:
        """The MLX release this target runs, for the case records that hold only for some
        releases (``mlx: ">=0.30"``); None for a target that does not run MLX."""
        return None

    def lacks(self, case: Case, exc: BaseException) -> str | None:
        """Why ``exc``, raised by the call of ``case``, means that this release of the framework
        lacks something the case asks for (a keyword, say): a ``skip`` naming the release, never
        porting debt. None for any other exception."""
        return None

    def classify(self, exc: BaseException) -> Status:
        """``unsupported`` for the framework's "not implemented" family, else ``error``."""
        return Status.UNSUPPORTED if _UNSUPPORTED.search(str(exc)) else Status.ERROR


def discover() -> list[Target]:
    """Every target of every backend registered in the entry-point group."""
    # The reference first, then MLX's own targets, then the peers it is measured against.
    found = sorted(entry_points(group=GROUP), key=lambda ep: (ep.name != "numpy", ep.name != "mlx", ep.name))
    if not found:
        raise InputError(f"no backends in the entry-point group {GROUP}: is mlxport installed (pip install -e .)?")
    targets: list[Target] = []
    for ep in found:
        for target in ep.load()():
            target.spec = ep.value  # how a worker process rebuilds it
            targets.append(target)
    return targets
