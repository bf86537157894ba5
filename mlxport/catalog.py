"""Load, validate and expand the case files (``cases/*.yaml``). The schema is in cases/README.md."""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from . import dtypes as dt
from . import references
from .bench.work import WORK_FIELDS, declare
from .model import Case, InputError, InputSpec, Rule
from .shapes import format_shapes, parse_shapes
from .yamlfile import load_yaml

VALUE_CLASSES = ("normal", "small", "large", "special")
LAYOUTS = ("contiguous", "transposed", "strided")
STRUCTURES = ("sorted", "unique", "spd", "invertible", "symmetric", "quantized")
SPECIALS = ("nan", "inf", "-inf", "0", "-0", "denormal", "max", "min")
DTYPE_GROUPS = {
    "all": tuple(dt.DTYPES),
    "floats": dt.FLOATS,
    "inexact": dt.FLOATS + ("complex64",),
    "integers": dt.INTEGERS,
    "real": dt.INTEGERS + dt.FLOATS,
    "numeric": dt.INTEGERS + dt.FLOATS + ("complex64",),
}
ENTRY_FIELDS = {"op", "category", "doc", "dtypes", "shapes", "inputs", "params", "values",
                "layouts", "variants", "out", "tolerance", "canonical", "skip", "divergence", "pack",
                "positional", "reduces", "aliases", "supports"} | WORK_FIELDS
VARIANT_FIELDS = {"name", "dtypes", "shapes", "inputs", "params", "values", "layouts", "out",
                  "tolerance", "doc", "positional", "reduces"} | WORK_FIELDS
INPUT_FIELDS = {"dtype", "values", "domain", "structure", "specials", "name"}
RULE_FIELDS = {"target", "cases", "reason"}
CANONICAL = ("gathered", "partition", "argpartition", "eig", "qr", "svd", "sorted", "general_eig")
MAX_ELEMENTS = 1 << 27


@dataclass(frozen=True)
class _Where:
    """A place in a case file, for one-line errors: ``cases/unary.yaml:12: exp: field ...``."""

    path: Path
    op: str = "?"
    line: int = 0  # of the entry, when the node at fault has no line of its own

    def fail(self, node, key: str | None, message: str) -> InputError:
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", 0) or self.line
        place = f"{self.path}:{line}" if line else str(self.path)
        field = f" field '{key}':" if key else ""
        return InputError(f"{place}: {self.op}:{field} {message}")


def load_files(paths: list[Path]) -> list[Case]:
    """Every case of every file, validated and expanded; duplicate ids are an error."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in paths:
        for case in load_file(path):
            if case.id in seen:
                raise InputError(f"{case.source}: duplicate case id {case.id} (also {seen[case.id]})")
            seen[case.id] = case.source
            cases.append(case)
    return cases


def load_file(path: Path) -> list[Case]:
    """The cases of one YAML file."""
    return [case for entry, category, where in entries(path) for case in _expand(entry, category, where)]


def entries(path: Path) -> Iterator[tuple[dict, str | None, "_Where"]]:
    """The entries of one YAML file, each with the file's category and its place, unexpanded."""
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    where = _Where(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("ops"), list):
        raise where.fail(doc, None, "a case file is a mapping with a list 'ops'")
    unknown = set(doc) - {"ops", "category", "doc"}
    if unknown:
        raise where.fail(doc, sorted(unknown)[0], "unknown field")
    for entry in doc["ops"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str):
            raise where.fail(entry, None, "each entry needs a string 'op'")
        yield entry, doc.get("category"), _Where(path, entry["op"], entry.line)


def _expand(entry: dict, category: str | None, where: _Where) -> list[Case]:
    """Every case of one entry: variants x dtypes x shapes x values x layouts."""
    _check_fields(entry, ENTRY_FIELDS, where)
    if references.lookup(entry["op"]) is None:
        raise where.fail(entry, "op", "no reference function; numpy has none of this name either, "
                                      "so add one to mlxport/references/")
    shared = _shared(entry, category, where)
    supports(entry, where)  # validated here, used by the dtype probe
    variants = entry.get("variants") or [{}]
    if not isinstance(variants, list):
        raise where.fail(entry, "variants", "must be a list")
    cases = [case for variant in variants for case in _variant_cases(entry, variant, shared, where)]
    return cases + [c for alias in _aliases(entry, where) for c in _renamed(cases, alias)]


