"""Run cases on targets: one golden per case, one result per cell. The runner never formats."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import accuracy, failures, references
from . import dtypes as dt
from .backends import Target
from .catalog import matches
from .compare import compare_outputs
from .inputs import Input, generate
from .model import Case, CellResult, Outcome, Status, one_line
from .trace.template import fill

# Correctness runs must not let float32 matmul and conv drop to TF32 on CUDA.
CORRECTNESS_ENV = {"MLX_ENABLE_TF32": "0"}


def prepare_environment() -> dict[str, str]:
    """Set the environment of a correctness run before any framework loads; returns it."""
    os.environ.update(CORRECTNESS_ENV)
    return dict(CORRECTNESS_ENV)


def run(cases: Sequence[Case], targets: Sequence[Target]) -> Iterator[CellResult]:
    """Every cell of ``cases`` x ``targets``, case by case, in order."""
    for case in cases:
        inputs = generate(case)
        expected = golden(case, inputs)
        for target in targets:
            yield run_cell(target, case, inputs, expected)


def golden(case: Case, inputs: list[Input]) -> tuple | Exception:
    """The reference outputs of ``case``, computed wide; the exception if the reference fails."""
    fn = references.lookup(case.reference or case.op)
    # A raw reference (view: a reinterpretation of bits) takes the inputs in their own dtypes.
    raw = getattr(fn, "raw", False)
    widen = dt.np_dtype if raw else dt.golden_dtype
    try:
        args, kwargs = _arguments(case, inputs, lambda i: i.value.astype(widen(dt.name_of(i.value.dtype))),
                                  lambda k, v: widen(v) if k == "dtype" and v is not None else v)
        with np.errstate(all="ignore"):  # overflow to inf and NaN are goldens too
            return _as_tuple(fn(*args, **kwargs))
    except Exception as exc:  # a bug in our reference, reported on every cell of the case
        return exc


def run_cell(target: Target, case: Case, inputs: list[Input], expected, save: Path | None = None,
             note: Callable[[dict], None] | None = None) -> CellResult:
    """One case on one target: skip, unsupported, error, or compared with the golden. With
    ``save``, a cell that ran and did not pass leaves its arrays there (``failures.save``).

    Fields of the result known before the cell ends (its ``primitives``, taken before the
    outputs are evaluated) are recorded as they come, and each is also passed to ``note``: the
    worker sends them ahead, so that a cell whose evaluation kills the process still has them."""
    start = time.perf_counter()
    noted: dict[str, Any] = {}

    def record(**fields) -> None:
        noted.update(fields)
        if note is not None:
            note(fields)

    if case.calls is not None:  # a traced call's fields, the same on every target
        record(calls=case.calls, recorded=recorded(case, inputs, expected))
    outcome, actual = _outcome(target, case, inputs, expected, record)
    known = known_reason(case, target, outcome.status)
    generated = case.generated and f"inputs generated: {case.generated}"  # the row says so
    result = CellResult(
        case=case.id, op=case.op, dtype=case.dtype, target=target.name, status=outcome.status,
        message="; ".join(filter(None, (generated, outcome.message))) or None,
        max_abs_err=outcome.max_abs_err, max_rel_err=outcome.max_rel_err,
        max_ulp=outcome.max_ulp, known=known, seconds=round(time.perf_counter() - start, 6),
        p99_ulp=outcome.p99_ulp, reproduce=reproduce(case, target.name, outcome.status), **noted,
    )
    if save and result.reproduce and not isinstance(expected, Exception):
        failures.save(save, result, inputs, expected, actual)
    return result


def recorded(case: Case, inputs: list[Input], expected) -> str | None:
    """The status word of the output the program itself got, compared with the golden as a
    cell's output is (without the float64 re-check: that needs the device it ran on); None
    where there is none to compare (recorded inside mx.compile, or the golden failed)."""
    if case.output is None or isinstance(expected, Exception):
        return None
    return compare_outputs(list(case.output), list(expected), case, [i.value for i in inputs]).status.value


def reproduce(case: Case, target: str, status: Status) -> str | None:
    """The command that reruns just this cell, for a cell that did not pass (its case's origin
    says which: ``Origin.rerun``)."""
    return None if status in (Status.PASS, Status.SKIP) else case.origin.rerun(target, case.id)


def known_reason(case: Case, target: Target, status: Status) -> str | None:
    """The recorded reason of a cell that failed the way a divergence entry says MLX does (on
    the MLX releases the entry names, where it names them)."""
    if status not in (Status.MISMATCH, Status.ERROR, Status.CRASH, Status.TIMEOUT):
        return None
    return next((r.reason for r in case.divergences if matches(r, target.name, case.id, target.mlx_version())), None)


def blocked(target: Target, case: Case, expected) -> Outcome | None:
    """Why the cell cannot run at all (skip, failed golden, op not in the table), else None."""
    reason = next((r.reason for r in case.skips if matches(r, target.name, case.id, target.mlx_version())), None)
    reason = reason or target.skip_reason(case)
    if reason:
        return Outcome(Status.SKIP, reason)
    if isinstance(expected, Exception):
        return Outcome(Status.ERROR, f"[{case.op}] golden reference failed: {one_line(expected)}")
    if target.function(case.op) is None:
        return Outcome(Status.UNSUPPORTED, f"[{case.op}] not in {target.name}'s op table")
    return None


def failed(target: Target, case: Case, exc: BaseException) -> Outcome:
    """The outcome of a cell whose call raised: ``skip`` where the call asked for what this
    release of the framework lacks (a keyword), else as the target classifies it."""
    if (lacks := target.lacks(case, exc)) is not None:
        return Outcome(Status.SKIP, lacks)
    return Outcome(target.classify(exc), f"[{case.op}] {type(exc).__name__}: {one_line(exc)}")


def _outcome(target: Target, case: Case, inputs: list[Input], expected, record) -> tuple[Outcome, list | None]:
    """The cell's outcome, and its outputs when it ran; ``record(primitives=...)`` hears its graph."""
    if (outcome := blocked(target, case, expected)) is not None:
        return outcome, None
    fn = target.function(case.op)
    try:
        with target.session():
            actual = _call(target, fn, case, inputs, case.repeat, record)
    except Exception as exc:
        return failed(target, case, exc), None
    return judge(target, fn, case, inputs, expected, actual), actual


