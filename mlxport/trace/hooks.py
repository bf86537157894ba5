"""What the recorder patches in MLX, and the catalog op each patched attribute records as.

Public functions record under their own names (``mx.fast.rope`` -> ``fast.rope``). The array's
operators record as the function MLX computes them with (``a @ b`` -> ``matmul``, ``2 * a`` ->
``multiply(2, a)``), its methods as the function of the same name with the array first
(``a.sum(-1)`` -> ``sum(a, -1)``), and ``a[i]``, ``a[i] = v``, ``a.at[i].add(v)`` as
``getitem``, ``setitem`` and ``at.add``. ``mx.compile`` is wrapped so that the recorder knows
when a function is being traced with placeholders.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from typing import Any, Callable, Iterator

from ..references import resolve
from .recorder import Recorder

BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide", "div": "divide",
          "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "matmul": "matmul",
          "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift",
          "rshift": "right_shift", "lt": "less", "le": "less_equal", "gt": "greater",
          "ge": "greater_equal", "eq": "equal", "ne": "not_equal"}
UNARY = {"__neg__": "negative", "__invert__": "bitwise_invert", "__abs__": "abs"}
PROPERTIES = {"T": "transpose", "mT": "matrix_transpose", "real": "real", "imag": "imag"}
VARARGS = ("reshape", "transpose")  # a.reshape(2, 3) is mx.reshape(a, (2, 3))
AT = ("add", "subtract", "multiply", "divide", "maximum", "minimum")
OPERANDS = (bool, int, float, complex)  # besides arrays: ``a == None`` is no computation


@contextlib.contextmanager
def patched(recorder: Recorder, skip: set[str]) -> Iterator[None]:
    """MLX patched to report to ``recorder`` (except the functions named in ``skip``, which do
    not compute); on leaving, every attribute is its original object again."""
    import mlx.core as mx

    from ..api import public_functions

    public = set(public_functions()) - skip - {"compile"}
    replaced: list[tuple[Any, str, Any]] = []

    def put(owner: Any, name: str, value: Any) -> None:
        replaced.append((owner, name, vars(owner).get(name, _ABSENT) if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    originals = {op: resolve(mx, op) for op in public}  # before any is patched
    try:
        for op in sorted(public):
            space, _, name = op.rpartition(".")
            module = getattr(mx, space) if space else mx
            put(module, name, _function(recorder, op, originals[op]))
        put(mx, "compile", _compile(recorder, mx.compile))
        for name, value in _array_hooks(recorder, mx.array, originals):
            put(mx.array, name, value)
        yield
    finally:
        for owner, name, original in reversed(replaced):
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_ABSENT = object()


def _function(recorder: Recorder, op: str, fn: Callable) -> Callable:
    names = functools.partial(parameters, fn)

    def recorded(*args, **kwargs):
        return recorder.call(op, args, kwargs, lambda: fn(*args, **kwargs), names)

    return _like(fn, recorded)


def _compile(recorder: Recorder, compile_: Callable) -> Callable:
    """``mx.compile`` whose function runs with the recorder's ``compiling`` flag up: while MLX
    traces it, its arrays are placeholders without values."""

    @functools.wraps(compile_)
    def compile(fun, *args, **kwargs):
        if not callable(fun):
            return compile_(fun, *args, **kwargs)

        @functools.wraps(fun)
        def traced(*a, **k):
            recorder.compiling += 1
            try:
                return fun(*a, **k)
            finally:
                recorder.compiling -= 1

        return compile_(traced, *args, **kwargs)

    return compile


def _array_hooks(recorder: Recorder, array: type, functions: dict[str, Callable]) -> Iterator[tuple[str, Any]]:
    """(attribute of mx.array, its recording replacement); ``functions``: the recorded public
    functions by op, whose parameters name a method's arguments."""
    public = functions.keys()
    for short, op in BINARY.items():
        for prefix, order in (("", 1), ("r", -1), ("i", 1)):
            name = f"__{prefix}{short}__"
            if name in vars(array) and op in public:
                yield name, _operator(recorder, op, getattr(array, name), order)
    for name, op in UNARY.items():
        if op in public:
            yield name, _method(recorder, op, getattr(array, name), _no_names)
    for name, op in PROPERTIES.items():
        if name in vars(array) and op in public:
            yield name, _property(recorder, op, vars(array)[name])
    for name in dir(array):
        if not name.startswith("_") and name in public and not isinstance(vars(array).get(name), property):
            yield name, _method(recorder, name, getattr(array, name), functools.partial(parameters, functions[name]))
    yield "__getitem__", _method(recorder, "getitem", array.__getitem__, lambda: ("a", "index"))
    yield "__setitem__", _method(recorder, "setitem", array.__setitem__, lambda: ("a", "index", "values"), True)
    yield "at", _at_property(recorder, vars(array)["at"])


