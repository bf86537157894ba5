"""The fields of a Case that one expanded combination (dtype, shapes, values, layout) of a case
entry yields: input specs, output dtypes, argument order, tolerance, reduction length, work.
Each checks its part of the entry and fails with the entry's place (``schema.Where``)."""

from __future__ import annotations

import math

from . import dtypes as dt
from .bench.work import declare
from .model import InputSpec
from .schema import INPUT_FIELDS, SPECIALS, STRUCTURES, VALUE_CLASSES, Where, check_fields, one_of


def inputs(merged, shapes, dtype, values, layout, where: Where) -> tuple[InputSpec, ...]:
    """One spec per shape: the entry's ``inputs`` (else defaults) in this dtype, values and layout."""
    raw = merged.get("inputs") or [{} for _ in shapes]
    if not isinstance(raw, list) or len(raw) != len(shapes):
        raise where.fail(merged, "inputs", f"{len(shapes)} shapes but {len(raw)} inputs")
    specs = []
    for shape, spec in zip(shapes, raw):
        check_fields(spec, INPUT_FIELDS, where)
        own = spec.get("dtype", "main")
        if own != "main" and own not in dt.NAMES:
            raise where.fail(spec, "dtype", f"unknown dtype {own!r}")
        specs.append(InputSpec(
            shape=shape,
            dtype=dtype if own == "main" else own,
            values=one_of(spec, "values", values if own == "main" else "normal", VALUE_CLASSES, where),
            domain=_domain(spec, where),
            structure=one_of(spec, "structure", None, STRUCTURES, where),
            specials=_specials(spec, where),
            layout=layout if own == "main" else "contiguous",
            name=spec.get("name"),
        ))
    return tuple(specs)


def _domain(spec, where):
    domain = spec.get("domain")
    if domain is None:
        return None
    ok = isinstance(domain, list) and len(domain) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in domain)
    if not ok or domain[0] > domain[1]:
        raise where.fail(spec, "domain", "a pair [low, high] of numbers with low <= high")
    return (domain[0], domain[1])


def _specials(spec, where):
    specials = spec.get("specials")
    if specials is None:
        return None
    if not isinstance(specials, list) or not all(str(s) in SPECIALS for s in specials):
        raise where.fail(spec, "specials", f"a list drawn from {', '.join(SPECIALS)}")
    return tuple(str(s) for s in specials)


def out(merged, specs, dtype, where: Where) -> tuple[str, ...]:
    """The output dtypes: declared, or derived from the inputs by MLX's promotion rules."""
    declared = merged.get("out", "promote")
    promoted = dtype
    for spec in specs:
        promoted = dt.promote(promoted, spec.dtype) if spec.name is None else promoted
    words = {"promote": promoted, "inexact": dt.inexact(promoted),
             "accumulate": dt.accumulated(promoted), "main": dtype}
    result = []
    for item in declared if isinstance(declared, list) else [declared]:
        name = words.get(item, item)
        if name not in dt.NAMES:
            raise where.fail(merged, "out", f"{item!r} is not a dtype, promote, inexact, accumulate or main")
        result.append(name)
    return tuple(result)


def positional(merged, where: Where) -> tuple[str, ...] | None:
    """The order of positional arguments: ``arrays`` (the array inputs) and names of params."""
    order = merged.get("positional")
    if order is None:
        return None
    if not isinstance(order, list) or not all(n == "arrays" or n in merged["params"] for n in order):
        raise where.fail(merged, "positional", "a list of 'arrays' and names of params")
    return tuple(order)


def tolerance(merged, dtype, where: Where) -> dt.Tolerance | None:
    """The case's tolerance: ``{rtol, atol}``, or a mapping of dtype to ``{rtol, atol}``."""
    tol = merged.get("tolerance")
    if tol is None:
        return None
    per_dtype = isinstance(tol, dict) and not set(tol) <= {"rtol", "atol"}
    chosen = tol.get(dtype) if per_dtype else tol
    if chosen is None:
        return None
    if not isinstance(chosen, dict) or not set(chosen) <= {"rtol", "atol"} or not all(
            isinstance(v, (int, float)) and v >= 0 for v in chosen.values()):
        raise where.fail(merged, "tolerance", "{rtol: x, atol: y}, or a mapping of dtype to that")
    base = dt.default_tolerance(dtype)
    return dt.Tolerance(chosen.get("rtol", base.rtol), chosen.get("atol", base.atol))


def reduction(merged, specs, where: Where) -> int | None:
    """K, the number of terms each output sums: ``reduces: axis`` counts the first input's
    elements along the ``axis`` param (all of them without one); ``reduces: -1`` (an integer)
    takes that axis of the first input, as a matmul's contraction."""
    how = merged.get("reduces")
    if how is None or not specs:
        return None
    shape = specs[0].shape
    if how == "axis":
        axis = merged["params"].get("axis")
        axes = range(len(shape)) if axis is None else [axis] if isinstance(axis, int) else axis
        try:
            return math.prod(shape[a] for a in axes)
        except (IndexError, TypeError):
            raise where.fail(merged, "reduces", f"the axis param {axis!r} is not an axis of {shape}") from None
    if isinstance(how, int) and not isinstance(how, bool) and -len(shape) <= how < len(shape):
        return shape[how]
    raise where.fail(merged, "reduces", "'axis', or an integer axis of the first input")


MAX_REPEAT = 1000
MAX_ATTEMPTS = 100


def timeout(merged, where: Where) -> float | None:
    """The seconds a cell of the case may run, where its data sets a limit of its own."""
    value = merged.get("timeout")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise where.fail(merged, "timeout", "a number of seconds > 0")
    return value


def repeat(merged, where: Where) -> int:
    """How many times a cell runs its call."""
    value = merged.get("repeat", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPEAT:
        raise where.fail(merged, "repeat", f"an integer from 1 to {MAX_REPEAT}")
    return value


def attempts(merged, where: Where) -> tuple[tuple[str, int], ...]:
    """``attempts``: target glob -> how many new processes a cell there may run in before it
    counts as passing, e.g. ``{"mlx:*": 16}``."""
    declared = merged.get("attempts") or {}
    if not isinstance(declared, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_ATTEMPTS for n in declared.values()):
        raise where.fail(merged, "attempts", f"a mapping of target glob to an integer from 1 to {MAX_ATTEMPTS}")
    return tuple((str(target), count) for target, count in declared.items())


def work(merged, shapes, params, dtype, where: Where):
    """The bytes and flops a bench case declares (mlxport/bench/work.py), checked now."""
    try:
        return declare(merged, shapes, params, dtype)
    except ValueError as exc:
        key, message = exc.args
        raise where.fail(merged, key, message) from None
