"""The values that flow through mlxport: statuses, cases, targets and cell results."""

from __future__ import annotations

import enum
import shlex
from dataclasses import dataclass, field
from typing import Any

from .dtypes import Tolerance


def target_of(column: str) -> str:
    """The target of a matrix column: ``mlx:gpu@NVIDIA-H100`` (a merge's column for one of the
    devices that ran ``mlx:gpu``) -> ``mlx:gpu``; a target name is its own column."""
    return column.partition("@")[0]


def rerun_command(target: str, case: str, extra: str = "") -> str:
    """The command that runs one cell again; ``[`` and ``]`` are literal in ``--ops``."""
    return f"mlxport check --target {shlex.quote(target_of(target))} --ops {shlex.quote(case)}{extra}"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 400 characters; its type's name if empty."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


class InputError(Exception):
    """Bad input from the user: a case file, a flag, a target. Printed as one line, exit 2."""


class Status(str, enum.Enum):
    """The status of one cell, as DESIGN.md words it."""

    PASS = "pass"
    MISMATCH = "mismatch"
    UNSUPPORTED = "unsupported"
    ERROR = "error"
    CRASH = "crash"
    TIMEOUT = "timeout"
    SKIP = "skip"
    XFAIL = "xfail"
    XPASS = "xpass"