def _operator(recorder: Recorder, op: str, method: Callable, order: int) -> Callable:
    """``a + b`` as ``add(a, b)``; reflected (``order`` -1), ``2 * a`` as ``multiply(2, a)``."""
    array = recorder.array

    def recorded(self, other):
        if not isinstance(other, (array, *OPERANDS)):
            return method(self, other)
        return recorder.call(op, (self, other)[::order], {}, lambda: method(self, other), _binary_names)

    return _like(method, recorded)


def _method(recorder: Recorder, op: str, method: Callable, names: Callable, mutates: bool = False) -> Callable:
    """``a.op(*args)`` as ``op(a, *args)``; ``a.reshape(2, 3)`` as ``reshape(a, (2, 3))``."""
    varargs = op in VARARGS

    def recorded(self, *args, **kwargs):
        shown = (tuple(args),) if varargs and args and not isinstance(args[0], (tuple, list)) else args
        return recorder.call(op, (self, *shown), kwargs, lambda: method(self, *args, **kwargs), names, mutates)

    return _like(method, recorded)


def _property(recorder: Recorder, op: str, prop: property) -> property:
    return property(lambda self: recorder.call(op, (self,), {}, lambda: prop.fget(self), _no_names), doc=prop.__doc__)


def _at_property(recorder: Recorder, prop: property) -> property:
    """``a.at[indices].add(values)`` recorded as ``at.add(a, indices, values)``."""

    class At:
        def __init__(self, a):
            self.a = a

        def __getitem__(self, indices):
            return Scatter(self.a, indices)

    class Scatter:
        def __init__(self, a, indices):
            self.a, self.indices = a, indices

    def scatter(name: str) -> Callable:
        def method(self, values):
            run = lambda: getattr(prop.fget(self.a)[self.indices], name)(values)  # noqa: E731
            return recorder.call(f"at.{name}", (self.a, self.indices, values), {}, run, _at_names)

        return method

    for name in AT:
        setattr(Scatter, name, scatter(name))
    return property(At, doc=prop.__doc__)


def _like(original: Callable, wrapper: Callable) -> Callable:
    """``wrapper`` named as ``original``: functools.wraps, less what makes it cost most of the
    patching (nanobind computes each function's ``__qualname__`` on asking)."""
    name = getattr(original, "__name__", None)
    if name is not None:
        wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__module__, wrapper.__doc__ = getattr(original, "__module__", None), original.__doc__
    wrapper.__wrapped__ = original
    return wrapper


def _no_names() -> tuple[str, ...]:
    return ()


def _binary_names() -> tuple[str, ...]:
    return ("a", "b")


def _at_names() -> tuple[str, ...]:
    return ("a", "indices", "values")


@functools.lru_cache(maxsize=None)
def parameters(fn: Any) -> tuple[str, ...]:
    """The positional parameter names of an MLX function, from nanobind's signature text:
    ``def rope(a: array, dims: int, *, traditional: bool, ...)`` -> ``("a", "dims")``."""
    signature = getattr(fn, "__nb_signature__", None)
    if not signature:  # a Python function in MLX's place (a shim, a fix being tried)
        return _python_parameters(fn)
    text = signature[0][0]
    inside = text[text.find("(") + 1:]
    names = []
    for part in _top_level(inside):
        name = re.match(r"\s*([*/]?\w*)", part).group(1)
        if not name or name.startswith(("*", "/")) or name in ("self", "stream"):
            if name.startswith("*"):
                break
            continue
        names.append(name)
    return tuple(names)


def _python_parameters(fn: Any) -> tuple[str, ...]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in params if p.kind in positional)


def _top_level(text: str) -> list[str]:
    """The comma-separated parts of a parameter list up to its closing parenthesis."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            if depth == 0:
                return parts + [text[start:i]]
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]
