"""A target whose kernels fail the ways unfinished GPU kernels do: segfault, abort, hang, OOM.

It is numpy underneath (a real framework, not a mock); a few ops are replaced by faults.
"""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from mlxport.backends.numpy_backend import NumpyTarget


def _segfault(*args, **kwargs):
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _abort(*args, **kwargs):
    os.abort()  # SIGABRT, as a failed assert in a driver


def _hang(*args, **kwargs):
    time.sleep(3600)


def _out_of_memory(*args, **kwargs):
    raise RuntimeError("[sqrt] CUDA out of memory: failed to allocate 12.00 GiB")


FAULTS = {"sin": _segfault, "cos": _abort, "tan": _hang, "sqrt": _out_of_memory}


class FaultyTarget(NumpyTarget):
    framework = "faulty"
    is_reference = False

    def function(self, op):
        return FAULTS.get(op) or {"exp": np.exp, "log": np.log}.get(op)


def targets():
    return [_with_spec(FaultyTarget("cpu"), "targets")]


def slow_targets():
    """The faulty target, whose set-up in a worker takes 3 s: a framework's import on a loaded machine."""
    time.sleep(3)
    return [_with_spec(FaultyTarget("cpu"), "slow_targets")]


def _with_spec(target, factory: str):
    target.spec = f"{__name__}:{factory}"
    return target
