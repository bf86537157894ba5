"""The dtype probe (``mlxport check --probe-dtypes``): run each op in every MLX dtype and hold
the result against the dtypes the catalog declares for it, so the declarations stay true.

An op declares, per target, the dtypes its cases use, unless a ``supports`` rule of its entry
says otherwise (the most specific matching target glob wins). The probe runs each op's first
case in each of the 14 dtypes; a dtype *works* if the target ran it (pass or mismatch: whether
the values are right is the catalog's question) and *fails* if it raised or died. A dtype that
works but is not declared, or is declared and fails, is a finding.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from .backends import Target
from .catalog import MAX_ELEMENTS, declared_dtypes, entries, expand_variant, glob, supports
from .check import Selection, builtin_cases, case_files
from .inputs import generate
from .model import Case, CellResult, InputError, Status
from .pool import run_isolated
from .runner import golden
from .schema import Where, check_fields, dtype_list
from .shapes import parse_shapes
from .yamlfile import load_yaml

LIMITS = "dtype-limits.yaml"  # in a case folder, beside the case files
LIMIT_FIELDS = {"target", "ops", "lacks", "reason"}
WORKS = (Status.PASS, Status.MISMATCH)
FAILS = (Status.UNSUPPORTED, Status.ERROR, Status.CRASH, Status.TIMEOUT)


@dataclass(frozen=True)
class Declaration:
    """The dtypes one catalog entry declares: ``rules`` per target glob, else ``default``."""

    rules: tuple[tuple[str, tuple[str, ...]], ...]
    default: tuple[str, ...]

    def dtypes(self, target: str) -> set[str]:
        matching = [rule for rule in self.rules if glob(rule[0], target)]
        if not matching:
            return set(self.default)
        return set(max(matching, key=lambda rule: len(re.sub(r"[*?]", "", rule[0])))[1])


@dataclass(frozen=True)
class Limit:
    """A dtype gap of a whole target, said once for many ops (cases/dtype-limits.yaml): on
    targets matching ``target``, ops matching one of ``ops`` take none of ``lacks``."""

    target: str
    ops: tuple[str, ...]
    lacks: frozenset[str]
    reason: str

    def removes(self, op: str, target: str) -> frozenset[str]:
        hit = glob(self.target, target) and any(glob(p, op) for p in self.ops)
        return self.lacks if hit else frozenset()


def load_limits(folders: tuple[Path, ...]) -> tuple[Limit, ...]:
    """The limits of the built-in case folder and of each ``--cases`` folder that has the file."""
    out: list[Limit] = []
    for path in [f / LIMITS for f in (builtin_cases(), *folders) if (f / LIMITS).is_file()]:
        doc, where = load_yaml(path.read_text(encoding="utf-8")), Where(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("limits"), list) or set(doc) - {"limits", "doc"}:
            raise InputError(f"{path}: a mapping with a list 'limits' of {{target, ops, lacks, reason}}")
        for rule in doc["limits"]:
            check_fields(rule, LIMIT_FIELDS, where)
            ops = rule.get("ops", ["*"])
            if not isinstance(rule.get("target"), str) or not isinstance(rule.get("reason"), str) \
                    or not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
                raise where.fail(rule, None, "each limit needs a string target and reason, and ops a list of op globs")
            out.append(Limit(rule["target"], tuple(ops), frozenset(dtype_list(rule, rule, where, "lacks")), rule["reason"]))
    return tuple(out)


@dataclass(frozen=True)
class Finding:
    """A declaration the probe found false."""

    op: str
    target: str
    dtype: str
    kind: str  # "undeclared": works, not declared; "failing": declared, fails
    message: str | None = None

    def line(self) -> str:
        if self.kind == "undeclared":
            return f"undeclared  {self.target} {self.op} {self.dtype}: works, but is not declared"
        return f"failing     {self.target} {self.op} {self.dtype}: declared, but {self.message}"


@dataclass(frozen=True)
class Probe:
    """What the probe ran and found, and the (op, dtype) pairs it could not try, with why."""

    cells: int
    findings: tuple[Finding, ...]
    untried: tuple[tuple[str, str, str], ...] = ()

    def to_json(self) -> dict:
        return {"cells": self.cells, "findings": [f.__dict__ for f in self.findings],
                "untried": [{"op": o, "dtype": d, "reason": r} for o, d, r in self.untried]}


def plan(selection: Selection) -> tuple[list[Case], dict[str, list[Declaration]]]:
    """The probe's cases (one per op and dtype) and each op's declarations, for ``--ops``."""
    cases: dict[tuple[str, str], Case] = {}
    declared: dict[str, list[Declaration]] = {}
    for path in case_files(selection.case_dirs):
        for entry, category, where in entries(path):
            declaration = Declaration(supports(entry, where), declared_dtypes(entry, where))
            for case in probe_cases(entry, category, where):
                if selection.ops and not any(glob(p, case.op) for p in selection.ops):
                    continue
                cases.setdefault((case.op, case.dtype), case)
                if declaration not in declared.setdefault(case.op, []):
                    declared[case.op].append(declaration)
    return list(cases.values()), declared


def probe_cases(entry: dict, category: str | None, where) -> list[Case]:
    """The entry's first variant at its first shape in each of MLX's dtypes, normal values and
    contiguous, under the op's name and each alias; none when the case dtype reaches nothing
    (random.normal's is its key's)."""
    variant = dict((entry.get("variants") or [{}])[0])
    params = {**(entry.get("params") or {}), **(variant.get("params") or {})}
    shapes = variant.get("shapes") or entry.get("shapes") or []
    inputs = variant.get("inputs", entry.get("inputs")) or [{}] * len(parse_shapes(shapes[0], MAX_ELEMENTS))
    if params.get("dtype") != "main" and not any(i.get("dtype", "main") == "main" for i in inputs):
        return []
    variant.update(dtypes=["all"], shapes=shapes[:1], values=["normal"], layouts=["contiguous"])
    return expand_variant(entry, variant, category, where)


def run(selection: Selection, targets: list[Target], jobs: int, timeout: float) -> Probe:
    """Run the probe on ``targets`` and list the false declarations."""
    cases, declared = plan(selection)
    limits = load_limits(selection.case_dirs)
    results: list[CellResult] = []
    untried = [(c.op, c.dtype, _untried(c)) for c in cases]
    runnable = [(c, t) for c, (_, _, why) in zip(cases, untried) for t in targets if why is None]
    run_isolated(runnable, targets, jobs, timeout, lambda index, result: results.append(result))
    return Probe(len(results), tuple(sorted(findings(results, declared, limits), key=_order)),
                 tuple(u for u in untried if u[2] is not None))


def findings(results: list[CellResult], declared: dict[str, list[Declaration]],
             limits: tuple[Limit, ...] = ()) -> list[Finding]:
    """The cells whose outcome contradicts the op's declarations on that target, less the
    dtypes a limit of the target removes."""
    out = []
    for r in results:
        allowed = set().union(*(d.dtypes(r.target) for d in declared.get(r.op, [])))
        allowed -= set().union(*(limit.removes(r.op, r.target) for limit in limits))
        if r.status in WORKS and r.dtype not in allowed:
            out.append(Finding(r.op, r.target, r.dtype, "undeclared"))
        elif r.status in FAILS and r.dtype in allowed:
            out.append(Finding(r.op, r.target, r.dtype, "failing", f"{r.status.value}: {r.message}"))
    return out


def _untried(case: Case) -> str | None:
    """Why the probe cannot ask a target about this case (no inputs or no golden in the dtype:
    the cell could not tell the target's failure from ours), else None."""
    try:
        with warnings.catch_warnings():  # numpy's complaints about a dtype it was never meant for
            warnings.simplefilter("ignore")
            expected = golden(case, generate(case))
    except Exception as exc:
        return f"no inputs: {type(exc).__name__}: {exc}"
    return f"no golden: {expected}" if isinstance(expected, Exception) else None


def _order(finding: Finding) -> tuple:
    return finding.target, finding.op, finding.kind, finding.dtype
