"""MLX's API on another framework: what the peer targets (``torch:*``, ``cupy:*``) share.

A peer target is a port of MLX's API. Its op table maps an MLX op name to a callable in the
framework's own terms, and ops that the table lacks are looked up by name in the framework's
namespace (``xp.exp``, ``xp.linalg.qr``); an MLX alias (``concat``) takes its original's port
(``concatenate``), never the framework's namesake (``torch.concat``). This module wraps every
callable once with MLX's conventions, so a table entry never repeats them:

- keywords are renamed to the framework's (``axis`` -> ``dim`` for torch);
- an op that MLX computes in floating point (``sin``, ``mean``, ``divide``) gets bool and integer
  inputs as float32, as MLX casts them;
- a result whose dtype differs from MLX's by convention only (argmax gives uint32 in MLX, int64
  elsewhere; a sum of int8 is int32) is cast to MLX's dtype;
- creation ops default to float32, as in MLX.

What the framework truly lacks stays out of the table, and shows as ``unsupported``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from .. import dtypes as dt
from . import Target, resolve

# Ops whose framework function of the same name means something else: never looked up by name.
# Random ops (``random.*``) draw from MLX's keys, which no other framework has.
NOT_BY_NAME = frozenset("view take equal repeat split power std var quantize dequantize quantized_matmul".split())

# MLX's other names of an op, as MLX defines them (``mx.concat`` does what ``mx.concatenate`` does;
# ``mx.empty`` is ``mx.zeros`` in 0.32.4): the port of an alias is the port of its original, never
# the framework's function of the alias's name (``torch.concat``, ``torch.empty`` differ).
ALIASES = {
    "pow": "power", "atan2": "arctan2", "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift",
    "asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
    "atanh": "arctanh", "conj": "conjugate", "concat": "concatenate", "permute_dims": "transpose",
    "empty": "zeros", "empty_like": "zeros_like", "cumulative_sum": "cumsum", "cumulative_prod": "cumprod",
    "matrix_norm": "linalg.norm",
}


def _promoted(names: list[str]) -> str | None:
    return functools.reduce(dt.promote, names) if names else None


def _inexact(names: list[str]) -> str | None:
    return dt.inexact(_promoted(names)) if names else None


def _magnitude(names: list[str]) -> str | None:
    """A real result: complex64 gives float32 (abs, real, imag)."""
    name = _promoted(names)
    return "float32" if name == "complex64" else name


def _real_inexact(names: list[str]) -> str | None:
    name = _inexact(names)
    return "float32" if name == "complex64" else name


def _accumulated(names: list[str]) -> str | None:
    return dt.accumulated(names[0]) if names else None


def _shifted(names: list[str]) -> str | None:
    """A shift of bools gives uint8 in MLX."""
    return "uint8" if names and set(names) == {"bool"} else _promoted(names)


def _fixed(name: str) -> Callable[[list[str]], str]:
    return lambda names: name


# Ops that MLX computes in floating point: integer and bool inputs become float32 first.
INEXACT = (
    "divide arctan2 logaddexp reciprocal sqrt rsqrt exp expm1 log log2 log10 log1p sin cos tan "
    "arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh erf erfinv sigmoid degrees radians "
    "logsumexp softmax logcumsumexp"
).split()

PROMOTING = (
    "add subtract multiply floor_divide remainder divmod power maximum minimum where clip "
    "bitwise_and bitwise_or bitwise_xor matmul inner outer kron tensordot "
    "negative sign square floor ceil round cumprod cummax cummin concatenate stack conjugate"
).split()

# MLX's result dtype, from the MLX dtypes of the array arguments, where frameworks differ.
RESULT_DTYPES: dict[str, Callable[[list[str]], str | None]] = {
    **{op: _promoted for op in PROMOTING},
    **{op: _inexact for op in INEXACT},
    **{op: _inexact for op in ("mean", "median")},
    **{op: _real_inexact for op in ("var", "std")},
    **{op: _fixed("bool") for op in ("all", "any")},
    **{op: _shifted for op in ("left_shift", "right_shift")},
    "cumsum": lambda names: "int32" if names == ["bool"] else _promoted(names),
    **{op: _magnitude for op in ("abs", "real", "imag")},
    **{op: _accumulated for op in ("sum", "prod", "trace")},
    **{op: _fixed("uint32") for op in ("argmax", "argmin", "argsort", "argpartition", "searchsorted")},
    **{op: _fixed("int32") for op in ("count_nonzero",)},
    **{op: _fixed("float32") for op in ("bartlett", "hanning", "hamming", "blackman",
                                         "fft.fftfreq", "fft.rfftfreq")},
    **{f"fft.{op}": _fixed("complex64")
       for op in ("fft", "ifft", "rfft", "fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn")},
    **{f"fft.{op}": _fixed("float32") for op in ("irfft", "irfft2", "irfftn")},
    **{f"linalg.{op}": _fixed("complex64") for op in ("eig", "eigvals")},  # complex64, as MLX's, for float64 too
}

# Keywords that take part in the promotion of an op's result (arrays, or Python scalars).
PROMOTED_KEYWORDS = {"clip": ("a_min", "a_max")}

# MLX's creation ops make float32 when no dtype is given.
FLOAT32_BY_DEFAULT = ("zeros", "ones", "eye", "identity", "tri", "linspace")


def key_seed(key) -> int | None:
    """A seed for another framework's generator from MLX's random key, its two uint32 words.
    The catalog tests the law that samples follow, never bits, which only MLX's threefry makes."""
    if key is None:  # MLX's global generator: another framework's own stands in
        return None
    hi, lo = (int(w) for w in key.reshape(-1).tolist()[:2])
    return hi << 32 | lo


