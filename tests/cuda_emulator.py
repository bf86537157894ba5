"""A numpy transcription of each kernel in ``kernels/cuda``, run on the kernel's own launch.

:class:`EmulatedDevice` stands where cupy would: it takes the :class:`Launch` that
``mlxport.backends.cuda_kernels`` builds, checks its arguments against the ``__global__``
signature in the ``.cu`` file (dtype of every pointer, C type of every scalar, contiguity) and
its geometry, then runs the transcription over the launch's grid and block. The transcriptions
keep each kernel's blocking and order of float32 operations: strided per-thread accumulation,
warp butterflies, the block combine (the kernels build with --fmad=false, so every a*b + c is two
roundings here too). exp, log, sin and cos are numpy's, within ulps of CUDA's. This is not a GPU
result: it checks the algorithm and the host code where no GPU is present.

One transcription per shape of work, as in the .cu files: the row launcher with small functors
(rms_norm, layer_norm, softmax, logsumexp), rope, quantize, dequantize, qmm_t and qmm_n.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import ml_dtypes
import numpy as np

from mlxport.backends.cuda_launch import WARPS, Launch, kernel_dir

F32 = np.float32
_TYPES = {"float": np.dtype(F32), "__half": np.dtype(np.float16),
          "__nv_bfloat16": np.dtype(ml_dtypes.bfloat16), "int": np.dtype(np.int32),
          "unsigned int": np.dtype(np.uint32), "long long": np.dtype(np.int64)}


class PoisonedNumpy:
    """numpy, except that ``empty`` fills with NaN (or 0xDEADBEEF): unwritten outputs show."""

    def __getattr__(self, name):
        return getattr(np, name)

    def empty(self, shape, dtype=float):
        dtype = np.dtype(dtype)
        return np.full(shape, np.nan if dtype.kind == "f" else 0xDEADBEEF, dtype=dtype)

    def empty_like(self, a, dtype=None):
        return self.empty(a.shape, dtype or a.dtype)


def signature(source: str, template: str) -> tuple[list[str], list[str]]:
    """(template parameter names, parameter C types) of ``__global__ void template(...)``."""
    text = (kernel_dir() / source).read_text()
    found = re.search(r"template <([^>]*)>\s*__global__ void " + template + r"\(([^)]*)\)", text)
    assert found, f"{source}: no __global__ {template}"
    names = [p.split()[-1] for p in found.group(1).split(",")]
    types = [re.sub(r"\s*\w+$", "", p.strip()) for p in found.group(2).split(",")]
    return names, types


def check_launch(launch: Launch) -> dict[str, str]:
    """Raise AssertionError unless ``launch`` matches its kernel; returns the template binding."""
    names, types = signature(launch.source, launch.template)
    values = [v.strip() for v in launch.kernel[len(launch.template) + 1:-1].split(",")]
    binding = dict(zip(names, values, strict=True))
    assert len(types) == len(launch.args), f"{launch.kernel}: {len(launch.args)} args for {types}"
    for ctype, arg in zip(types, launch.args):
        base = " ".join(binding.get(w, w) for w in ctype.replace("*", "").split() if w != "const")
        if ctype.endswith("*"):
            assert isinstance(arg, np.ndarray) and arg.dtype == _TYPES[base], (launch.kernel, ctype, arg)
            assert arg.flags.c_contiguous, f"{launch.kernel}: a {ctype} argument is not contiguous"
        else:
            assert type(arg) is _TYPES[base].type, f"{launch.kernel}: {ctype} got {type(arg)}"
    threads = int(np.prod(launch.block))
    assert launch.block[0] % 32 == 0 and threads <= 1024, f"{launch.kernel}: block {launch.block}"
    assert all(1 <= g < 2**31 for g in launch.grid), f"{launch.kernel}: grid {launch.grid}"
    return binding


class EmulatedDevice:
    """Where cupy would run a launch, run its numpy transcription; keeps every launch."""

    xp = PoisonedNumpy()

    def __init__(self):
        self.launches: list[Launch] = []

    def launch(self, launch: Launch) -> None:
        binding = check_launch(launch)
        self.launches.append(launch)
        with np.errstate(all="ignore"):
            KERNELS[launch.template](launch, _TYPES[binding["T"]], binding)


# --- common.cuh -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Reduce:
    identity: float
    apply: Callable


SUM, MAX, MIN = Reduce(0.0, np.add), Reduce(-np.inf, np.fmax), Reduce(np.inf, np.fmin)


def round_to(t: np.dtype, x: np.ndarray) -> np.ndarray:
    return x.astype(t).astype(F32)


def warp_reduce(v: np.ndarray, op: Reduce) -> np.ndarray:
    """The xor butterfly over the last axis (32 lanes); every lane ends with the result."""
    lane = np.arange(32)
    for offset in (16, 8, 4, 2, 1):
        v = op.apply(v, v[..., lane ^ offset])
    return v


def block_reduce(acc: np.ndarray, op: Reduce) -> np.ndarray:
    """(rows, threads) partials -> (rows, 1): warp butterflies, then one over the warps' lane 0."""
    rows, threads = acc.shape
    per_warp = warp_reduce(acc.reshape(rows, threads // 32, 32), op)[..., 0]
    second = np.full((rows, 32), op.identity, F32)
    second[:, :per_warp.shape[1]] = per_warp
    return warp_reduce(second, op)[:, :1]


# --- row_reduce.cuh and its functors --------------------------------------------------------
def row_pass(terms: np.ndarray, op: Reduce, threads: int) -> np.ndarray:
    """Thread t folds terms t, t + threads, ... in order; then the block combine."""
    rows, n = terms.shape
    acc = np.full((rows, threads), op.identity, F32)
    for start in range(0, n, threads):
        chunk = terms[:, start:start + threads]
        acc[:, :chunk.shape[1]] = op.apply(acc[:, :chunk.shape[1]], chunk)
    return block_reduce(acc, op)


def row_reduce(functor, launch: Launch, t: np.dtype, x, out, n) -> None:
    """One block per row: the functor's passes, then each element (or the row) written."""
    rows = launch.grid[0]
    xf = x.reshape(-1)[:rows * n].reshape(rows, n).astype(F32)
    stats = []
    for op, term, stat in functor["passes"]:
        stats.append(stat(row_pass(term(xf, *stats), op, launch.block[0]), F32(n)))
    if "row_value" in functor:
        out.reshape(-1)[:rows] = functor["row_value"](*stats)[:, 0].astype(t)
    else:
        out.reshape(-1)[:rows * n] = functor["apply"](xf, np.arange(n), *stats).astype(t).reshape(-1)


def _strided(v: np.ndarray, stride) -> Callable:
    return lambda i: v.reshape(-1)[i * int(stride)].astype(F32)


def rms_norm(launch, t, binding):
    x, w, out, n, w_stride, eps = launch.args
    weight = _strided(w, w_stride)
    row_reduce({"passes": [(SUM, lambda x: x * x, lambda tot, n: F32(1) / np.sqrt(tot / n + eps))],
                "apply": lambda x, i, inv: weight(i) * round_to(t, x * inv)}, launch, t, x, out, n)


def layer_norm(launch, t, binding):
    x, w, b, out, n, w_stride, b_stride, eps = launch.args
    weight, bias = _strided(w, w_stride), _strided(b, b_stride)
    passes = [(SUM, lambda x: x, lambda tot, n: tot / n),
              (SUM, lambda x, mean: (x - mean) * (x - mean),
               lambda tot, n: F32(1) / np.sqrt(tot / n + eps))]
    apply = lambda x, i, mean, rstd: round_to(t, weight(i) * round_to(t, (x - mean) * rstd)) + bias(i)  # noqa: E731
    row_reduce({"passes": passes, "apply": apply}, launch, t, x, out, n)


def exp_sum(finite_shift: bool, stat1) -> list:
    """exp_sum.cuh: the row max (or, finite_shift, the max when finite, else 0), then the sum
    of exp(x - shift)."""
    shift = (lambda m, n: np.where(np.isfinite(m), m, F32(0))) if finite_shift else (lambda m, n: m)
    return [(MAX, lambda x: x, shift), (SUM, lambda x, s: np.exp(x - s), stat1)]


def softmax(launch, t, binding):
    x, out, n = launch.args
    row_reduce({"passes": exp_sum(False, lambda tot, n: F32(1) / tot),
                "apply": lambda x, i, m, inv: np.exp(x - m) * inv}, launch, t, x, out, n)


def logsumexp(launch, t, binding):
    x, out, n = launch.args
    row_reduce({"passes": exp_sum(True, lambda tot, n: tot),
                "row_value": lambda shift, total: np.log(total) + shift}, launch, t, x, out, n)


# --- the other shapes of work ---------------------------------------------------------------
def _threads(launch: Launch, items: int) -> np.ndarray:
    """Indices of the threads of a 1-d grid that pass the kernel's bounds check."""
    return np.arange(min(items, launch.grid[0] * launch.block[0]))


def rope(launch, t, binding):
    (x, out, offsets, offset_stride, freqs, use_freqs, scale, log2_base, half, seq_len, dim,
     rows_per_batch, n_pairs) = launch.args
    index = _threads(launch, int(n_pairs))
    i, row = index % half, index // half
    position = scale * (row % seq_len + offsets[(row // rows_per_batch) * offset_stride]).astype(F32)
    if use_freqs:
        inv_freq = F32(1) / freqs[i]
    else:
        inv_freq = np.exp2(-(i.astype(F32) / F32(half)) * log2_base)
    theta = position * inv_freq
    c, s = np.cos(theta), np.sin(theta)
    traditional = binding["kTraditional"] == "true"
    first = row * dim + (2 * i if traditional else i)
    second = first + (1 if traditional else half)
    xs, flat = x.reshape(-1).astype(F32), out.reshape(-1)
    x1, x2 = xs[first], xs[second]
    flat[first], flat[second] = (x1 * c - x2 * s).astype(t), (x1 * s + x2 * c).astype(t)


def _codes(words: np.ndarray, bits: int) -> np.ndarray:
    """(..., 32 / bits) float32 codes of uint32 words, code j at bits [bits*j, bits*(j+1))."""
    shifts = np.arange(32 // bits, dtype=np.uint32) * np.uint32(bits)
    return ((words[..., None] >> shifts) & np.uint32((1 << bits) - 1)).astype(F32)


def affine_quantize(launch, t, binding):
    w, wq, scales, biases, group_size, n_groups = launch.args
    bits = int(binding["BITS"])
    groups = min(int(n_groups), launch.grid[0] * launch.block[1])
    v = w.reshape(-1)[:groups * group_size].reshape(groups, group_size).astype(F32)
    lo, hi = v.min(-1), v.max(-1)  # exact in any order
    max_code = F32((1 << bits) - 1)
    use_min = np.abs(lo) > np.abs(hi)
    step = np.maximum((hi - lo) / max_code, F32(1e-7))
    edge = np.where(use_min, lo, hi)
    scale = np.where(use_min, step, -step)
    q0 = np.rint(edge / scale)
    bias = np.where(q0 != 0, edge, F32(0))
    scale = np.where(q0 != 0, edge / q0, scale)
    q = np.minimum(np.maximum(np.rint((v - bias[:, None]) / scale[:, None]), F32(0)), max_code)
    per_word = 32 // bits
    codes = q.astype(np.uint32).reshape(groups, -1, per_word)
    words = np.bitwise_or.reduce(codes << (np.arange(per_word, dtype=np.uint32) * np.uint32(bits)), -1)
    wq.reshape(-1)[:words.size] = words.reshape(-1)
    scales.reshape(-1)[:groups], biases.reshape(-1)[:groups] = scale.astype(t), bias.astype(t)


def affine_dequantize(launch, t, binding):
    wq, scales, biases, out, group_size, n_words = launch.args
    bits = int(binding["BITS"])
    word = _threads(launch, int(n_words))
    codes = _codes(wq.reshape(-1)[word], bits)
    group = word * (32 // bits) // group_size
    scale, bias = scales.reshape(-1)[group].astype(F32), biases.reshape(-1)[group].astype(F32)
    out.reshape(-1)[:codes.size] = (codes * scale[:, None] + bias[:, None]).astype(t).reshape(-1)


def qmm_t(launch, t, binding):
    x, wq, scales, biases, out, n_cols, k, group_size = launch.args
    bits = int(binding["BITS"])
    per_word, n_blocks = 32 // bits, -(-n_cols // WARPS)
    m_rows, words = launch.grid[0] // n_blocks, k // per_word
    xw = x.reshape(-1)[:m_rows * k].reshape(m_rows, words, per_word).astype(F32)
    codes = _codes(wq.reshape(n_cols, words), bits)  # (N, words, per_word)
    g = np.arange(words) * per_word // group_size
    s = scales.reshape(n_cols, -1)[:, g].astype(F32)[None]
    b = biases.reshape(n_cols, -1)[:, g].astype(F32)[None]
    acc = np.zeros((m_rows, n_cols, 32), F32)
    for start in range(0, words, 32):  # lane l takes words l, l + 32, ...
        w = np.minimum(start + np.arange(32), words - 1)
        sum_xq = np.zeros_like(acc)
        sum_x = np.zeros_like(acc)
        for j in range(per_word):
            xv = xw[:, w, j][:, None, :]
            sum_xq, sum_x = sum_xq + xv * codes[None, :, w, j], sum_x + xv
        step = s[..., w] * sum_xq + b[..., w] * sum_x
        acc = np.where(start + np.arange(32) < words, acc + step, acc)
    out.reshape(m_rows, n_cols)[:] = warp_reduce(acc, SUM)[..., 0].astype(t)


def qmm_n(launch, t, binding):
    x, wq, scales, biases, out, n_cols, k, group_size, n_threads = launch.args
    bits = int(binding["BITS"])
    per_word = 32 // bits
    words, groups = n_cols // per_word, n_cols // group_size
    index = _threads(launch, int(n_threads))
    m, c = index // words, index % words
    g = c * per_word // group_size
    xs, ws = x.reshape(-1).astype(F32), wq.reshape(-1)
    sf, bf = scales.reshape(-1).astype(F32), biases.reshape(-1).astype(F32)
    acc = np.zeros((index.size, per_word), F32)
    for kk in range(k):  # in order, as each thread walks k
        value = _codes(ws[kk * words + c], bits) * sf[kk * groups + g][:, None] + bf[kk * groups + g][:, None]
        acc = acc + xs[m * k + kk][:, None] * value
    out.reshape(-1)[(m * n_cols + c * per_word)[:, None] + np.arange(per_word)] = acc.astype(t)


KERNELS = {f.__name__: f for f in (rms_norm, layer_norm, softmax, logsumexp, rope, affine_quantize,
                                   affine_dequantize, qmm_t, qmm_n)}