@dataclass(frozen=True)
class View:
    """How an input reaches the op: ``transposed`` swaps its last two axes, ``strided`` takes
    every other element of its last axis. The framework makes the view, so it is non-contiguous."""

    layout: str

    def apply(self, x: Any) -> Any:
        """The view of ``x``; works on any array type with numpy-style methods."""
        if self.layout == "transposed" and x.ndim >= 2:
            return x.swapaxes(-1, -2)
        if self.layout == "strided" and x.ndim >= 1:
            return x[..., ::2]
        return x

    def base_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the contiguous array whose view has ``shape``."""
        if self.layout == "transposed" and len(shape) >= 2:
            return shape[:-2] + (shape[-1], shape[-2])
        if self.layout == "strided" and len(shape) >= 1:
            return shape[:-1] + (2 * shape[-1],)
        return shape


@dataclass(frozen=True)
class InputSpec:
    """One input of a case: how to make it, and how to pass it."""

    shape: tuple[int, ...]
    dtype: str
    values: str = "normal"
    domain: tuple[float, float] | None = None
    structure: str | None = None
    specials: tuple[str, ...] | None = None
    layout: str = "contiguous"
    name: str | None = None  # passed as this keyword; positional when None


@dataclass(frozen=True)
class Rule:
    """A skip or a known divergence: which targets and case ids it covers, and why."""

    target: str
    reason: str
    cases: str = "*"
    mlx: str | None = None  # a PEP 440 specifier: the MLX releases it holds for (">=0.30,<0.32"); None: all


@dataclass(frozen=True)
class Origin:
    """Where a case comes from, which says how to rerun one of its cells: the built-in catalog
    (``kind="catalog"``), a ``--cases`` folder (``"folder"``, ``path``), or a program's trace
    (``"trace"``: ``path`` the saved trace file, else ``program`` the argv it was recorded from)."""

    kind: str = "catalog"
    path: str | None = None
    program: tuple[str, ...] = ()

    def rerun(self, target: str, case: str) -> str:
        """The command that reruns the cell of ``case`` on ``target``."""
        if self.kind == "folder":
            return rerun_command(target, case, f" --cases {shlex.quote(self.path)}")
        if self.kind != "trace":
            return rerun_command(target, case)
        ops = f"--target {shlex.quote(target_of(target))} --ops {shlex.quote(case)}"
        if self.path:
            return f"mlxport replay {shlex.quote(self.path)} {ops}"
        return f"mlxport trace {ops} {shlex.join(self.program)}"


@dataclass(frozen=True)
class Case:
    """One op with concrete inputs. ``id`` is stable across machines and runs."""

    id: str
    op: str
    category: str
    dtype: str
    inputs: tuple[InputSpec, ...]
    params: dict = field(default_factory=dict)
    pack: bool = False  # pass the positional arrays as one list: mx.concatenate([a, b])
    positional: tuple[str, ...] | None = None  # ("subscripts", "arrays"): mx.einsum("ij,jk", a, b)
    out: tuple[str, ...] = ()
    tolerance: Tolerance | None = None
    canonical: str | None = None
    skips: tuple[Rule, ...] = ()
    divergences: tuple[Rule, ...] = ()
    source: str = ""
    reduction: int | None = None  # the length K of the sum the op does, from ``reduces:``
    reduces: str | int | None = None  # ``reduces:`` itself ("axis", or an axis): K for other shapes
    reference: str | None = None  # the op whose golden this is (an alias's original); None: op
    work: Any = None  # bench.work.Work: the bytes and flops its case data declares
    timeout: float | None = None  # seconds a cell may run, where the case data sets fewer than --timeout
    repeat: int = 1  # times the call runs in a cell, each on inputs made anew (a fault that comes and goes)
    attempts: tuple[tuple[str, int], ...] = ()  # (target glob, n): a cell there runs in up to n new processes
    stress: str | None = None  # the stress class of its variant (schema.STRESS_CLASSES), if any
    origin: Origin = Origin()  # where it comes from: what reruns one of its cells
    # A traced call (trace/cases.py): its (args, kwargs) as the program passed them, with a
    # trace.calls.Slot for each input, instead of the params/positional/pack recipe.
    template: tuple | None = None
    # Its recorded input arrays (one per input spec), used instead of generating them from the
    # seed; the output the program itself got; why its inputs are generated, where they are.
    arrays: tuple | None = field(default=None, compare=False, repr=False)
    output: tuple | None = field(default=None, compare=False, repr=False)
    generated: str | None = None  # "recorded inside mx.compile", "past --max-bytes"
    calls: int | None = None  # how many times the program made the call


@dataclass(frozen=True)
class TargetInfo:
    """What ``mlxport devices`` says about a target."""

    name: str
    framework: str
    device: str
    available: bool
    reason: str | None = None
    framework_version: str | None = None
    device_name: str | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "framework": self.framework,
            "framework_version": self.framework_version,
            "device": self.device,
            "device_name": self.device_name,
            "available": self.available,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Outcome:
    """The verdict of comparing one output with its golden."""

    status: Status
    message: str | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    max_ulp: int | None = None
    bad: int = 0
    p99_ulp: int | None = None


@dataclass(frozen=True)
class CellResult:
    """One case on one target."""

    case: str
    op: str
    dtype: str
    target: str
    status: Status
    message: str | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    max_ulp: int | None = None
    known: str | None = None  # the recorded reason of a known divergence
    seconds: float | None = None
    p99_ulp: int | None = None
    reproduce: str | None = None  # the command that reruns just this cell, when it did not pass
    xfail: str | None = None  # the reason of the --xfails entry that lists an xfail or xpass cell
    # The sorted names of the MLX primitives in the graph of its outputs; None off MLX, for a
    # skip, and for a call that raised before any graph existed.
    primitives: tuple[str, ...] | None = None
    calls: int | None = None  # a traced call's: how many times the program made it
    recorded: str | None = None  # a traced call's: the status the program's own output earns

    def to_json(self) -> dict:
        primitives = None if self.primitives is None else list(self.primitives)
        return {**self.__dict__, "status": self.status.value, "primitives": primitives}

    @classmethod
    def from_json(cls, record: dict) -> "CellResult":
        """The inverse of :meth:`to_json`, ignoring fields a newer schema added; raises
        KeyError, TypeError or ValueError on bad data."""
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        primitives = known.get("primitives")
        return cls(**{**known, "status": Status(record["status"]),
                      "primitives": None if primitives is None else tuple(primitives)})