def scalar_dtype(*values) -> str:
    """MLX's dtype of Python scalars (arange's arguments, full's value): float32 if one is a
    float, else int32, or int64 when one does not fit; bool for bools."""
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if not all(isinstance(v, int) for v in values):
        return "float32"
    return "int32" if all(-(2**31) <= v < 2**31 for v in values) else "int64"


class PortedTarget(Target):
    """A target that implements MLX's API on another framework's array namespace ``xp``."""

    renames: dict[str, str] = {}  # MLX keyword -> the framework's, for every op

    def namespace(self) -> Any:
        """The framework's array namespace (``torch``, ``cupy``, ``numpy``)."""
        raise NotImplementedError

    def table(self, xp) -> dict[str, Callable]:
        """Ops that are not ``xp``'s function of the same name, in the framework's terms."""
        return {}

    def keyword(self, key: str, value: Any) -> tuple[str, Any]:
        """An MLX keyword argument in the framework's terms; by default only renamed."""
        return self.renames.get(key, key), value

    def dtype_name(self, x: Any) -> str | None:
        """The MLX dtype name of an array argument; None for anything else."""
        raise NotImplementedError

    def cast(self, x: Any, name: str) -> Any:
        """``x`` as the MLX dtype ``name``."""
        raise NotImplementedError

    def _weak(self, names: list[str], value: Any) -> str | None:
        """The dtype an operand adds to a promotion: a Python scalar only lifts the kind of
        ``names`` (a bool array with an int gives int32), as MLX's weak scalars do."""
        if not isinstance(value, (bool, int, float)) or not names:
            return self.dtype_name(value) if value is not None else None
        order = ("bool", "int", "float")
        kind = dt.kind(names[0]).replace("uint", "int")
        scalar = scalar_dtype(value)
        if kind in order and order.index(dt.kind(scalar)) > order.index(kind):
            return scalar
        return None

    def function(self, op: str) -> Callable | None:
        xp = self.namespace()
        op = ALIASES.get(op, op)
        fn = self.table(xp).get(op)
        if fn is None and not op.startswith("random.") and op not in NOT_BY_NAME:
            fn = resolve(xp, op)
        return None if fn is None else functools.partial(self._conform, op, fn)

    def _conform(self, op: str, fn: Callable, *args, **kwargs):
        """``fn`` called with MLX's conventions around it (see the module's docstring)."""
        names = [n for n in map(self.dtype_name, args) if n]
        operands = [kwargs.get(k) for k in PROMOTED_KEYWORDS.get(op, ())]
        names = names[:1] + [n for n in (self._weak(names[:1], v) for v in operands) if n] + names[1:]
        if op in INEXACT and names and all(dt.kind(n) in ("bool", "int", "uint") for n in names):
            args = tuple(self.cast(a, "float32") if self.dtype_name(a) else a for a in args)
        # a dtype the call names, by keyword or (a traced call: mx.zeros(shape, mx.bfloat16)) by position
        explicit = kwargs.get("dtype") is not None or any(isinstance(a, type(self.param("dtype", "float32")))
                                                          for a in args)
        if op in FLOAT32_BY_DEFAULT and not explicit:
            kwargs["dtype"] = self.param("dtype", "float32")
        out = fn(*args, **dict(self.keyword(k, v) for k, v in kwargs.items()))
        rule = RESULT_DTYPES.get(op)
        name = rule(names) if rule and not explicit else None  # an explicit dtype decides
        if name is None:
            return out
        return tuple(self.cast(o, name) for o in out) if isinstance(out, (tuple, list)) else self.cast(out, name)
