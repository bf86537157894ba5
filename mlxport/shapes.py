"""Shape strings in case files and ids: ``"(4,1) (1,5)"`` is two inputs, ``"()"`` a 0-d one."""

from __future__ import annotations

import math
import re

_SHAPE = re.compile(r"\(\s*((?:\d+\s*,\s*)*\d*)\s*,?\s*\)")


def parse_shapes(text: object, max_elements: int) -> tuple[tuple[int, ...], ...]:
    """``"(4,1) (1,5)"`` -> ``((4, 1), (1, 5))``; refuses anything larger than ``max_elements``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a shape string such as '(4,5) (5,)', or 'none'")
    if text.strip() == "none":  # an op with no array input: arange, eye, random with no key
        return ()
    shapes, rest = [], text.strip()
    while rest:
        match = _SHAPE.match(rest)
        if not match:
            raise ValueError(f"cannot read shape {rest!r} in {text!r}")
        dims = tuple(int(d) for d in re.split(r"\s*,\s*", match.group(1)) if d)
        if math.prod(dims) > max_elements:
            raise ValueError(f"shape {dims} has more than {max_elements} elements")
        shapes.append(dims)
        rest = rest[match.end():].lstrip()
    return tuple(shapes)


def format_shapes(shapes: tuple[tuple[int, ...], ...]) -> str:
    """The inverse of :func:`parse_shapes`, without spaces: ``(4,1)x(1,5)``."""
    return "x".join(_one(s) for s in shapes) if shapes else "none"


def _one(shape: tuple[int, ...]) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ",".join(map(str, shape)) + ")"
