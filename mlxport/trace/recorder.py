"""The bookkeeping of recording: each distinct call once, as a :class:`Signature`, then a count.

A call's key is cheap to compute (the op, each array's shape and dtype, the other arguments as
they are), so a repeated call costs a walk over its arguments and a dict lookup. Only the first
call of a key builds its template and id and copies its arrays to numpy.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..shapes import format_shapes
from .calls import DType, Signature, Slot

# MLX's message when an array without a value (a placeholder of mx.compile or vmap) is evaluated.
TRANSFORMED = "function transformations"


class Recorder:
    """Counts the calls it is handed and keeps the first of each signature, with its arrays.

    ``depth`` is above zero while a recorded call runs, so the calls it makes itself (and the
    conversions of its arrays) pass through unrecorded: each call is recorded once, at the
    outermost level. ``compiling`` is above zero while ``mx.compile`` traces a function."""

    def __init__(self) -> None:
        import mlx.core as mx

        from .. import dtypes as dt
        from ..backends.mlx_backend import MLXTarget

        self.array, self.dtype_type = mx.array, mx.Dtype
        self.dtype_names = {getattr(mx, "bool_" if n == "bool" else n): n for n in dt.NAMES}
        self.to_numpy = MLXTarget("cpu").to_numpy
        self.signatures: dict[tuple, Signature] = {}
        self.ids: set[str] = set()
        self.depth = 0
        self.compiling = 0

    def call(self, op: str, args: tuple, kwargs: dict, run: Callable[[], Any], names: Callable[[], tuple],
             mutates: bool = False) -> Any:
        """``run()`` recorded as the call ``op(*args, **kwargs)``; ``mutates``: its result is
        ``args[0]`` afterwards (``a[i] = v``). ``names()``: the op's positional parameters, asked
        for a new signature only."""
        if self.depth:
            return run()
        self.depth += 1
        try:
            key = (op, self._key(args), self._key(kwargs))
            found = self.signatures.get(key)
            if found is not None:
                found.calls += 1
                return run()
            signature = self.signatures[key] = self._new(op, args, kwargs, names)
            out = run()
            if signature.inputs is not None:
                signature.output = self._copy(args[0] if mutates else out)
            return out
        finally:
            self.depth -= 1

    def _key(self, value: Any) -> Any:
        kind = type(value)
        if kind is self.array or kind is np.ndarray:
            return kind, value.shape, value.dtype
        if kind is tuple or kind is list:
            return kind, tuple(self._key(v) for v in value)
        if kind is dict:
            return tuple((k, self._key(v)) for k, v in value.items() if k != "stream")
        if kind is slice:
            return kind, self._key(value.start), self._key(value.stop), self._key(value.step)
        try:
            hash(value)
        except TypeError:
            return kind, repr(value)
        return kind, value  # the type too: 1, 1.0 and True are equal keys to a dict

    def _new(self, op: str, args: tuple, kwargs: dict, names: Callable[[], tuple]) -> Signature:
        arrays: list = []
        template = self._template(args, arrays)
        keywords = {k: self._template(v, arrays) for k, v in kwargs.items() if k != "stream"}
        shapes = tuple(tuple(a.shape) for a in arrays)
        dtypes = tuple(self._dtype_name(a.dtype) for a in arrays)
        signature = Signature(op=op, id=self._unique(signature_id(op, names(), template, keywords, shapes, dtypes)),
                              args=template, kwargs=keywords, shapes=shapes, dtypes=dtypes)
        if self.compiling:
            signature.compiled = True
            return signature
        try:
            signature.inputs = [self._numpy(a) for a in arrays]
        except ValueError as exc:  # a compiled function traced before recording began
            if TRANSFORMED not in str(exc):
                raise
            signature.compiled = True
        return signature

    def _template(self, value: Any, arrays: list) -> Any:
        """``value`` with each array replaced by a Slot (appended to ``arrays``), dtypes by DType."""
        if isinstance(value, (self.array, np.ndarray)):
            arrays.append(value)
            return Slot(len(arrays) - 1)
        if isinstance(value, (tuple, list)):
            return (tuple if isinstance(value, tuple) else list)(self._template(v, arrays) for v in value)
        if isinstance(value, slice):
            return slice(*(self._template(v, arrays) for v in (value.start, value.stop, value.step)))
        if isinstance(value, self.dtype_type):
            return DType(self.dtype_names[value])
        if isinstance(value, np.generic):
            return value.item()
        if value is None or value is Ellipsis or isinstance(value, (bool, int, float, complex, str)):
            return value
        return repr(value)  # a value no replay can pass: its row's error then says what it was

    def _dtype_name(self, dtype: Any) -> str:
        from .. import dtypes as dt

        return self.dtype_names[dtype] if dtype in self.dtype_names else dt.name_of(np.dtype(dtype))

    def _numpy(self, a: Any) -> np.ndarray:
        return np.array(a) if isinstance(a, np.ndarray) else self.to_numpy(a)

    def _copy(self, out: Any) -> list[np.ndarray] | None:
        """The arrays the program got from a call, in numpy, or None if it got none."""
        flat = out if isinstance(out, (tuple, list)) else [out]
        arrays = [self.to_numpy(x) for x in flat if isinstance(x, self.array)]
        return arrays or None

    def _unique(self, text: str) -> str:
        """``text``, or ``text#2``, ... where another signature formats the same (``(1,2)`` as a
        tuple and as a list)."""
        candidate, n = text, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{text}#{n}"
        self.ids.add(candidate)
        return candidate


def signature_id(op: str, names: tuple[str, ...], args: tuple, kwargs: dict, shapes: tuple, dtypes: tuple) -> str:
    """The catalog's id style: ``op[dtype,shapes,name=value,...]``. A positional array (or list of
    arrays) is in the shapes only; a keyword array and an array inside a value (an index) show as their shape.

    >>> signature_id("fast.rope", ("a", "dims"), (Slot(0), 32), {"offset": 0}, ((1, 4, 12, 32),), ("bfloat16",))
    'fast.rope[bfloat16,(1,4,12,32),dims=32,offset=0]'
    """
    parts = [dtypes[0] if dtypes else "none", format_shapes(shapes)]
    if len(set(dtypes)) > 1:
        parts.append("dtypes=(" + ",".join(dtypes) + ")")
    positional = [(names[i] if i < len(names) else f"arg{i}", v) for i, v in enumerate(args)]
    parts += [f"{k}={_value(v, shapes)}" for k, v in positional if not _arrays_only(v)]
    parts += [f"{k}={_value(v, shapes)}" for k, v in kwargs.items()]
    return f"{op}[{','.join(parts)}]"


def _arrays_only(value: Any) -> bool:
    """An array, or a list of arrays (``concatenate([a, b])``): the shapes show it already."""
    if isinstance(value, (tuple, list)):
        return bool(value) and all(isinstance(v, Slot) for v in value)
    return isinstance(value, Slot)


def _value(value: Any, shapes: tuple) -> str:
    if isinstance(value, Slot):
        return format_shapes((shapes[value.index],))
    if isinstance(value, DType):
        return value.name
    if isinstance(value, slice):
        bounds = [("" if v is None else _value(v, shapes)) for v in (value.start, value.stop, value.step)]
        return ":".join(bounds[:2] if value.step is None else bounds)
    if value is Ellipsis:
        return "..."
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_value(v, shapes) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)
