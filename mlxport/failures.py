"""``--save-failures DIR``: one ``.npz`` per cell that ran and did not pass, with its inputs, its
golden and its actual output, written by the worker that ran the cell (the arrays never travel
back to the parent, so a run without the flag carries nothing extra)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from . import dtypes as dt
from .model import CellResult

# numpy's .npz cannot describe bfloat16; it is stored widened (exactly) with its name in meta.
_WIDEN = {"bfloat16": np.float32}


def file_name(case: str, target: str) -> str:
    """A safe, unique file name: the readable part of the ids and a hash of the exact ones.

    >>> file_name("exp[float16,(3,4)]", "mlx:cpu")
    'mlx_cpu_exp_float16_3_4-6c90bb7e04.npz'
    """
    readable = re.sub(r"[^A-Za-z0-9.=-]+", "_", f"{target}__{case}").strip("_")[:150]
    digest = hashlib.sha256(f"{target}\n{case}".encode()).hexdigest()[:10]
    return f"{readable}-{digest}.npz"


def save(folder: Path, result: CellResult, inputs: list, expected, actual: list | None) -> Path:
    """Write the cell's arrays: ``input_<i>`` (or ``input_<name>`` for a keyword input),
    ``golden_<i>`` (float64, before rounding; absent when the golden is a distribution) and
    ``actual_<i>``; ``meta`` is a JSON string with the ids, the message, the command that
    reruns the cell and each array's MLX dtype."""
    arrays: dict[str, np.ndarray] = {}
    for i, item in enumerate(inputs):
        arrays[f"input_{item.name or i}"] = item.value
    for i, value in enumerate(expected if isinstance(expected, tuple) else ()):
        if isinstance(value, np.ndarray) or np.isscalar(value):
            arrays[f"golden_{i}"] = np.asarray(value)
    for i, value in enumerate(actual or []):
        arrays[f"actual_{i}"] = value
    dtypes = {k: _name(v.dtype) for k, v in arrays.items()}
    stored = {k: v.astype(_WIDEN[dtypes[k]]) if dtypes[k] in _WIDEN else v for k, v in arrays.items()}
    meta = {"case": result.case, "target": result.target, "status": result.status.value,
            "message": result.message, "reproduce": result.reproduce, "dtypes": dtypes}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(result.case, result.target)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **stored)
    return path


def stamps(folder: Path | None) -> dict[str, int]:
    """When each ``.npz`` in ``folder`` was last written (none yet: empty), to count what a run
    writes there: the files are written by the workers, which report no more than the cell."""
    if not folder or not folder.is_dir():
        return {}
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.npz")}


def written(folder: Path, before: dict[str, int], cells: list[CellResult]) -> int:
    """How many of ``cells`` have a file in ``folder`` that is new or rewritten since ``before``."""
    count = 0
    for cell in cells:
        path = folder / file_name(cell.case, cell.target)
        count += path.is_file() and before.get(path.name) != path.stat().st_mtime_ns
    return count


def _name(dtype: np.dtype) -> str:
    try:
        return dt.name_of(dtype)
    except KeyError:
        return str(dtype)
