"""What a trace is made of: the distinct calls a program made, each with its arrays.

This is the contract between recording (``record.py``: runs the program and fills a
:class:`Trace`; ``tracefile.py``: saves and loads one) and checking (``cases.py``: turns each
:class:`Signature` into a case that the ordinary ``execute`` runs on every target).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Slot:
    """The place of the ``index``-th array input in a call's arguments."""

    index: int


@dataclass(frozen=True)
class DType:
    """A dtype among a call's arguments (``a.astype(mx.bfloat16)``), by its name: ``"bfloat16"``."""

    name: str


@dataclass
class Signature:
    """One distinct call of the program: an op with its input dtypes, shapes and layout and its
    non-array arguments (DESIGN.md, "Programs").

    ``args`` and ``kwargs`` are the call as the program made it, with every array replaced by a
    :class:`Slot` (also inside lists and tuples: ``concatenate([Slot(0), Slot(1)], axis=1)``, an
    index ``(slice(None), Slot(0))``). The other values are plain Python: None, bool, int, float,
    str, slice, Ellipsis, lists and tuples of them, and :class:`DType`."""

    op: str  # named as the catalog names ops: "add", "fast.rope", "getitem", "setitem", "at.add", "astype"
    id: str  # readable and stable: "fast.rope[bfloat16,(1,4,12,32),dims=32,traditional=False,...]"
    args: tuple
    kwargs: dict
    shapes: tuple[tuple[int, ...], ...]  # of each slot, in slot order
    dtypes: tuple[str, ...]  # of each slot
    calls: int = 1  # how many times the program made this call
    # The real arrays of its first call, one per slot; None where they were not kept: recorded
    # inside an mx.compile'd function (placeholders without values: ``compiled``), or left out
    # past the size cap of a saved trace (``dropped``). Such a signature's inputs are generated.
    inputs: list[np.ndarray] | None = None
    output: list[np.ndarray] | None = None  # what the program itself got from that call
    compiled: bool = False
    dropped: bool = False

    @property
    def dtype(self) -> str:
        """The dtype of its main input: the first slot's (``"none"`` for a call with no array)."""
        return self.dtypes[0] if self.dtypes else "none"


@dataclass
class Trace:
    """A program's recorded calls, in the order of their first call."""

    program: list[str]  # what ran: ["model.py", "--steps", "3"] or ["-m", "pkg.mod", ...]
    mlx_version: str
    device: str  # the device the program ran on, by name
    signatures: list[Signature] = field(default_factory=list)
    exit: Any = None  # None: the program ended normally; else a one-line description of how it did not


