"""Run a program as Python would, with its MLX calls recorded: ``record(["model.py", "--steps",
"3"])`` or ``record(["-m", "pkg.mod"])`` -> :class:`Trace`."""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path

from ..model import InputError, one_line
from .calls import Trace
from .hooks import patched
from .recorder import Recorder


def record(argv: list[str]) -> Trace:
    """Run ``python ARGV...`` in this process with MLX recorded, and give its distinct calls.

    The program's argv, ``__main__``, stdout and stderr are its own; its exit or exception ends
    only it (``Trace.exit`` says how), and MLX is as before afterwards."""
    import mlx.core as mx

    from ..api import not_applicable
    from ..check import builtin_cases

    _check(argv)
    recorder = Recorder()
    trace = Trace(program=list(argv), mlx_version=mx.__version__, device=device_name())
    with patched(recorder, set(not_applicable([builtin_cases()]))):
        trace.exit = run_program(argv)
    recorder.finish()
    trace.signatures = list(recorder.signatures.values())
    return trace


def _check(argv: list[str]) -> None:
    if not argv or argv[0] == "-m" and len(argv) < 2:
        raise InputError("trace: name a program: SCRIPT [ARGS]... or -m MODULE [ARGS]...")
    if argv[0] != "-m" and not Path(argv[0]).is_file():
        raise InputError(f"{argv[0]}: no such file")


def run_program(argv: list[str]) -> str | None:
    """Run ``argv`` as ``python ARGV...``; None if it ended normally, else one line on how not.
    ``sys.argv`` and ``sys.path`` are restored afterwards."""
    module = argv[1] if argv[0] == "-m" else None
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [module, *argv[2:]] if module else list(argv)
    # What Python puts first on sys.path: the script's folder, or the current one for -m.
    sys.path.insert(0, os.getcwd() if module else str(Path(argv[0]).resolve().parent))
    try:
        if module:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        return _exit_status(exc)
    except Exception as exc:  # the program's own: Python would print it and exit 1
        traceback.print_exc()
        return f"{type(exc).__name__}: {one_line(exc)}"
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return None


def _exit_status(exc: SystemExit) -> str | None:
    code = exc.code
    if code is None or code == 0:
        return None
    return f"exit status {code}" if isinstance(code, int) else f"exit status 1: {one_line(SystemExit(code))}"


def device_name() -> str:
    """The name of the device MLX computes on by default: ``cpu`` or a GPU's name."""
    import mlx.core as mx

    from ..backends.mlx_backend import MLXTarget

    kind = "gpu" if mx.default_device().type == mx.DeviceType.gpu else "cpu"
    return MLXTarget(kind).probe().device_name or kind
