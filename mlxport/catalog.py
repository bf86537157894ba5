"""Load, validate and expand the case files (``cases/*.yaml``). The schema is in cases/README.md;
its field checks live in ``schema.py``, and the Case fields each combination yields in ``derive.py``."""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import re
from pathlib import Path
from typing import Iterator

import yaml

from . import derive, references, versions
from .model import Case, InputError, Origin, Rule
from .schema import (CANONICAL, ENTRY_FIELDS, FAMILY_FIELDS, LAYOUTS, MAX_ELEMENTS, STRESS_CLASSES,
                     VALUE_CLASSES, VARIANT_FIELDS, Where, check_fields, choices, dtype_list, one_of, rules)
from .shapes import format_shapes, parse_shapes
from .yamlfile import load_yaml, overlay

__all__ = ["MAX_ELEMENTS", "builtin_cases", "declared_dtypes", "entries", "expand_variant", "glob", "load_file",
           "load_files", "matches", "supports"]


def builtin_cases() -> Path:
    """The catalog shipped with mlxport: inside the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    return here / "cases" if (here / "cases").is_dir() else here.parent / "cases"


def origin_of(path: Path) -> Origin:
    """The origin of the cases of a case file: the built-in catalog, or the folder it is in."""
    folder = Path(path).parent
    return Origin() if folder.resolve() == builtin_cases() else Origin("folder", str(folder))


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


def entries(path: Path) -> Iterator[tuple[dict, str | None, Where]]:
    """The entries of one YAML file, each with the file's category and its place, unexpanded."""
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    where = Where(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("ops"), list):
        raise where.fail(doc, None, "a case file is a mapping with a list 'ops'")
    unknown = set(doc) - {"ops", "category", "doc", "stress"}
    if unknown:
        raise where.fail(doc, sorted(unknown)[0], "unknown field")
    for entry in doc["ops"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str):
            raise where.fail(entry, None, "each entry needs a string 'op'")
    families = _families(doc, Where(path, "stress"))
    for entry in doc["ops"]:
        if entry["op"] in families:  # the file's stress variants of this op follow its own
            entry = overlay(entry, {"variants": (entry.get("variants") or [{}]) + families[entry["op"]]})
        yield entry, doc.get("category"), Where(path, entry["op"], entry.line)


def _families(doc: dict, where: Where) -> dict[str, list[dict]]:
    """A file's ``stress:`` list as variants by op: each item is a variant with a ``class`` (a
    stress class) and the ``ops`` of this file it applies to, so that a class is declared once
    for a family of ops, e.g. ``{class: scale, ops: [sum, mean, cumsum], shapes: ["(4000000,)"]}``."""
    found = doc.get("stress") or []
    if not isinstance(found, list):
        raise where.fail(doc, "stress", "a list of {class, ops, ...variant fields}")
    names = {entry["op"] for entry in doc["ops"]}
    families: dict[str, list[dict]] = {}
    for item in found:
        check_fields(item, FAMILY_FIELDS, where)
        if one_of(item, "class", None, STRESS_CLASSES, where) is None:
            raise where.fail(item, "class", f"needs a stress class: one of {', '.join(STRESS_CLASSES)}")
        ops = item.get("ops")
        if not isinstance(ops, list) or not ops or not all(isinstance(op, str) for op in ops):
            raise where.fail(item, "ops", "a non-empty list of ops of this file")
        for op in ops:
            if op not in names:
                raise where.fail(item, "ops", f"{op!r} is not an op of this file")
            variant = overlay(item)
            del variant["class"], variant["ops"]
            variant["stress"] = item["class"]
            families.setdefault(op, []).append(variant)
    return families


def _expand(entry: dict, category: str | None, where: Where) -> list[Case]:
    """Every case of one entry: variants x dtypes x shapes x values x layouts."""
    check_fields(entry, ENTRY_FIELDS, where)
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


def _aliases(entry: dict, where: Where) -> list[str]:
    """Other public names of the op (``acos`` of ``arccos``); each runs every case under its name."""
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise where.fail(entry, "aliases", "a list of other names of this op, e.g. [acos]")
    return aliases


def supports(entry: dict, where: Where) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ``supports`` rules of an entry: (target glob, dtypes) pairs, in file order."""
    declared = entry.get("supports") or {}
    if not isinstance(declared, dict):
        raise where.fail(entry, "supports", "a mapping of target glob to dtypes, e.g. {'mlx:cpu': [float32]}")
    # An empty list is a declaration too: the op runs in no dtype there (qqmm on the CPU).
    return tuple((str(t), tuple(dtype_list(declared, declared, where, t) if declared[t] != [] else ()))
                 for t in declared)


def declared_dtypes(entry: dict, where: Where) -> tuple[str, ...]:
    """The dtypes an entry's cases use: what it declares where no ``supports`` rule says more."""
    variants = entry.get("variants") or [{}]
    merged = [overlay(entry, variant) for variant in variants]
    return tuple(dict.fromkeys(d for m in merged for d in dtype_list(m, m, where)))


