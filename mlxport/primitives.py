"""The primitive classes of the installed MLX, the names their instances take in a graph, and
which of them the catalog reaches.

The classes are read from MLX's own library, so that a new release shows its new primitives at
once. The library keeps the C++ type name of each of its polymorphic classes (RTTI, even when
stripped), in the Itanium mangling: ``N3mlx4core3AddE`` is ``mlx::core::Add`` and
``N3mlx4core4fast7RMSNormE`` is ``mlx::core::fast::RMSNorm``. The primitives are the classes
declared directly in ``mlx::core``, ``mlx::core::fast`` and ``mlx::core::distributed``, the
namespaces of MLX's primitives.h, fast_primitives.h and distributed/primitives.h (deeper ones,
``io``, ``allocator``, ``distributed::ring``, hold other classes), less the abstract bases.

A graph names a primitive by its instance (``CumSum`` is a Scan): ``cases/primitive-names.yaml``.
A class that no single-op case can reach has its reason in ``unreachable-primitives.yaml``,
beside the case files, as a function without cases has its own in ``not-applicable.yaml``.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.util
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from .catalog import builtin_cases, glob
from .model import Case, InputError
from .yamlfile import load_yaml

NAMES = "primitive-names.yaml"  # in the built-in catalog: MLX's names, not a catalog's
UNREACHABLE = "unreachable-primitives.yaml"  # in any case folder, beside the case files

# A type name of a class directly in one of the three namespaces, as the library stores it: a
# NUL-terminated string (after a '*' where the name is compared by address). The length prefix
# is checked after the match, which leaves out the classes of deeper namespaces.
_RTTI = re.compile(rb"(?<![\w$.])N3mlx4core(?:4fast|11distributed)?(\d+)(\w+)E(?=\x00)")
# The abstract bases have type names too, but no name() and no instance in any graph. What tells
# them apart in the binary (pure virtual slots in a vtable, or the symbol table that a stripped
# build lacks) is not portable to read, so they are named here; tests/test_primitives.py checks
# this list against the class hierarchy of the headers that the installed MLX ships.
ABSTRACT = ("Primitive", "UnaryPrimitive", "Custom", "DistPrimitive")
# A node of mx.export_to_dot's text: ``{ 9450140117 [label ="CumSum", shape=rectangle]; }``.
_DOT_NODE = re.compile(r'\{ (\d+) \[label ="([^"]*)"')


def library() -> Path:
    """The shared library of the installed MLX: ``mlx/lib/libmlx.so`` (``.dylib`` on macOS)."""
    spec = importlib.util.find_spec("mlx")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for folder in folders for p in Path(folder).glob("lib/libmlx.*"))
    if not found:
        raise InputError(f"[primitives] no MLX library (mlx/lib/libmlx.*) in {folders or 'an installed mlx'}; "
                         "pip install 'mlxport[cpu]'")
    return found[0]


@functools.lru_cache(maxsize=None)
def classes(path: Path | None = None) -> tuple[str, ...]:
    """The primitive classes of the MLX library at ``path`` (the installed one by default), sorted:
    ``("Abs", "Add", ..., "Unflatten", "View")``."""
    data = (path or library()).read_bytes()
    found = {name.decode() for size, name in _RTTI.findall(data) if len(name) == int(size)}
    return tuple(sorted(found - set(ABSTRACT)))


@dataclass(frozen=True)
class Names:
    """The names of a build's classes' instances: exact ones, and shell patterns (``View *``)."""

    known: frozenset[str]  # the classes of the build
    listed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> names, where not its own

    def of(self, cls: str) -> tuple[str, ...]:
        """The names instances of ``cls`` take: ``of("Scan") == ("CumSum", ...)``, ``of("Add") == ("Add",)``."""
        return self.listed.get(cls, (cls,))

    def class_of(self, name: str) -> str | None:
        """The class whose instances take ``name``; None for a name that no class of the build takes."""
        exact = [cls for cls, names in self.listed.items() if name in names]
        if not exact and name in self.known and name not in self.listed:
            exact = [name]
        found = exact or [cls for cls, names in self.listed.items()
                          if any(_pattern(n) and fnmatch.fnmatchcase(name, n) for n in names)]
        return found[0] if found and found[0] in self.known else None


def _pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def load_names(path: Path) -> dict[str, tuple[str, ...]]:
    """``class -> names`` from a primitive-names file; a name belongs to one class only."""
    doc = _load(path, "names")
    owner: dict[str, str] = {}
    for cls, names in doc.items():
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise InputError(f"{path}:{doc.key_lines.get(cls, 0)}: {cls}: a list of the names its instances take")
        for name in names:
            if owner.setdefault(name, cls) != cls:
                raise InputError(f"{path}:{doc.key_lines.get(cls, 0)}: {cls}: {name!r} is {owner[name]}'s already")
    return {str(cls): tuple(names) for cls, names in doc.items()}


@functools.lru_cache(maxsize=None)
def names() -> Names:
    """The names of the installed MLX's primitives, from the built-in catalog's names file."""
    return Names(frozenset(classes()), load_names(builtin_cases() / NAMES))


def class_of(name: str) -> str | None:
    """The primitive class of the installed MLX whose instances a graph names ``name``:
    ``class_of("CumSum") == "Scan"``, ``class_of("Scatter Sum") == "Scatter"``,
    ``class_of("Add") == "Add"``; None for a name that no class of this build takes."""
    return names().class_of(name)


def load_unreachable(path: Path) -> dict[str, dict[str, str]]:
    """``class -> {target glob: reason}`` from one unreachable-primitives file; a plain reason
    holds on every target (``"*"``). Every entry needs a reason."""
    doc = _load(path, "unreachable")
    found: dict[str, dict[str, str]] = {}
    for cls, value in doc.items():
        by_target = value if isinstance(value, dict) else {"*": value}
        if not by_target or not all(isinstance(r, str) and r.strip() for r in by_target.values()):
            raise InputError(f"{path}:{doc.key_lines.get(cls, 0)}: {cls}: every unreachable primitive needs a "
                             "reason, or a mapping of target globs to reasons")
        found[str(cls)] = {str(t): r for t, r in by_target.items()}
    return found


def unreachable(folders: Iterable[Path]) -> dict[str, dict[str, str]]:
    """The unreachable-primitives entries of every case folder that has the file."""
    merged: dict[str, dict[str, str]] = {}
    for folder in folders:
        if (folder / UNREACHABLE).is_file():
            for cls, by_target in load_unreachable(folder / UNREACHABLE).items():
                merged[cls] = {**merged.get(cls, {}), **by_target}
    return merged


def reason(reasons: dict[str, dict[str, str]], cls: str, target: str) -> str | None:
    """Why ``cls`` is unreachable on ``target``, where an entry holds there; else None."""
    return next((text for where, text in reasons.get(cls, {}).items() if glob(where, target)), None)


def _load(path: Path, key: str):
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    entries = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or set(doc) - {key, "doc"}:
        raise InputError(f"{path}: a mapping with one field '{key}': primitive class -> ...")
    return entries


def unreached(cells, target_name: str, known: Iterable[str] | None = None) -> list[str]:
    """The primitive classes of the build (``known``, the installed MLX's by default) that no
    cell of ``target_name`` reached: no name in a cell's ``primitives`` is of that class."""
    hit = {class_of(n) for c in cells if c.target == target_name and c.primitives for n in c.primitives}
    return [cls for cls in (classes() if known is None else known) if cls not in hit]


def unreached_by_target(cells, folders: Iterable[Path]) -> dict[str, dict[str, str | None]]:
    """For each target whose cells recorded primitives (MLX's), the classes of the build that no
    cell reached, each with the reason the data files give for it on that target, or None."""
    reasons = unreachable(folders)
    ran = dict.fromkeys(c.target for c in cells if c.primitives)
    return {t: {cls: reason(reasons, cls, t) for cls in unreached(cells, t)} for t in ran}


def graph(outputs, given=()) -> tuple[str, ...]:
    """The names of the primitives in the unevaluated graph of ``outputs`` (MLX arrays), as
    ``mx.export_to_dot`` writes them, less those in the graphs of ``given`` (the call's inputs)."""
    made, passed = _nodes(outputs), _nodes(given)
    return tuple(sorted({name for node, name in made.items() if node not in passed}))


def _nodes(arrays) -> dict[str, str]:
    import mlx.core as mx

    flat = [a for v in arrays for a in (v if isinstance(v, (list, tuple)) else [v]) if isinstance(a, mx.array)]
    if not flat:
        return {}
    text = io.StringIO()
    mx.export_to_dot(text, *flat)
    return dict(_DOT_NODE.findall(text.getvalue()))


def case_graph(case: Case, target) -> tuple[str, ...] | None:
    """The primitive names of ``case``'s call on an MLX ``target``: the graph is built, never
    evaluated. None where the cell would not run (skip, unsupported) or the call raises."""
    from . import runner
    from .inputs import generate

    if runner.blocked(target, case, ()) is not None:
        return None
    inputs = generate(case)
    # The arguments as the runner makes them (its bind hides them): the inputs' views are not the op's.
    args, kwargs = runner._arguments(case, inputs, lambda i: target.view(target.asarray(i.base), i.view), target.param)
    try:
        with target.session():
            outputs = target.function(case.op)(*args, **kwargs)
            return graph(outputs if isinstance(outputs, (list, tuple)) else [outputs], [*args, *kwargs.values()])
    except Exception:
        return None


@dataclass(frozen=True)
class Reach:
    """What the graphs of some cases hold: each class reached, and each name of no class."""

    classes: dict[str, str]  # class -> the first case that reached it
    unknown: dict[str, str]  # a name that no class of the build takes -> the first case with it


def reach(cases: Iterable[Case], target) -> Reach:
    """The primitive classes that the graphs of ``cases`` reach on an MLX ``target`` (built only)."""
    found: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for case in cases:
        for name in case_graph(case, target) or ():
            cls = class_of(name)
            (found if cls else unknown).setdefault(cls or name, case.id)
    return Reach(found, unknown)


def listing(folders: Iterable[Path]) -> list[dict]:
    """Every primitive class of the installed MLX: ``{"name", "names", "unreachable"}``, the
    last the reasons no case reaches it, by target glob (``{}`` for none)."""
    reasons = unreachable(folders)
    return [{"name": cls, "names": list(names().of(cls)), "unreachable": reasons.get(cls, {})} for cls in classes()]


def stale(folders: Iterable[Path]) -> list[str]:
    """The classes named in the names file or an unreachable-primitives file that this build lacks."""
    listed = set(names().listed) | set(unreachable(folders))
    return sorted(listed - set(classes()))
