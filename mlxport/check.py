"""The library behind ``mlxport check`` and ``mlxport list``: choose cases and targets, run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import dtypes as dt
from .backends import Target, discover
from .catalog import glob, load_files
from .model import Case, InputError, TargetInfo


@dataclass(frozen=True)
class Selection:
    """What a run covers, as the flags said it."""

    targets: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    case_dirs: tuple[Path, ...] = ()


def builtin_cases() -> Path:
    """The catalog shipped with mlxport: inside the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    return here / "cases" if (here / "cases").is_dir() else here.parent / "cases"


def case_files(extra: tuple[Path, ...]) -> list[Path]:
    """Every case file: the built-in ones, then those of each ``--cases`` folder."""
    files = sorted(builtin_cases().glob("*.yaml"))
    for folder in extra:
        if not folder.is_dir():
            raise InputError(f"--cases {folder}: not a folder")
        files += sorted(folder.glob("*.yaml"))
    return files


def select_cases(selection: Selection) -> list[Case]:
    """Validate every case file, then apply ``--ops`` and ``--dtypes``."""
    cases = load_files(case_files(selection.case_dirs))
    for name in selection.dtypes:
        if name not in dt.DTYPES:
            raise InputError(f"--dtypes: unknown dtype {name!r}; known: {', '.join(dt.DTYPES)}")
    for pattern in selection.ops:
        if not any(_op_matches(pattern, c) for c in cases):
            raise InputError(f"--ops {pattern}: matches no op or case id")
    return [c for c in cases
            if (not selection.ops or any(_op_matches(p, c) for p in selection.ops))
            and (not selection.dtypes or c.dtype in selection.dtypes)]


def _op_matches(pattern: str, case: Case) -> bool:
    return glob(pattern, case.op) or glob(pattern, case.id)


def select_targets(selection: Selection) -> tuple[list[Target], list[TargetInfo]]:
    """The targets to run, and the probe of every known target (for the report)."""
    known = discover()
    infos = {t.name: t.probe() for t in known}
    for name in selection.targets:
        if name not in infos:
            raise InputError(f"--target {name}: unknown target; known: {', '.join(infos)}")
        if not infos[name].available:
            raise InputError(f"--target {name}: unavailable: {infos[name].reason}")
    if selection.targets:
        chosen = [t for t in known if t.name in selection.targets]
    else:
        chosen = [t for t in known if infos[t.name].available and not t.is_reference]
    if not chosen:
        raise InputError("no target is available besides the numpy reference; pip install 'mlxport[cpu]'")
    return chosen, [infos[t.name] for t in known]
