"""The trace file, ``mlxport.trace/1``: one zip holding ``manifest.json`` (the program, its MLX,
its device, and each signature with its argument template, count and flags) and the recorded
arrays as ``.npy`` members (bfloat16 as its uint16 bits, its dtype named in the manifest).

Past ``max_bytes`` of arrays, the later signatures keep everything but their arrays
(``dropped``): replay generates their inputs, as it does for calls recorded inside mx.compile.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..model import InputError, one_line
from .calls import DType, Signature, Slot, Trace

SCHEMA = "mlxport.trace/1"
MANIFEST = "manifest.json"
DEFAULT_MAX_BYTES = 256 << 20


def save(trace: Trace, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Write ``trace`` to ``path``; returns how many signatures lost their arrays to the cap."""
    budget, dropped, records = max_bytes, 0, []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for n, signature in enumerate(trace.signatures):
            arrays = (signature.inputs or []) + (signature.output or [])
            size = sum(a.nbytes for a in arrays)
            keep = signature.inputs is not None and size <= budget
            if signature.inputs is not None and not keep:
                dropped += 1
            budget -= size if keep else 0
            records.append(_signature_record(signature, n, archive if keep else None))
        manifest = {"schema": SCHEMA, "program": trace.program, "mlx_version": trace.mlx_version,
                    "device": trace.device, "exit": trace.exit, "max_bytes": max_bytes,
                    "dropped": dropped, "signatures": records}
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return dropped


def _signature_record(s: Signature, n: int, archive: zipfile.ZipFile | None) -> dict:
    """The manifest's record of one signature; its arrays go into ``archive`` (None: dropped)."""
    def arrays(kind: str, values: list[np.ndarray] | None) -> list[dict] | None:
        if archive is None or values is None:
            return None
        return [_write(archive, f"arrays/{n}.{kind}{i}.npy", a) for i, a in enumerate(values)]

    return {"op": s.op, "id": s.id, "args": encode(s.args), "kwargs": encode(s.kwargs),
            "shapes": [list(x) for x in s.shapes], "dtypes": list(s.dtypes), "calls": s.calls,
            "compiled": s.compiled, "dropped": s.dropped or (archive is None and s.inputs is not None),
            "inputs": arrays("in", s.inputs), "output": arrays("out", s.output)}


def _write(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> dict:
    dtype = dt.name_of(array.dtype)
    buffer = io.BytesIO()
    np.save(buffer, array.view(np.uint16) if dtype == "bfloat16" else array, allow_pickle=False)
    archive.writestr(name, buffer.getvalue())
    return {"member": name, "dtype": dtype}


def encode(value: Any) -> Any:
    """An argument template as JSON: tuples, slices, Ellipsis, Slots and DTypes tagged."""
    if isinstance(value, Slot):
        return {"slot": value.index}
    if isinstance(value, DType):
        return {"dtype": value.name}
    if isinstance(value, slice):
        return {"slice": [encode(v) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, complex):
        return {"complex": [value.real, value.imag]}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    return value


_TAGS = {"slot": lambda v: Slot(int(v)), "dtype": DType, "ellipsis": lambda v: Ellipsis,
         "slice": lambda v: slice(*map(decode, v)), "complex": lambda v: complex(*v),
         "tuple": lambda v: tuple(map(decode, v)), "dict": lambda v: {k: decode(x) for k, x in v.items()}}


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        (tag, inner), = value.items()
        return _TAGS[tag](inner)
    return value


def load(path: Path) -> Trace:
    """The trace saved at ``path``; a damaged, truncated or foreign file is an InputError."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
                raise ValueError(f"its schema is {_schema(manifest)!r}, not {SCHEMA!r}")
            signatures = [_signature(record, archive) for record in manifest["signatures"]]
        return Trace(program=list(manifest["program"]), mlx_version=str(manifest["mlx_version"]),
                     device=str(manifest["device"]), signatures=signatures, exit=manifest.get("exit"))
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: not a readable {SCHEMA} trace: {type(exc).__name__}: {one_line(exc)}") from None


def _schema(manifest: Any) -> Any:
    return manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__


def _signature(record: dict, archive: zipfile.ZipFile) -> Signature:
    shapes = tuple(tuple(int(d) for d in s) for s in record["shapes"])
    signature = Signature(op=str(record["op"]), id=str(record["id"]), args=decode(record["args"]),
                          kwargs=decode(record["kwargs"]), shapes=shapes, dtypes=tuple(record["dtypes"]),
                          calls=int(record["calls"]), compiled=bool(record["compiled"]),
                          dropped=bool(record["dropped"]))
    if not isinstance(signature.args, tuple) or not isinstance(signature.kwargs, dict):
        raise ValueError(f"{signature.id}: its arguments are not a tuple and a mapping")
    signature.inputs = _arrays(record["inputs"], archive)
    signature.output = _arrays(record["output"], archive)
    if signature.inputs is not None and tuple(a.shape for a in signature.inputs) != shapes:
        raise ValueError(f"{signature.id}: its arrays do not have the shapes it declares")
    return signature


def _arrays(members: list[dict] | None, archive: zipfile.ZipFile) -> list[np.ndarray] | None:
    if members is None:
        return None
    out = []
    for member in members:
        array = np.load(io.BytesIO(archive.read(member["member"])), allow_pickle=False)
        dtype = dt.np_dtype(member["dtype"])
        out.append(array.view(dtype) if member["dtype"] == "bfloat16" else array)
        if out[-1].dtype != dtype:
            raise ValueError(f"{member['member']}: dtype {array.dtype}, not {member['dtype']}")
    return out
