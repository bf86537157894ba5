"""A target whose kernels fail the ways unfinished GPU kernels do: segfault, abort, hang, OOM.

It is numpy underneath (a real framework, not a mock); a few ops are replaced by faults.
"""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

import numpy as np

from mlxport.backends.numpy_backend import NumpyTarget


def _segfault(*args, **kwargs):
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _abort(*args, **kwargs):
    os.abort()  # SIGABRT, as a failed assert in a driver


def _hang(*args, **kwargs):
    time.sleep(3600)


def _hang_when_large(x, *args, **kwargs):
    if x.size > 4:
        time.sleep(3600)
    return np.arctan(x)


_calls = []


def _hang_on_third_call(x, *args, **kwargs):
    _calls.append(1)
    if len(_calls) >= 3:  # in this process: a fault that comes only after a few calls
        time.sleep(3600)
    return np.arcsin(x)


def _hang_from_third_process(x, *args, **kwargs):
    log = Path(os.environ["ATTEMPTS_LOG"])  # one line per process that called it
    with log.open("a") as f:
        f.write(f"{os.getpid()}\n")
    if len(log.read_text().split()) >= 3:
        time.sleep(3600)
    return np.arccos(x)


def _out_of_memory(*args, **kwargs):
    raise RuntimeError("[sqrt] CUDA out of memory: failed to allocate 12.00 GiB")


FAULTS = {"sin": _segfault, "cos": _abort, "tan": _hang, "sqrt": _out_of_memory, "arctan": _hang_when_large,
          "arcsin": _hang_on_third_call, "arccos": _hang_from_third_process}


class FaultyTarget(NumpyTarget):
    framework = "faulty"
    is_reference = False

    def function(self, op):
        return FAULTS.get(op) or {"exp": np.exp, "log": np.log}.get(op)


def targets():
    return [_with_spec(FaultyTarget("cpu"), "targets")]


def gpu_targets():
    """The faulty target on a device other than the CPU: a lane of its own, one process at a time."""
    return [_with_spec(FaultyTarget("gpu"), "gpu_targets")]


def slow_targets():
    """The faulty target, whose set-up in a worker takes 3 s: a framework's import on a loaded machine."""
    time.sleep(3)
    return [_with_spec(FaultyTarget("cpu"), "slow_targets")]


def _with_spec(target, factory: str):
    target.spec = f"{__name__}:{factory}"
    return target


# --- Faults in the real MLX: its mlx:cpu target, with some ops replaced ------------------------

from mlxport.backends.mlx_backend import MLXTarget  # noqa: E402

LOST = "cudaStreamSynchronize(stream) failed: an illegal memory access was encountered"


class FaultyMLX(MLXTarget):
    """mlx:cpu with ops that fail in every cell: ``sort`` segfaults, ``cumsum`` aborts, ``tanh``
    hangs. Every other op is MLX's own."""

    FAULTS = {"sort": _segfault, "cumsum": _abort, "tanh": _hang}

    def function(self, op):
        return self.FAULTS.get(op) or super().function(op)


class DyingEvalMLX(MLXTarget):
    """mlx:cpu whose kernels die on the device, after MLX built the graph: evaluating a graph
    with a ``CumSum`` segfaults, one with an ``ArgReduce`` aborts, one with a ``Sort`` hangs."""

    FAULTS = {"CumSum": _segfault, "ArgReduce": _abort, "Sort": _hang}

    def sync(self, outputs):
        for name in self.graph(outputs):
            self.FAULTS.get(name, lambda: None)()
        super().sync(outputs)


class PoisonedMLX(MLXTarget):
    """mlx:cpu whose first ``sort`` poisons the process, as an illegal memory access loses a
    CUDA context: that sort raises, and so does every MLX call after it, in that process."""

    POISON = "sort"
    MESSAGE = LOST
    poisoned = False  # set on the class: the whole process is poisoned

    def function(self, op):
        fn = super().function(op)
        if fn is None:
            return None

        def call(*args, **kwargs):
            self._check()
            out = fn(*args, **kwargs)
            if op == self.POISON:
                PoisonedMLX.poisoned = True
            self._check()
            return out

        return call

    def _check(self):
        if PoisonedMLX.poisoned:
            raise RuntimeError(self.MESSAGE)

    def asarray(self, array):
        self._check()
        return super().asarray(array)

    def sync(self, outputs):
        self._check()
        return super().sync(outputs)


class OddlyPoisonedMLX(PoisonedMLX):
    """The same, in words that name no CUDA, no device and no context."""

    MESSAGE = "something went wrong"


class UnwellFaulty(FaultyTarget):
    """The faulty numpy target whose add always raises: a canary that fails from the start."""

    def function(self, op):
        return _out_of_memory if op == "add" else super().function(op)


def faulty_mlx_targets():
    return [_with_spec(FaultyMLX("cpu"), "faulty_mlx_targets")]


def dying_eval_targets():
    return [_with_spec(DyingEvalMLX("cpu"), "dying_eval_targets")]


def poisoned_targets():
    return [_with_spec(PoisonedMLX("cpu"), "poisoned_targets")]


def oddly_poisoned_targets():
    return [_with_spec(OddlyPoisonedMLX("cpu"), "oddly_poisoned_targets")]


def unwell_targets():
    return [_with_spec(UnwellFaulty("cpu"), "unwell_targets")]
