"""The bookkeeping of recording: each distinct call once, as a :class:`Signature`, then a count.

A call's key is cheap to compute (the op, each array's shape and dtype, the other arguments as
they are), so a repeated call costs a walk over its arguments and a dict lookup. Only the first
call of a key builds its template and id, and keeps its arrays: as MLX arrays, copied to numpy by
:meth:`Recorder.finish` once the program has ended. Copying them mid-program would evaluate them
there, out of the program's own order, and cost the program MLX's lazy batching.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..shapes import format_shapes
from .calls import DType, Signature, Slot

# MLX's messages when an array computed from placeholders (of mx.compile or vmap tracing a
# function) is evaluated: during the tracing, and afterwards.
TRANSFORMED = ("function transformations", "without a primitive")
SCALARS = frozenset({int, float, bool, str, type(None), type(Ellipsis)})


class Recorder:
    """Counts the calls it is handed and keeps the first of each signature, with its arrays.

    ``depth`` is above zero while a recorded call runs, so the calls it makes itself pass through
    unrecorded: each call is recorded once, at the outermost level. ``compiling`` is above zero
    while ``mx.compile`` traces a function. :meth:`finish` turns the kept arrays into numpy."""

    def __init__(self) -> None:
        import mlx.core as mx

        from .. import dtypes as dt
        from ..backends.mlx_backend import attribute

        self.array, self.dtype_type = mx.array, mx.Dtype
        self.dtype_names = {getattr(mx, attribute(n)): n for n in dt.NAMES}
        self.bfloat16, self.mx_bfloat16 = dt.np_dtype("bfloat16"), mx.bfloat16
        self.signatures: dict[tuple, Signature] = {}
        self.ids: set[str] = set()
        self.kept: list[tuple[Signature, list]] = []  # each first call's [inputs, outputs], as MLX arrays
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
            key = (op, tuple(map(self._key, args)), self._key(kwargs) if kwargs else ())
            found = self.signatures.get(key)
            if found is not None:
                found.calls += 1
                return run()
            signature, kept = self._new(op, args, kwargs, names)
            self.signatures[key] = signature
            out = run()  # a call that raises keeps its inputs, without an output
            if kept is not None:
                kept[1] = self._outputs(args[0] if mutates else out)
            return out
        finally:
            self.depth -= 1

    def _key(self, value: Any) -> Any:
        """What tells calls apart: an array's shape and dtype, any other value as it is, with
        its type (1, 1.0 and True are equal keys to a dict). Called for every argument of every
        call, so the common kinds come first."""
        kind = type(value)
        if kind is self.array or kind is np.ndarray:
            return kind, value.shape, value.dtype
        if kind in SCALARS:
            return kind, value
        if kind is tuple or kind is list:
            return kind, tuple(map(self._key, value))
        if kind is dict:
            return tuple((k, self._key(v)) for k, v in value.items() if k != "stream")
        if kind is slice:
            return kind, self._key(value.start), self._key(value.stop), self._key(value.step)
        try:
            hash(value)
        except TypeError:
            return kind, repr(value)
        return kind, value

    def _new(self, op: str, args: tuple, kwargs: dict, names: Callable[[], tuple]) -> tuple[Signature, list | None]:
        """The signature of a first call, and what is kept of it: ``[inputs, outputs]``, the
        outputs to be filled in (None inside mx.compile, where arrays are placeholders)."""
        arrays: list = []
        template = self._template(args, arrays)
        keywords = {k: self._template(v, arrays) for k, v in kwargs.items() if k != "stream"}
        shapes = tuple(tuple(a.shape) for a in arrays)
        dtypes = tuple(self._dtype_name(a.dtype) for a in arrays)
        signature = Signature(op=op, id=self._unique(signature_id(op, names(), template, keywords, shapes, dtypes)),
                              args=template, kwargs=keywords, shapes=shapes, dtypes=dtypes)
        if self.compiling:
            signature.compiled = True
            return signature, None
        kept = [[self._snapshot(a) for a in arrays], None]
        self.kept.append((signature, kept))
        return signature, kept

    def _snapshot(self, a: Any) -> Any:
        """``a`` as it is now, without evaluating it: a new MLX handle on the same immutable value
        (the program's ``a[i] = v`` or ``a += b`` then rebinds only its own handle), or a numpy copy."""
        return np.array(a) if isinstance(a, np.ndarray) else self.array(a)

    def _outputs(self, out: Any) -> list | None:
        """Snapshots of the arrays the program got from a call, or None if it got none."""
        flat = out if isinstance(out, (tuple, list)) else [out]
        arrays = [self.array(x) for x in flat if isinstance(x, self.array)]
        return arrays or None

    def finish(self) -> None:
        """Copy the kept arrays of each signature to numpy, once MLX is no longer patched: all in
        one evaluation. A signature whose arrays have no values (recorded inside a function that
        mx.compile compiled before recording began: its arrays were placeholders) is ``compiled``,
        without arrays."""
        try:
            self._copy(self.kept)
        except (ValueError, RuntimeError) as exc:  # which ones are placeholders: one at a time
            _transformed(exc)
            for signature, kept in self.kept:
                try:
                    self._copy([(signature, kept)])
                except (ValueError, RuntimeError) as exc:
                    _transformed(exc)
                    signature.inputs, signature.output, signature.compiled = None, None, True
        self.kept = []

    def _copy(self, kept: list[tuple[Signature, list]]) -> None:
        """Each signature's ``inputs`` and ``output`` from its kept ``[inputs, outputs]``."""
        import mlx.core as mx

        arrays = [a for _, (inputs, output) in kept for a in inputs + (output or []) if isinstance(a, self.array)]
        mx.eval(*arrays)
        # numpy reads no bfloat16 buffer: a contiguous one's bytes are read directly, any other
        # (strided, empty) goes as its bits, through views that MLX evaluates at once.
        bits = {id(a): a.view(mx.uint16) for a in arrays if a.dtype == self.mx_bfloat16
                and not (a.size and memoryview(a).c_contiguous)}
        mx.eval(*bits.values())
        for signature, (inputs, output) in kept:
            signature.inputs = [self._numpy(a, bits) for a in inputs]
            signature.output = output and [self._numpy(a, bits) for a in output]

    def _numpy(self, a: Any, bits: dict) -> np.ndarray:
        """An evaluated array in numpy, read-only, on MLX's own buffer: no copy (an evaluated MLX
        array never changes, and the numpy array keeps it alive); numpy's were copied when kept."""
        if isinstance(a, np.ndarray):
            return a
        if id(a) in bits:
            view = np.asarray(bits[id(a)]).view(self.bfloat16)
        elif a.dtype == self.mx_bfloat16:
            view = np.frombuffer(memoryview(a).cast("B"), self.bfloat16).reshape(a.shape)
        else:
            view = np.asarray(a)
        view.flags.writeable = False
        return view

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

    def _unique(self, text: str) -> str:
        """``text``, or ``text#2``, ... where another signature formats the same (``(1,2)`` as a
        tuple and as a list)."""
        candidate, n = text, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{text}#{n}"
        self.ids.add(candidate)
        return candidate


def _transformed(exc: Exception) -> None:
    """Re-raise ``exc`` unless it is MLX's for evaluating an array computed from placeholders."""
    if not any(text in str(exc) for text in TRANSFORMED):
        raise exc


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
