"""MLX's dtypes as numpy sees them, MLX's promotion rules, and the default tolerances."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# The 14 dtypes of MLX, in MLX's own order.
NAMES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
         "float16", "bfloat16", "float32", "float64", "complex64")
_BITS = {"bool": 8, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "int8": 8, "int16": 16,
         "int32": 32, "int64": 64, "float16": 16, "bfloat16": 16, "float32": 32, "float64": 64,
         "complex64": 64}


def __getattr__(name: str):
    # ``DTYPES`` is made on first use: it needs ml_dtypes for bfloat16, whose import takes most
    # of a second (it registers its casts with numpy one by one), and the catalog, the command
    # line and a worker's start need only the names.
    if name == "DTYPES":
        return _dtypes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _dtypes() -> dict[str, np.dtype]:
    """The 14 dtypes as numpy dtypes (bfloat16 from ml_dtypes), by name."""
    import ml_dtypes

    return {n: np.dtype(ml_dtypes.bfloat16 if n == "bfloat16" else n) for n in NAMES}


FLOATS = ("float16", "bfloat16", "float32", "float64")
INTEGERS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
_FLOAT_RANK = {"float16": 0, "bfloat16": 0, "float32": 1, "float64": 2}


def np_dtype(name: str) -> np.dtype:
    """The numpy dtype of an MLX dtype name: ``np_dtype("bfloat16")``."""
    if name == "bfloat16":
        return _dtypes()[name]
    if name not in NAMES:
        raise KeyError(name)
    return np.dtype(name)  # numpy's own: no need to load ml_dtypes


def name_of(dtype: np.dtype) -> str:
    """The MLX name of a numpy dtype; the inverse of :func:`np_dtype`."""
    name = dtype.name
    if name in NAMES and np_dtype(name) == dtype:
        return name
    raise KeyError(f"{dtype} has no MLX equivalent")


def finfo(dtype: str | np.dtype):
    """The float limits of a float dtype (a name or a numpy dtype): numpy's, and ml_dtypes'
    for bfloat16, which numpy does not know."""
    dtype = np_dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    if dtype.name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.finfo(dtype)
    return np.finfo(dtype)


def kind(name: str) -> str:
    """One of ``bool``, ``uint``, ``int``, ``float``, ``complex``."""
    for prefix in ("bool", "uint", "int", "complex"):
        if name.startswith(prefix):
            return prefix
    return "float"


def bits(name: str) -> int:
    """The width of an integer or float dtype in bits."""
    return _BITS[name]


def promote(a: str, b: str) -> str:
    """MLX's result dtype of a binary op on ``a`` and ``b`` (mlx/dtype.cpp's table)."""
    if a == b or b == "bool":
        return a
    if a == "bool":
        return b
    ka, kb = kind(a), kind(b)
    if "complex" in (ka, kb):
        return "complex64"
    if ka == "float" and kb == "float":
        if _FLOAT_RANK[a] == _FLOAT_RANK[b] == 0:
            return "float32"
        return a if _FLOAT_RANK[a] > _FLOAT_RANK[b] else b
    if ka == "float" or kb == "float":
        return a if ka == "float" else b
    if ka == kb:
        return a if bits(a) >= bits(b) else b
    unsigned, signed = (a, b) if ka == "uint" else (b, a)
    if bits(unsigned) < bits(signed):
        return signed
    # A uint64 does not fit any signed type, so MLX goes to float32.
    return f"int{2 * bits(unsigned)}" if bits(unsigned) < 64 else "float32"


def inexact(name: str) -> str:
    """The dtype of a float-valued op on ``name``: integers and bool become float32."""
    return name if kind(name) in ("float", "complex") else "float32"


def accumulated(name: str) -> str:
    """The dtype MLX sums and multiplies into: bool and narrow integers widen to 32 bits."""
    if name == "bool" or (kind(name) == "int" and bits(name) < 32):
        return "int32"
    if kind(name) == "uint" and bits(name) < 32:
        return "uint32"
    return name


def golden_dtype(name: str) -> np.dtype:
    """The dtype a golden is computed in: float64, complex128, or a wide integer."""
    k = kind(name)
    if k == "float":
        return np.dtype(np.float64)
    if k == "complex":
        return np.dtype(np.complex128)
    if name == "uint64":
        return np.dtype(np.uint64)
    return np.dtype(np.bool_) if k == "bool" else np.dtype(np.int64)


@dataclass(frozen=True)
class Tolerance:
    """``|actual - expected| <= atol + rtol * |expected|``, elementwise."""

    rtol: float
    atol: float

    def merged(self, override: dict | None) -> "Tolerance":
        """This tolerance with the keys of ``override`` replaced."""
        return Tolerance(**{**self.__dict__, **(override or {})}) if override else self


# About two units in the last place of each float type, and a floor near its smallest normal
# number, so an error shows unless the case itself declares why it needs more.
DEFAULT_TOLERANCE: dict[str, Tolerance] = {
    "float16": Tolerance(rtol=2e-3, atol=1e-4),
    "bfloat16": Tolerance(rtol=1.6e-2, atol=1e-4),
    "float32": Tolerance(rtol=1e-5, atol=1e-7),
    "float64": Tolerance(rtol=1e-12, atol=1e-15),
    "complex64": Tolerance(rtol=1e-5, atol=1e-7),
}
EXACT = Tolerance(rtol=0.0, atol=0.0)


# The unit roundoff u (half the machine epsilon) of the floats whose sums round at every step
# when a backend accumulates in the input dtype.
UNIT_ROUNDOFF = {"float16": 2.0 ** -11, "bfloat16": 2.0 ** -8}


def default_tolerance(name: str, reduction: int | None = None) -> Tolerance:
    """The tolerance of an output dtype: exact for integers and bool.

    For a float16/bfloat16 output that sums ``reduction`` = K terms (a case's ``reduces:``),
    rtol grows to sqrt(K) u: a sum accumulated in the narrow type rounds K times, and with
    rounding errors that are independent and of mean zero (Higham and Mary, "A new approach to
    probabilistic rounding error analysis", 2019) the relative error grows as sqrt(K) u with
    high probability, not as the worst case K u. Wider accumulators stay inside it.

    >>> default_tolerance("float16", 10000).rtol
    0.048828125
    """
    base = DEFAULT_TOLERANCE.get(name, EXACT)
    if not reduction or name not in UNIT_ROUNDOFF:
        return base
    return Tolerance(rtol=max(base.rtol, reduction ** 0.5 * UNIT_ROUNDOFF[name]), atol=base.atol)