def _aliases(entry: dict, where: _Where) -> list[str]:
    """Other public names of the op (``acos`` of ``arccos``); each runs every case under its name."""
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise where.fail(entry, "aliases", "a list of other names of this op, e.g. [acos]")
    return aliases


def supports(entry: dict, where: _Where) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ``supports`` rules of an entry: (target glob, dtypes) pairs, in file order."""
    rules = entry.get("supports") or {}
    if not isinstance(rules, dict):
        raise where.fail(entry, "supports", "a mapping of target glob to dtypes, e.g. {'mlx:cpu': [float32]}")
    # An empty list is a declaration too: the op runs in no dtype there (qqmm on the CPU).
    return tuple((str(t), tuple(_dtypes(rules, rules, where, t) if rules[t] != [] else ())) for t in rules)


def declared_dtypes(entry: dict, where: _Where) -> tuple[str, ...]:
    """The dtypes an entry's cases use: what it declares where no ``supports`` rule says more."""
    variants = entry.get("variants") or [{}]
    return tuple(dict.fromkeys(d for v in variants for d in _dtypes({**entry, **v}, v or entry, where)))


def expand_variant(entry: dict, variant: dict, category: str | None, where: _Where) -> list[Case]:
    """The cases of one variant of an entry, under the op's name and each alias."""
    cases = _variant_cases(entry, variant, _shared(entry, category, where), where)
    return cases + [c for alias in _aliases(entry, where) for c in _renamed(cases, alias)]


def _renamed(cases: list[Case], alias: str) -> list[Case]:
    """The cases of an op under its alias: same inputs and golden, ids and rules renamed."""
    def rename(text: str, op: str) -> str:
        return alias + text[len(op):] if text.startswith(op + "[") else text

    def rules(rs, op):
        return tuple(dataclasses.replace(r, cases=rename(r.cases, op)) for r in rs)

    return [dataclasses.replace(c, id=rename(c.id, c.op), op=alias, reference=c.reference or c.op,
                                skips=rules(c.skips, c.op), divergences=rules(c.divergences, c.op))
            for c in cases]


def _shared(entry: dict, category: str | None, where: _Where) -> dict:
    """The Case fields that every variant of an entry shares."""
    category = entry.get("category", category)
    if not isinstance(category, str):
        raise where.fail(entry, "category", "needs a category (here or at the top of the file)")
    canonical = entry.get("canonical")
    if canonical is not None and canonical not in CANONICAL:
        raise where.fail(entry, "canonical", f"unknown canonicalisation {canonical!r}")
    return {"op": entry["op"], "category": category, "canonical": canonical, "pack": bool(entry.get("pack")),
            "skips": _rules(entry, "skip", where), "divergences": _rules(entry, "divergence", where)}


def _variant_cases(entry: dict, variant: dict, shared: dict, where: _Where) -> list[Case]:
    _check_fields(variant, VARIANT_FIELDS, where)
    merged = {**entry, **variant, "params": {**(entry.get("params") or {}), **(variant.get("params") or {})}}
    positional = _positional(merged, where)
    source = f"{where.path}:{getattr(variant, 'line', 0) or entry.line}"
    cases = []
    for dtype, shapes, values, layout in _combinations(merged, variant or entry, where):
        specs = _inputs(merged, shapes, dtype, values, layout, where)
        params = {k: dtype if (k == "dtype" and v == "main") else v for k, v in merged["params"].items()}
        cases.append(Case(
            id=_case_id(entry["op"], dtype, shapes, values, layout, variant.get("name"), merged["params"]),
            dtype=dtype, inputs=specs, params=params, out=_out(merged, specs, dtype, where),
            positional=positional, tolerance=_tolerance(merged, dtype, where), source=source,
            reduction=_reduction(merged, specs, where),
            work=_work(merged, shapes, params, dtype, node=variant or entry, where=where), **shared,
        ))
    return cases