def judge(target: Target, fn, case: Case, inputs: list[Input], expected, actual: list[np.ndarray]) -> Outcome:
    """The verdict on the outputs (numpy) of a cell that ran: compared with the golden, then, if
    that failed slightly, the float64 re-check of ``fn`` on ``target``. ``check`` and ``bench``
    both judge with it, so a cell passes in one exactly when it passes in the other."""
    outcome = compare_outputs(actual, list(expected), case, [i.value for i in inputs])
    if accuracy.eligible(case, expected, outcome):
        outcome = accuracy.recheck(outcome, actual, list(expected), _precise(target, fn, case, inputs), case)
    return outcome


def _precise(target: Target, fn, case: Case, inputs: list[Input]) -> list[np.ndarray] | None:
    """The same call with the narrow float inputs in float64; None where the target has no
    float64 (a GPU) or the call fails."""
    wide = [Input(accuracy.widened(i.base), i.view, i.name) for i in inputs]
    try:
        with target.session():
            return _call(target, fn, case, wide)
    except Exception:
        return None


def _call(target: Target, fn, case: Case, inputs: list[Input], repeat: int = 1,
          record: Callable[..., None] | None = None) -> list[np.ndarray]:
    """Run the cell's call ``repeat`` times (its inputs made anew each time), wait for it, and
    bring the last call's outputs back to numpy. With ``record``, the graph of the first call is
    recorded between building its outputs and evaluating them."""
    for n in range(repeat):
        args, kwargs = _target_arguments(target, case, inputs)
        outputs = _as_tuple(fn(*args, **kwargs))
        if n == 0 and record is not None:  # still lazy: the graph holds what the call needs
            primitives = target.graph(outputs, _passed(args, kwargs))
            if primitives is not None:
                record(primitives=primitives)
        target.sync(outputs)
    return [target.to_numpy(o) for o in outputs]


def bind(target: Target, fn, case: Case, inputs: list[Input]):
    """The call of a cell with its arguments made once: ``call() -> tuple of outputs``. Call it
    inside ``target.session()``; it does not sync (the harness times that)."""
    args, kwargs = _target_arguments(target, case, inputs)
    return lambda: _as_tuple(fn(*args, **kwargs))


def _target_arguments(target: Target, case: Case, inputs: list[Input]) -> tuple[list, dict[str, Any]]:
    """The call's arguments as ``target``'s arrays (views made by the framework) and params."""
    return _arguments(case, inputs, lambda i: target.view(target.asarray(i.base), i.view), target.param)


def _arguments(case: Case, inputs: list[Input], array, param) -> tuple[list, dict[str, Any]]:
    """Positional and keyword arguments of a call; ``array`` turns an Input into an argument.
    A traced call's come from its template, dtypes turned by ``param("dtype", name)``."""
    if case.template is not None:
        args, kwargs = fill(case.template, [array(i) for i in inputs], lambda name: param("dtype", name))
        return list(args), kwargs
    arrays = [array(i) for i in inputs if i.name is None]
    arrays = [arrays] if case.pack else arrays
    order = case.positional or ("arrays",)
    args = [a for name in order for a in (arrays if name == "arrays" else [param(name, case.params[name])])]
    kwargs = {i.name: array(i) for i in inputs if i.name}
    kwargs.update({k: param(k, v) for k, v in case.params.items() if k not in order})
    return args, kwargs


def _passed(args: list, kwargs: dict[str, Any]) -> list:
    """Every argument of a call, a packed list of arrays unpacked."""
    return [a for v in (*args, *kwargs.values()) for a in (v if isinstance(v, list) else [v])]


def _as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)

