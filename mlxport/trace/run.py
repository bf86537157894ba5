"""Check a program's trace: its calls become cases (``cases.py``) that the ordinary
``check.execute`` runs on every target, in worker processes, as ``mlxport check`` runs the catalog."""

from __future__ import annotations

import shlex
from collections import Counter

from ..check import Run, RunOptions, Selection, execute, op_matches, select_cases, select_targets
from ..model import Case, CellResult, InputError, Origin, Status
from .calls import Trace
from .cases import COMPILED, DROPPED, no_reference, trace_cases

DEFAULT_MAX_BYTES = 256 * 2**20  # --max-bytes: past it, a saved trace keeps signatures, not arrays


def check_trace(trace: Trace, origin: Origin, selection: Selection, options: RunOptions,
                on_result=lambda result: None) -> tuple[Run, list[Case]]:
    """Every call of ``trace`` (those that ``selection.ops`` names, if any) on the targets of
    ``selection``; the results document also carries the trace's manifest (``"trace"``)."""
    cases = choose(trace_cases(trace, origin, select_cases(Selection())), selection.ops)
    targets, infos = select_targets(selection)
    fields = {"trace": manifest(trace)}
    return execute(cases, targets, infos, options, on_result, fields, resumable=False, fields=fields), cases


def choose(cases: list[Case], ops: tuple[str, ...]) -> list[Case]:
    """The cases that ``--ops`` globs name (by op or id), all without one; a glob that names
    none is an input error."""
    for pattern in ops:
        if not any(op_matches(pattern, c) for c in cases):
            raise InputError(f"--ops {pattern}: matches no call of the trace")
    return [c for c in cases if not ops or any(op_matches(p, c) for p in ops)]


def manifest(trace: Trace) -> dict:
    """What the results file says of the trace it checked."""
    return {"program": list(trace.program), "mlx_version": trace.mlx_version, "device": trace.device,
            "signatures": len(trace.signatures), "calls": sum(s.calls for s in trace.signatures),
            "exit": trace.exit}


def summary_lines(trace: Trace, cases: list[Case], cells: list[CellResult]) -> list[str]:
    """The lines after the matrix: the program and its calls, the calls whose inputs were
    generated, the ops with no reference (by name), and how the program's own outputs compare."""
    lines = [f"program: {shlex.join(trace.program)} (recorded with MLX {trace.mlx_version} on {trace.device}): "
             f"{sum(c.calls or 0 for c in cases)} calls, {len(cases)} distinct"]
    generated = Counter(c.generated for c in cases if c.generated)
    if generated:
        lines.append(f"inputs generated for {sum(generated.values())} of the distinct calls: "
                     + ", ".join(f"{n} {why}" for why, n in generated.items()))
    missing = no_reference(cases)
    if missing:
        count = sum(c.op in missing for c in cases)
        lines.append(f"no reference: {', '.join(missing)} ({count} calls skip on every target)")
    return lines + [_recorded_line({c.case: c.recorded for c in cells})]


def _recorded_line(recorded: dict[str, str | None]) -> str:
    """How the outputs the program got compare with the goldens, naming those that disagree."""
    bad = [f"{case} ({word})" for case, word in recorded.items() if word not in (None, Status.PASS.value)]
    unknown = sum(word is None for word in recorded.values())
    line = f"recorded outputs: {len(recorded) - len(bad) - unknown} agree with the golden"
    line += f", {unknown} not compared (no output or no golden)" if unknown else ""
    return line + (f"; {len(bad)} do not: {', '.join(bad)}" if bad else "")


__all__ = ["COMPILED", "DEFAULT_MAX_BYTES", "DROPPED", "check_trace", "choose", "manifest", "summary_lines"]