def _combinations(merged: dict, node, where: _Where):
    dtypes = _dtypes(merged, node, where)
    shapes = merged.get("shapes")
    if not isinstance(shapes, list) or not shapes:
        raise where.fail(node, "shapes", "a non-empty list of shape strings such as '(4,5) (5,)'")
    parsed = []
    for text in shapes:
        try:
            parsed.append(parse_shapes(text, MAX_ELEMENTS))
        except ValueError as exc:
            raise where.fail(node, "shapes", str(exc)) from None
    values = _choices(merged, "values", ["normal"], VALUE_CLASSES, node, where)
    layouts = _choices(merged, "layouts", ["contiguous"], LAYOUTS, node, where)
    return itertools.product(dtypes, parsed, values, layouts)


def _dtypes(merged: dict, node, where: _Where, key: str = "dtypes") -> list[str]:
    names = merged.get(key)
    if not isinstance(names, list) or not names:
        raise where.fail(node, key, "a non-empty list of dtypes or groups (all, floats, ...)")
    out: list[str] = []
    for name in names:
        group = DTYPE_GROUPS.get(name) or ((name,) if name in dt.DTYPES else None)
        if group is None:
            raise where.fail(node, key, f"unknown dtype {name!r}")
        out.extend(d for d in group if d not in out)
    return out


def _choices(merged, key, default, allowed, node, where) -> list[str]:
    chosen = merged.get(key, default)
    if not isinstance(chosen, list) or not all(c in allowed for c in chosen):
        raise where.fail(node, key, f"a list drawn from {', '.join(allowed)}")
    return chosen


def _inputs(merged, shapes, dtype, values, layout, where) -> tuple[InputSpec, ...]:
    raw = merged.get("inputs") or [{} for _ in shapes]
    if not isinstance(raw, list) or len(raw) != len(shapes):
        raise where.fail(merged, "inputs", f"{len(shapes)} shapes but {len(raw)} inputs")
    specs = []
    for shape, spec in zip(shapes, raw):
        _check_fields(spec, INPUT_FIELDS, where)
        own = spec.get("dtype", "main")
        if own != "main" and own not in dt.DTYPES:
            raise where.fail(spec, "dtype", f"unknown dtype {own!r}")
        specs.append(InputSpec(
            shape=shape,
            dtype=dtype if own == "main" else own,
            values=_one_of(spec, "values", values if own == "main" else "normal", VALUE_CLASSES, where),
            domain=_domain(spec, where),
            structure=_one_of(spec, "structure", None, STRUCTURES, where),
            specials=_specials(spec, where),
            layout=layout if own == "main" else "contiguous",
            name=spec.get("name"),
        ))
    return tuple(specs)


def _one_of(node, key, default, allowed, where):
    value = node.get(key, default)
    if value is not None and value not in allowed:
        raise where.fail(node, key, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _domain(spec, where):
    domain = spec.get("domain")
    if domain is None:
        return None
    ok = isinstance(domain, list) and len(domain) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in domain)
    if not ok or domain[0] > domain[1]:
        raise where.fail(spec, "domain", "a pair [low, high] of numbers with low <= high")
    return (domain[0], domain[1])


def _specials(spec, where):
    specials = spec.get("specials")
    if specials is None:
        return None
    if not isinstance(specials, list) or not all(str(s) in SPECIALS for s in specials):
        raise where.fail(spec, "specials", f"a list drawn from {', '.join(SPECIALS)}")
    return tuple(str(s) for s in specials)


def _out(merged, specs, dtype, where) -> tuple[str, ...]:
    """The output dtypes: declared, or derived from the inputs by MLX's promotion rules."""
    out = merged.get("out", "promote")
    promoted = dtype
    for spec in specs:
        promoted = dt.promote(promoted, spec.dtype) if spec.name is None else promoted
    rules = {"promote": promoted, "inexact": dt.inexact(promoted),
             "accumulate": dt.accumulated(promoted), "main": dtype}
    result = []
    for item in out if isinstance(out, list) else [out]:
        name = rules.get(item, item)
        if name not in dt.DTYPES:
            raise where.fail(merged, "out", f"{item!r} is not a dtype, promote, inexact, accumulate or main")
        result.append(name)
    return tuple(result)


