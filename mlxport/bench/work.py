"""The bytes a case moves and the flops it does, as its case data declares them.

A case entry may carry three optional fields (cases/README.md):

    dims: "(M,K) (K,N)"     # names for the dimensions of the inputs, one group per input
    flops: "2*M*N*K"        # a formula over those names and the case's numeric params
    bytes: io               # the default: every input's and every output's bytes, read once

A formula is data, never code: it is parsed with :mod:`ast` and only numbers, names, ``+ - * /
// **``, unary minus, parentheses and the functions in ``FUNCTIONS`` are allowed. Beyond the dims
and params, a formula may use ``itemsize`` (of the case's dtype), ``in_bytes`` (the inputs as
the op receives them: the packed words and scales of a quantized matrix, not the float matrix),
``out_bytes`` (the outputs, in their declared dtypes) and ``io`` (``in_bytes + out_bytes``).
The last three are known once the inputs and the golden exist, so ``cost`` is evaluated there;
``declare`` checks a formula when the case file loads, so a typo fails with the file and line.

    cost(case, [i.value for i in inputs], golden)  # -> (bytes, flops), flops None if undeclared
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from .. import dtypes as dt

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}
FUNCTIONS = {"log2": math.log2, "min": min, "max": max, "ceil": math.ceil}
WORK_FIELDS = {"dims", "bytes", "flops"}
LATE = ("in_bytes", "out_bytes", "io")  # known once the inputs and outputs exist
MAX_FORMULA = 200
MAX_VALUE = 1e30
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Work:
    """A case's declared work: formulas and the values of the names they use."""

    bytes: str = "io"
    flops: str | None = None
    names: tuple[tuple[str, float], ...] = ()  # dims bound from the shapes, numeric params, itemsize


def declare(entry: Mapping, shapes: Sequence[tuple[int, ...]], params: Mapping, dtype: str) -> Work:
    """The Work of one case of a (merged) entry; ValueError(field, message) on bad declarations."""
    names = {**_numeric(params), "itemsize": dt.bits(dtype) // 8,
             **bind(entry.get("dims"), shapes)}
    work = Work(bytes=_text(entry.get("bytes", "io"), "bytes"), flops=_optional(entry.get("flops")),
                names=tuple(sorted(names.items())))
    probe = {**names, **{n: 1 for n in LATE}}  # a trial run: unknown names and syntax fail now
    for key in ("bytes", "flops"):
        formula = getattr(work, key)
        if formula is not None:
            try:
                evaluate(formula, probe)
            except ValueError as exc:
                raise ValueError(key, str(exc)) from None
    return work


def cost(case, inputs: Sequence, outputs: Sequence) -> tuple[int | None, int | None]:
    """(bytes, flops) of one call of ``case``; ``inputs`` as the op receives them, ``outputs``
    the golden (its shapes; the dtypes are the case's declared output dtypes)."""
    work = getattr(case, "work", None) or Work()
    in_bytes = sum(int(a.size) * a.dtype.itemsize for a in inputs)
    out_dtypes = list(case.out) + [None] * len(outputs)
    out_bytes = sum(int(o.size) * (dt.np_dtype(d).itemsize if d else o.dtype.itemsize)
                    for o, d in zip(outputs, out_dtypes))
    names = {**dict(work.names), "in_bytes": in_bytes, "out_bytes": out_bytes, "io": in_bytes + out_bytes}
    flops = round(evaluate(work.flops, names)) if work.flops is not None else None
    return round(evaluate(work.bytes, names)), flops


def bind(pattern, shapes: Sequence[tuple[int, ...]]) -> dict[str, int]:
    """Dimension names from a pattern such as ``"(M,K) (K,N)"``; a name seen twice must agree.
    ``_`` ignores a dimension. ValueError('dims', message) when the shapes do not fit."""
    if pattern is None:
        return {}
    groups = re.findall(r"\(([^()]*)\)", pattern) if isinstance(pattern, str) else None
    if not groups or re.sub(r"\([^()]*\)|\s", "", pattern):
        raise ValueError("dims", f"{pattern!r} is not a pattern of named dims such as '(M,K) (K,N)'")
    if len(groups) != len(shapes):
        raise ValueError("dims", f"{pattern!r} names {len(groups)} inputs but the case has {len(shapes)}")
    bound: dict[str, int] = {}
    for group, shape in zip(groups, shapes):
        names = [n.strip() for n in group.split(",") if n.strip()]
        if len(names) != len(shape) or not all(_NAME.match(n) for n in names):
            raise ValueError("dims", f"({group}) does not name the {len(shape)} dims of shape {shape}")
        for name, size in zip(names, shape):
            if name != "_" and bound.setdefault(name, size) != size:
                raise ValueError("dims", f"{name} is {bound[name]} in one input and {size} in another {shape}")
    return bound


def evaluate(formula: str, names: Mapping[str, float]) -> float:
    """The value of an arithmetic formula over ``names``; ValueError on anything else.

        evaluate("2*M*N*K", {"M": 4, "N": 5, "K": 6})  # -> 240
    """
    if not isinstance(formula, str) or len(formula) > MAX_FORMULA:
        raise ValueError(f"a formula is a string of at most {MAX_FORMULA} characters, not {formula!r}")
    value = _walk(_parse(formula), names, formula)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"formula {formula!r} gives {value}, not a finite count >= 0")
    return value


@functools.lru_cache(maxsize=1024)
def _parse(formula: str) -> ast.AST:
    """The syntax tree of a formula, parsed once: the catalog repeats a few formulas in every case."""
    try:
        return ast.parse(formula.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"cannot read formula {formula!r}: {exc.msg}") from None


def _walk(node: ast.AST, names: Mapping[str, float], formula: str) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ValueError(f"formula {formula!r}: unknown name {node.id!r} (known: {known})")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _walk(node.left, names, formula), _walk(node.right, names, formula)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError(f"formula {formula!r}: exponent {right} is too large")
        try:
            value = BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ValueError(f"formula {formula!r} divides by zero") from None
        if abs(value) > MAX_VALUE:  # keeps nested powers from growing without bound
            raise ValueError(f"formula {formula!r} exceeds {MAX_VALUE:.0e}")
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _walk(node.operand, names, formula)
        return -value if isinstance(node.op, ast.USub) else value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
            and not node.keywords and node.args):
        try:
            return FUNCTIONS[node.func.id](*(_walk(a, names, formula) for a in node.args))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"formula {formula!r}: {node.func.id}: {exc}") from None
    raise ValueError(f"formula {formula!r}: {ast.unparse(node)!r} is not allowed "
                     f"(numbers, names, + - * / // **, {', '.join(FUNCTIONS)})")


def _numeric(params: Mapping) -> dict[str, float]:
    """The params a formula may name: plain numbers (bools and None are not counts)."""
    return {k: v for k, v in params.items()
            if type(v) in (int, float) and _NAME.match(k) and k not in LATE + ("itemsize",)}


def _text(value, key: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(key, f"{value!r}: declare a formula over the shapes ('2*M*N*K', io), not a number")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(key, f"{value!r} is not a formula such as '2*M*N*K' or io")
    return value.strip()


def _optional(value) -> str | None:
    return None if value is None else _text(value, "flops")
