"""Deterministic inputs: seeded from the case id, so every machine sees the same arrays."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import dtypes as dt
from .model import Case, InputSpec, View

# Magnitudes of the value classes, capped by what the dtype can hold.
SMALL = (1e-6, 1e-2)
LARGE = (1e2, 1e6)
DEFAULT_SPECIALS = ("nan", "inf", "-inf", "0", "-0", "denormal")
# The stress value classes (cases/README.md, "Stress classes"); they ignore ``domain``.
STRESS_VALUES = ("offcenter", "hundreds", "halfpi")
HUNDREDS = (100.0, 400.0)
HALFPI_K = 1 << 24  # multiples of pi/2 up to 2.6e7: past 2^23, where float32 sin changes method


@dataclass(frozen=True)
class Input:
    """A generated input: the contiguous ``base`` array and the view the op receives."""

    base: np.ndarray
    view: View
    name: str | None

    @property
    def value(self) -> np.ndarray:
        """The logical array the op sees."""
        return self.view.apply(self.base)


def seed_of(case_id: str) -> int:
    """A 64-bit seed from the case id, the same on every machine."""
    return int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:8], "little")


def generate(case: Case) -> list[Input]:
    """The inputs of ``case``, in order: its stored arrays where it has them (a traced call's)."""
    if case.arrays is not None:
        return [Input(np.asarray(a), View("contiguous"), None) for a in case.arrays]
    rng = np.random.default_rng(seed_of(case.id))
    inputs = []
    with np.errstate(all="ignore"):  # inf * 1j is a NaN real part, as intended
        for spec in case.inputs:
            if spec.structure == "quantized":
                inputs += [Input(a, View("contiguous"), None) for a in _quantized(spec, case.params, rng)]
                continue
            view = View(spec.layout)
            logical = make_array(spec, rng)
            inputs.append(Input(base=_base_of(logical, view, rng), view=view, name=spec.name))
    return inputs


def _quantized(spec: InputSpec, params: dict, rng) -> list[np.ndarray]:
    """A float matrix of ``spec`` quantized with the case's mode, bits and group size: the packed
    uint32 words, then the scales (and biases) in the input dtype, as MLX stores them."""
    from .references.quant import quantize

    keys = ("group_size", "bits", "mode", "global_scale")
    w = make_array(InputSpec(shape=spec.shape, dtype=spec.dtype, values=spec.values, domain=spec.domain), rng)
    packed, *rest = quantize(w.astype(np.float32), **{k: params[k] for k in keys if k in params})
    float_dtype = dt.np_dtype(spec.dtype)
    return [packed] + [r if r.dtype == np.uint8 else r.astype(float_dtype) for r in rest]


def _base_of(logical: np.ndarray, view: View, rng) -> np.ndarray:
    """A contiguous array whose view is ``logical``; the skipped elements are noise."""
    if view.layout == "transposed" and logical.ndim >= 2:
        return np.array(logical.swapaxes(-1, -2), order="C")
    if view.layout == "strided" and logical.ndim >= 1:
        base = np.repeat(logical, 2, axis=-1)
        base[..., 1::2] = np.flip(logical, axis=-1)
        return base
    return np.array(logical, order="C")  # ascontiguousarray would make a 0-d array 1-d


def make_array(spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    """One array of ``spec.shape`` and ``spec.dtype`` drawn from its value class."""
    kind = dt.kind(spec.dtype)
    if kind == "bool":
        array = rng.random(spec.shape) < 0.5
    elif kind in ("int", "uint"):
        array = _integers(spec, rng)
    elif kind == "complex":
        real = _floats(spec, "float32", rng)
        array = real + 1j * _floats(spec, "float32", rng)
    else:
        array = _floats(spec, spec.dtype, rng)
    return _structure(array, spec, rng).astype(dt.np_dtype(spec.dtype))


def _floats(spec: InputSpec, dtype: str, rng) -> np.ndarray:
    if spec.values in STRESS_VALUES:
        return stress_values(spec.values, spec.shape, dtype, rng)
    lo, hi = spec.domain or (-np.inf, np.inf)
    finfo = dt.finfo(dtype)
    if spec.values == "normal" or spec.values == "special":
        x = rng.uniform(lo, hi, spec.shape) if spec.domain else rng.standard_normal(spec.shape)
    else:
        bound = max(abs(lo), abs(hi))
        mag_lo, mag_hi = SMALL if spec.values == "small" else LARGE
        mag_lo = max(mag_lo, float(finfo.tiny) * 16)
        mag_hi = min(mag_hi, float(finfo.max) / 16, bound)
        mag_lo = min(mag_lo, mag_hi / 2)
        x = np.exp(rng.uniform(np.log(mag_lo), np.log(mag_hi), spec.shape)) * _signs(lo, hi, spec.shape, rng)
    x = np.clip(x, lo, hi)
    if spec.values == "special":
        x = _place(x, [_special(s, finfo) for s in spec.specials or DEFAULT_SPECIALS], rng)
    return x


def stress_values(name: str, shape, dtype: str, rng) -> np.ndarray:
    """Values of a stress class, in float64 (the caller rounds them to ``dtype``):

    - ``offcenter``: 2^round(0.6 p) + N(0, 1), p the dtype's significand bits (float16 128,
      bfloat16 32, float32 16384, float64 2^32): the squares need 1.2 p bits, so E[x^2] - E[x]^2
      in the dtype loses the whole variance, while x - mean keeps 0.4 p bits of the spread;
      exp(x) overflows every float type, so an unshifted softmax shows.
    - ``hundreds``: uniform in [100, 400): a float16 row of 200 of them sums past 65504 and its
      squares pass it singly, while the mean, the variance (< 7500) and the norm fit.
    - ``halfpi``: the floats of the dtype nearest to multiples k pi/2 (1 <= k < 2^24, drawn
      log-uniformly, 16 candidates per element, the nearest in units of the float's spacing
      kept), with random signs: sin and cos are near their zeros there and tan near its poles,
      where an argument reduction with too few bits of pi shows. The nearness is measured
      against k pi/2 in float64, so it is exact for float32 and narrower types only.
    """
    if name == "offcenter":
        return 2.0 ** round(0.6 * (dt.finfo(dtype).nmant + 1)) + rng.standard_normal(shape)
    if name == "hundreds":
        return rng.uniform(*HUNDREDS, shape)
    return _near_halfpi(shape, dtype, rng)


def _near_halfpi(shape, dtype: str, rng) -> np.ndarray:
    size = int(np.prod(shape))
    top = min(HALFPI_K, float(dt.finfo(dtype).max) / 4)
    k = np.unique(np.floor(np.exp(rng.uniform(0, np.log(top), max(16 * size, 64)))))
    exact = k * (np.pi / 2)
    x = exact.astype(dt.np_dtype(dtype)).astype(np.float64)
    spacing = np.ldexp(1.0, np.frexp(x)[1] - 1 - dt.finfo(dtype).nmant)
    nearest = x[np.argsort(np.abs(x - exact) / spacing, kind="stable")]
    picked = np.resize(nearest, size)  # repeats only where too few distinct k were drawn
    return (rng.permutation(picked) * rng.choice([-1.0, 1.0], size)).reshape(shape)


def _signs(lo: float, hi: float, shape, rng) -> np.ndarray:
    if lo >= 0:
        return np.ones(shape)
    if hi <= 0:
        return -np.ones(shape)
    return rng.choice([-1.0, 1.0], shape)


def _special(name: str, finfo) -> float:
    table = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "0": 0.0, "-0": -0.0,
             "denormal": float(finfo.smallest_subnormal) * 3, "max": float(finfo.max),
             "min": float(finfo.min)}
    return table[name]


def _place(x: np.ndarray, specials: list, rng) -> np.ndarray:
    """``x`` with the special values written at shuffled positions, each at least once if room."""
    flat = x.reshape(-1).copy()
    count = min(flat.size, max(len(specials), flat.size // 4))
    positions = rng.permutation(flat.size)[:count]
    flat[positions] = [specials[i % len(specials)] for i in range(count)]
    return flat.reshape(x.shape)


def _integers(spec: InputSpec, rng) -> np.ndarray:
    info = np.iinfo(dt.np_dtype(spec.dtype))
    signed = info.min < 0
    if spec.domain:
        lo, hi = max(spec.domain[0], info.min), min(spec.domain[1], info.max)
    elif spec.values == "small":
        lo, hi = (-3 if signed else 0), 3
    elif spec.values == "large":
        lo, hi = info.max // 2, info.max
    else:
        lo, hi = (-100 if signed else 0), min(200, info.max)
    x = rng.integers(int(lo), int(hi), spec.shape, dtype=dt.np_dtype(spec.dtype), endpoint=True)
    if spec.values == "large" and signed:
        x = np.where(rng.random(spec.shape) < 0.5, x, -x)
    if spec.values == "special":
        extremes = [info.min, info.max, 0, 1] + ([-1, info.min + 1] if signed else [info.max - 1])
        x = _place(x, extremes, rng)
    return x


def _structure(x: np.ndarray, spec: InputSpec, rng) -> np.ndarray:
    """Impose what the op needs of its input: sorted rows, unique indices, SPD matrices."""
    if spec.structure == "sorted":
        return np.sort(x, axis=-1)
    if spec.structure == "unique":
        hi = int(spec.domain[1]) + 1 if spec.domain else x.size
        return rng.permutation(hi)[: x.size].reshape(x.shape)
    if spec.structure in ("spd", "invertible", "symmetric"):
        n = x.shape[-1]
        a = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
        adjoint = a.swapaxes(-1, -2).conj()  # Hermitian for complex inputs
        if spec.structure == "symmetric":
            return (a + adjoint) / 2
        if spec.structure == "spd":
            return a @ adjoint / n + np.eye(n)
        return a + n * np.eye(n)
    return x
