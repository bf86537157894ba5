"""MLX's public API, and how much of it the catalog covers.

Every public function of ``mlx.core``, ``mx.fast``, ``mx.linalg``, ``mx.fft`` and ``mx.random``
either has a case or stands in the not-applicable list (``cases/not-applicable.yaml``: name ->
reason). ``mlxport list --uncovered`` prints the rest, so a new MLX release shows its new ops.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import yaml

from .model import InputError
from .yamlfile import load_yaml

NAMESPACES = ("", "fast", "linalg", "fft", "random")  # "" is mlx.core itself
NOT_APPLICABLE = "not-applicable.yaml"  # in a case folder, beside the case files


def public_functions() -> list[str]:
    """The public functions of the installed MLX, named as ops: ``exp``, ``fast.rms_norm``."""
    import mlx.core as mx

    names = []
    for space in NAMESPACES:
        module = getattr(mx, space) if space else mx
        for name, value in vars(module).items():
            if name.startswith("_") or inspect.isclass(value) or inspect.ismodule(value):
                continue
            if callable(value):
                names.append(f"{space}.{name}" if space else name)
    return sorted(names)


def load_not_applicable(path: Path) -> dict[str, str]:
    """``name -> reason`` from one not-applicable file; every entry needs a reason."""
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    entries = doc.get("not_applicable") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or set(doc) - {"not_applicable", "doc"}:
        raise InputError(f"{path}: a mapping with one field 'not_applicable': name -> reason")
    for name, reason in entries.items():
        if not isinstance(reason, str) or not reason.strip():
            line = entries.key_lines.get(name, 0)
            raise InputError(f"{path}:{line}: {name}: every not-applicable function needs a reason")
    return {str(k): v for k, v in entries.items()}


def not_applicable(folders: list[Path]) -> dict[str, str]:
    """The not-applicable entries of every case folder that has the file."""
    merged: dict[str, str] = {}
    for folder in folders:
        if (folder / NOT_APPLICABLE).is_file():
            merged.update(load_not_applicable(folder / NOT_APPLICABLE))
    return merged


@dataclass(frozen=True)
class Coverage:
    """The catalog against the installed MLX's public functions."""

    uncovered: tuple[str, ...]  # in neither the catalog nor the not-applicable list
    stale: tuple[str, ...]  # not-applicable entries that name no function of this MLX
    both: tuple[str, ...]  # covered by cases, and also listed as not applicable


def coverage(ops: set[str], skipped: dict[str, str], public: list[str]) -> Coverage:
    """Compare the catalog's ``ops`` and the ``skipped`` names with the ``public`` functions."""
    known = set(public)
    return Coverage(
        uncovered=tuple(n for n in public if n not in ops and n not in skipped),
        stale=tuple(sorted(n for n in skipped if n not in known)),
        both=tuple(sorted(n for n in skipped if n in ops)),
    )