def _positional(merged, where) -> tuple[str, ...] | None:
    """The order of positional arguments: ``arrays`` (the array inputs) and names of params."""
    order = merged.get("positional")
    if order is None:
        return None
    if not isinstance(order, list) or not all(n == "arrays" or n in merged["params"] for n in order):
        raise where.fail(merged, "positional", "a list of 'arrays' and names of params")
    return tuple(order)


def _tolerance(merged, dtype, where) -> dt.Tolerance | None:
    """The case's tolerance: ``{rtol, atol}``, or a mapping of dtype to ``{rtol, atol}``."""
    tol = merged.get("tolerance")
    if tol is None:
        return None
    per_dtype = isinstance(tol, dict) and not set(tol) <= {"rtol", "atol"}
    chosen = tol.get(dtype) if per_dtype else tol
    if chosen is None:
        return None
    if not isinstance(chosen, dict) or not set(chosen) <= {"rtol", "atol"} or not all(
            isinstance(v, (int, float)) and v >= 0 for v in chosen.values()):
        raise where.fail(merged, "tolerance", "{rtol: x, atol: y}, or a mapping of dtype to that")
    base = dt.default_tolerance(dtype)
    return dt.Tolerance(chosen.get("rtol", base.rtol), chosen.get("atol", base.atol))


def _reduction(merged, specs, where) -> int | None:
    """K, the number of terms each output sums: ``reduces: axis`` counts the first input's
    elements along the ``axis`` param (all of them without one); ``reduces: -1`` (an integer)
    takes that axis of the first input, as a matmul's contraction."""
    how = merged.get("reduces")
    if how is None or not specs:
        return None
    shape = specs[0].shape
    if how == "axis":
        axis = merged["params"].get("axis")
        axes = range(len(shape)) if axis is None else [axis] if isinstance(axis, int) else axis
        try:
            return math.prod(shape[a] for a in axes)
        except (IndexError, TypeError):
            raise where.fail(merged, "reduces", f"the axis param {axis!r} is not an axis of {shape}") from None
    if isinstance(how, int) and not isinstance(how, bool) and -len(shape) <= how < len(shape):
        return shape[how]
    raise where.fail(merged, "reduces", "'axis', or an integer axis of the first input")


def _work(merged, shapes, params, dtype, node, where):
    """The bytes and flops a bench case declares (mlxport/bench/work.py), checked now."""
    try:
        return declare(merged, shapes, params, dtype)
    except ValueError as exc:
        key, message = exc.args
        raise where.fail(node if key in node else merged, key, message) from None


def _rules(entry, key, where) -> tuple[Rule, ...]:
    rules = entry.get(key) or []
    if not isinstance(rules, list):
        raise where.fail(entry, key, "a list of {target, cases, reason}")
    out = []
    for rule in rules:
        _check_fields(rule, RULE_FIELDS, where)
        if not isinstance(rule.get("reason"), str) or not rule["reason"].strip():
            raise where.fail(rule, "reason", "every skip and divergence needs a reason")
        out.append(Rule(target=str(rule.get("target", "*")), reason=rule["reason"],
                        cases=str(rule.get("cases", "*"))))
    return tuple(out)


def _check_fields(node, allowed: set, where: _Where) -> None:
    if not isinstance(node, dict):
        raise where.fail(node, None, "expected a mapping")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise where.fail(node, unknown[0], "unknown field")


def _case_id(op, dtype, shapes, values, layout, name, params) -> str:
    parts = [dtype, format_shapes(shapes)]
    parts += [p for p in (values, layout) if p not in ("normal", "contiguous")]
    parts += [name] if name else []
    parts += [f"{k}={_short(v)}" for k, v in params.items()]
    return f"{op}[{','.join(parts)}]"


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_short(v) for v in value) + ")"
    return str(value)


def glob(pattern: str, text: str) -> bool:
    """A shell glob in which ``[`` and ``]`` are literal, as they are in case ids."""
    return fnmatch.fnmatchcase(text, re.sub(r"[\[\]]", lambda m: f"[{m.group()}]", pattern))


def matches(rule: Rule, target: str, case_id: str) -> bool:
    """Whether a skip or divergence rule covers this target and case."""
    return glob(rule.target, target) and glob(rule.cases, case_id)