def expand_variant(entry: dict, variant: dict, category: str | None, where: Where) -> list[Case]:
    """The cases of one variant of an entry, under the op's name and each alias."""
    cases = _variant_cases(entry, variant, _shared(entry, category, where), where)
    return cases + [c for alias in _aliases(entry, where) for c in _renamed(cases, alias)]


def _renamed(cases: list[Case], alias: str) -> list[Case]:
    """The cases of an op under its alias: same inputs and golden, ids and rules renamed."""
    def rename(text: str, op: str) -> str:
        return alias + text[len(op):] if text.startswith(op + "[") else text

    def renamed_rules(rs, op):
        return tuple(dataclasses.replace(r, cases=rename(r.cases, op)) for r in rs)

    return [dataclasses.replace(c, id=rename(c.id, c.op), op=alias, reference=c.reference or c.op,
                                skips=renamed_rules(c.skips, c.op), divergences=renamed_rules(c.divergences, c.op))
            for c in cases]


def _shared(entry: dict, category: str | None, where: Where) -> dict:
    """The Case fields that every variant of an entry shares."""
    category = entry.get("category", category)
    if not isinstance(category, str):
        raise where.fail(entry, "category", "needs a category (here or at the top of the file)")
    canonical = entry.get("canonical")
    if canonical is not None and canonical not in CANONICAL:
        raise where.fail(entry, "canonical", f"unknown canonicalisation {canonical!r}")
    return {"op": entry["op"], "category": category, "canonical": canonical, "pack": bool(entry.get("pack")),
            "skips": rules(entry, "skip", where), "divergences": rules(entry, "divergence", where)}


def _variant_cases(entry: dict, variant: dict, shared: dict, where: Where) -> list[Case]:
    check_fields(variant, VARIANT_FIELDS, where)
    # where a field is wrong, its error names the line of the field, in the variant or the entry
    merged = overlay(entry, variant, {"params": {**(entry.get("params") or {}), **(variant.get("params") or {})}})
    positional = derive.positional(merged, where)
    stress = one_of(variant, "stress", None, STRESS_CLASSES, where)
    name = variant.get("name") or stress  # a stress variant is named after its class unless named
    source = f"{where.path}:{getattr(variant, 'line', 0) or entry.line}"
    origin = origin_of(where.path)
    cases = []
    for dtype, shapes, values, layout in _combinations(merged, where):
        specs = derive.inputs(merged, shapes, dtype, values, layout, where)
        params = {k: dtype if (k == "dtype" and v == "main") else v for k, v in merged["params"].items()}
        cases.append(Case(
            id=_case_id(entry["op"], dtype, shapes, values, layout, name, merged["params"]),
            dtype=dtype, inputs=specs, params=params, out=derive.out(merged, specs, dtype, where),
            positional=positional, tolerance=derive.tolerance(merged, dtype, where), source=source,
            reduction=derive.reduction(merged, specs, where), reduces=merged.get("reduces"), timeout=derive.timeout(merged, where),
            repeat=derive.repeat(merged, where), attempts=derive.attempts(merged, where),
            work=derive.work(merged, shapes, params, dtype, where), stress=stress, origin=origin, **shared,
        ))
    return cases


def _combinations(merged: dict, where: Where):
    dtypes = dtype_list(merged, merged, where)
    shapes = merged.get("shapes")
    if not isinstance(shapes, list) or not shapes:
        raise where.fail(merged, "shapes", "a non-empty list of shape strings such as '(4,5) (5,)'")
    parsed = []
    for text in shapes:
        try:
            parsed.append(parse_shapes(text, MAX_ELEMENTS))
        except ValueError as exc:
            raise where.fail(merged, "shapes", str(exc)) from None
    values = choices(merged, "values", ["normal"], VALUE_CLASSES, merged, where)
    layouts = choices(merged, "layouts", ["contiguous"], LAYOUTS, merged, where)
    return itertools.product(dtypes, parsed, values, layouts)


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


def matches(rule: Rule, target: str, case_id: str, mlx: str | None = None) -> bool:
    """Whether a skip or divergence rule covers this target and case; a rule that names MLX
    releases covers only a target that runs one of them (``mlx``: the target's MLX version)."""
    return (glob(rule.target, target) and glob(rule.cases, case_id)
            and (rule.mlx is None or (mlx is not None and versions.holds(mlx, rule.mlx))))
