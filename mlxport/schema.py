"""The case-file schema: the allowed fields and words, and the checks that turn a bad node into a
one-line ``InputError`` naming its file, line, op and field (cases/README.md describes the schema)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import dtypes as dt
from . import versions
from .bench.work import WORK_FIELDS
from .model import InputError, Rule

# The last three serve the stress classes (mlxport/inputs.py says what each draws): offcenter a
# large common offset with a unit spread (cancellation), hundreds positive values in [100, 400)
# (the range of float16 sums and squares), halfpi the floats nearest to multiples of pi/2 (the
# zeros and poles of the trigonometric functions).
VALUE_CLASSES = ("normal", "small", "large", "special", "offcenter", "hundreds", "halfpi")
# The numerical stress classes (cases/README.md, "Stress classes"): inputs that ordinary values
# never reach, each where a known way for a kernel to go wrong shows. A variant names its class
# with ``stress:``; a file's ``stress:`` list applies one to a family of its ops.
STRESS_CLASSES = {
    "scale": "reductions, scans, norms and matmul's K at 10^6 to 10^7 elements: the order of accumulation shows",
    "cancellation": "a large common offset with a small spread: one-pass variance and unshifted softmax lose it",
    "range": "a result that fits the dtype while its natural intermediate (a sum, a square) does not",
    "argument": "periodic and special functions at large arguments and near their zeros and poles, in ULPs",
    "degenerate": "a zero-length dimension in each position in turn, not only the leading one",
    "nonfinite": "NaN and +-inf into every op that takes floats: a process that dies or hangs is a finding",
    "indices": "indices and starts past either end and negative: MLX's documented clamp, wrap or raise",
}
LAYOUTS = ("contiguous", "transposed", "strided")
STRUCTURES = ("sorted", "unique", "spd", "invertible", "symmetric", "quantized")
SPECIALS = ("nan", "inf", "-inf", "0", "-0", "denormal", "max", "min")
DTYPE_GROUPS = {
    "all": dt.NAMES,
    "floats": dt.FLOATS,
    "inexact": dt.FLOATS + ("complex64",),
    "integers": dt.INTEGERS,
    "real": dt.INTEGERS + dt.FLOATS,
    "numeric": dt.INTEGERS + dt.FLOATS + ("complex64",),
}
ENTRY_FIELDS = {"op", "category", "doc", "dtypes", "shapes", "inputs", "params", "values",
                "layouts", "variants", "out", "tolerance", "canonical", "skip", "divergence", "pack",
                "positional", "reduces", "aliases", "supports", "timeout", "repeat", "attempts"} | WORK_FIELDS
VARIANT_FIELDS = {"name", "dtypes", "shapes", "inputs", "params", "values", "layouts", "out",
                  "tolerance", "doc", "positional", "reduces", "timeout", "repeat", "attempts",
                  "stress"} | WORK_FIELDS
FAMILY_FIELDS = (VARIANT_FIELDS - {"stress"}) | {"class", "ops"}  # an item of a file's ``stress:`` list
INPUT_FIELDS = {"dtype", "values", "domain", "structure", "specials", "name"}
RULE_FIELDS = {"target", "cases", "reason", "mlx"}
CANONICAL = ("gathered", "partition", "argpartition", "eig", "qr", "svd", "sorted", "general_eig")
MAX_ELEMENTS = 1 << 27


@dataclass(frozen=True)
class Where:
    """A place in a case file, for one-line errors: ``cases/unary.yaml:12: exp: field ...``."""

    path: Path
    op: str = "?"
    line: int = 0  # of the entry, when the node at fault has no line of its own

    def fail(self, node, key: str | None, message: str) -> InputError:
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", 0) or self.line
        place = f"{self.path}:{line}" if line else str(self.path)
        field = f" field '{key}':" if key else ""
        return InputError(f"{place}: {self.op}:{field} {message}")


def check_fields(node, allowed: set, where: Where) -> None:
    """``node`` is a mapping whose keys are all in ``allowed``."""
    if not isinstance(node, dict):
        raise where.fail(node, None, "expected a mapping")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise where.fail(node, unknown[0], "unknown field")


def dtype_list(merged: dict, node, where: Where, key: str = "dtypes") -> list[str]:
    """The dtypes named under ``key``, groups (all, floats, ...) expanded, in order, once each."""
    names = merged.get(key)
    if not isinstance(names, list) or not names:
        raise where.fail(node, key, "a non-empty list of dtypes or groups (all, floats, ...)")
    try:
        return expand_dtypes(names)
    except KeyError as exc:
        raise where.fail(node, key, f"unknown dtype {exc.args[0]!r}") from None


def expand_dtypes(names) -> list[str]:
    """Dtype names and groups, as a case file or ``--dtypes`` gives them, expanded in order, once
    each; a KeyError names the first unknown one.

    >>> expand_dtypes(["float32", "floats"])
    ['float32', 'float16', 'bfloat16', 'float64']
    """
    out: list[str] = []
    for name in names:
        known = isinstance(name, str) and (name in DTYPE_GROUPS or name in dt.NAMES)
        if not known:
            raise KeyError(name)
        out.extend(d for d in DTYPE_GROUPS.get(name, (name,)) if d not in out)
    return out


def choices(merged, key, default, allowed, node, where) -> list[str]:
    """A list under ``key`` (else ``default``) whose every item is ``allowed``."""
    chosen = merged.get(key, default)
    if not isinstance(chosen, list) or not all(c in allowed for c in chosen):
        raise where.fail(node, key, f"a list drawn from {', '.join(allowed)}")
    return chosen


def one_of(node, key, default, allowed, where):
    """The word under ``key`` (else ``default``), one of ``allowed`` or None."""
    value = node.get(key, default)
    if value is not None and value not in allowed:
        raise where.fail(node, key, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def rules(entry, key, where) -> tuple[Rule, ...]:
    """The ``skip`` or ``divergence`` rules of an entry, each with a reason."""
    found = entry.get(key) or []
    if not isinstance(found, list):
        raise where.fail(entry, key, "a list of {target, cases, reason}")
    out = []
    for rule in found:
        check_fields(rule, RULE_FIELDS, where)
        if not isinstance(rule.get("reason"), str) or not rule["reason"].strip():
            raise where.fail(rule, "reason", "every skip and divergence needs a reason")
        if "mlx" in rule and (not isinstance(rule["mlx"], str) or versions.problem(rule["mlx"])):
            raise where.fail(rule, "mlx", f"the MLX releases it holds for, a PEP 440 specifier such as "
                             f"'>=0.30,<0.32': {versions.problem(str(rule['mlx']))}")
        out.append(Rule(target=str(rule.get("target", "*")), reason=rule["reason"],
                        cases=str(rule.get("cases", "*")), mlx=rule.get("mlx")))
    return tuple(out)
