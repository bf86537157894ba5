"""A trace's calls as cases: one :class:`~mlxport.model.Case` per :class:`Signature`, which the
ordinary ``check.execute`` runs on every target like a catalog case.

What a traced call takes from the catalog: the catalog's cases of the same op (the op's
*siblings*) give its golden's reference (an alias's original), its ``out`` where the program's own
output does not say, its canonical form, the K of its sum (``reduces``, for the call's own
shapes), its tolerance (from a sibling of the same dtype only: the call's main dtype, else another of its inputs'), its attempts, and
every skip and divergence record of the op. A record's ``cases`` glob is matched against the
call's id, which is written in the catalog's style (``op[dtype,(shapes),key=value,...]``): a
record that names the op, a dtype or a param value carries over to the program's call; one that
names a catalog variant or a catalog shape does not, as it is about another call. An op with no
reference is a ``skip`` that says so, on every target.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import derive, references
from .. import dtypes as dt
from ..model import Case, InputError, InputSpec, Origin, Rule
from ..schema import Where
from .calls import DType, Signature, Slot, Trace

NO_REFERENCE = "no reference for {op}"  # the skip of a call whose op has no golden yet
COMPILED = "recorded inside mx.compile"  # why a call's inputs are generated
DROPPED = "past --max-bytes"


def trace_cases(trace: Trace, origin: Origin, catalog: Iterable[Case]) -> list[Case]:
    """The cases of ``trace``'s calls, in the order of their first call; ``catalog`` gives each
    op's tolerance, records and reference (``check.select_cases(Selection())``)."""
    siblings: dict[str, list[Case]] = {}
    for case in catalog:
        siblings.setdefault(case.op, []).append(case)
    return [case_of(sig, siblings.get(sig.op, []), origin) for sig in trace.signatures]


def case_of(sig: Signature, siblings: list[Case], origin: Origin) -> Case:
    """The case of one traced call, with what the catalog's cases of its op (``siblings``) say."""
    # a catalog case's dtype is its main dtype, which need not be the first input's: dequantize's
    # is that of its scales (bfloat16), its first input the packed uint32 words
    same = next((c for c in siblings if c.dtype == sig.dtype), None) or next(
        (c for c in siblings if c.dtype in sig.dtypes), None)
    like = same or (siblings[0] if siblings else None)
    specs = tuple(_spec(shape, dtype, like, i) for i, (shape, dtype) in enumerate(zip(sig.shapes, sig.dtypes)))
    reference = (like.reference if like else None) or sig.op
    skips = _records(siblings, "skips")
    if references.lookup(reference) is None:
        skips = (Rule("*", NO_REFERENCE.format(op=sig.op)),) + skips
    params = {k: _plain(v) for k, v in sig.kwargs.items() if not _holds_slot(v)}
    output = _output(sig.output)
    return Case(
        id=sig.id, op=sig.op, category=like.category if like else "trace", dtype=sig.dtype, inputs=specs,
        params=params, out=_out(output, same, sig), tolerance=same.tolerance if same else None,
        canonical=like.canonical if like else None, skips=skips, divergences=_records(siblings, "divergences"),
        reduction=_reduction(like, specs, params, sig.op), reduces=like.reduces if like else None,
        reference=reference if reference != sig.op else None,
        attempts=like.attempts if like else (), origin=origin, template=(tuple(sig.args), dict(sig.kwargs)),
        arrays=_arrays(sig), output=output, generated=_why_generated(sig), calls=sig.calls,
    )


def no_reference(cases: Iterable[Case]) -> list[str]:
    """The ops of ``cases`` that have no reference yet, by name, sorted."""
    return sorted({c.op for c in cases if any(r.reason == NO_REFERENCE.format(op=c.op) for r in c.skips)})


def _why_generated(sig: Signature) -> str | None:
    if sig.inputs is not None or not sig.shapes:
        return None
    return COMPILED if sig.compiled else DROPPED if sig.dropped else "its inputs were not recorded"


def _arrays(sig: Signature) -> tuple[np.ndarray, ...] | None:
    """The recorded inputs in their MLX dtypes (bfloat16 as ml_dtypes'), or None."""
    if sig.inputs is None:
        return None
    if len(sig.inputs) != len(sig.dtypes):
        raise InputError(f"{sig.id}: {len(sig.inputs)} recorded inputs for {len(sig.dtypes)} slots")
    return tuple(np.asarray(a).astype(dt.np_dtype(d), copy=False) for a, d in zip(sig.inputs, sig.dtypes))


def _output(output) -> tuple[np.ndarray, ...] | None:
    """What the program got, as numpy arrays; None where it has no MLX dtype (not an array)."""
    if output is None:
        return None
    arrays = tuple(np.asarray(o) for o in output)
    try:
        [dt.name_of(a.dtype) for a in arrays]
    except KeyError:
        return None
    return arrays


def _out(output, same: Case | None, sig: Signature) -> tuple[str, ...]:
    """The dtypes the call returns: those the program got; else a dtype it asked for
    (``astype``, ``dtype=``); else the catalog's for the same op and dtype; else the main input's."""
    if output is not None:
        return tuple(dt.name_of(a.dtype) for a in output)
    asked = _dtypes_in((sig.args, sig.kwargs))
    if asked:
        return (asked[0],)
    return same.out if same and same.out and "dtype" not in same.params else (sig.dtype,)


def _dtypes_in(value) -> list[str]:
    """The names of the DTypes among a call's arguments, in order."""
    if isinstance(value, DType):
        return [value.name]
    if isinstance(value, dict):
        value = list(value.values())
    return [d for v in value for d in _dtypes_in(v)] if isinstance(value, (list, tuple)) else []


def _spec(shape, dtype: str, like: Case | None, i: int) -> InputSpec:
    """The spec of one input: its shape and dtype, and for generated inputs the domain and
    structure of the catalog's input in that place where it is of the same kind."""
    spec = InputSpec(shape=tuple(shape), dtype=dtype)
    theirs = like.inputs[i] if like and i < len(like.inputs) else None
    if theirs is None or theirs.structure == "quantized" or dt.kind(theirs.dtype) != dt.kind(dtype):
        return spec
    return InputSpec(shape=spec.shape, dtype=dtype, domain=theirs.domain, structure=theirs.structure)


def _records(siblings: list[Case], kind: str) -> tuple[Rule, ...]:
    """Every skip (or divergence) record of the op's catalog cases, once each, in file order."""
    return tuple(dict.fromkeys(r for c in siblings for r in getattr(c, kind)))


def _reduction(like: Case | None, specs: tuple[InputSpec, ...], params: dict, op: str) -> int | None:
    """K of the call's own shapes, by the catalog's ``reduces`` of its op."""
    if like is None or like.reduces is None:
        return None
    try:
        return derive.reduction({"reduces": like.reduces, "params": params}, specs, Where(Path("trace"), op))
    except InputError:  # its axis is not one the catalog's rule reads: the default tolerance
        return None


def _holds_slot(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_slot(v) for v in value)
    return isinstance(value, Slot)


def _plain(value):
    """A param as a case file writes it: a dtype by its name."""
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value.name if isinstance(value, DType) else value
