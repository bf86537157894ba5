"""Shared helpers: run the real CLI, write case files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def interruptible() -> None:
    """A ``preexec_fn``: the child takes Ctrl-C (SIGINT) as a user's terminal would deliver it,
    even when the test run itself was started in the background, which ignores SIGINT and passes
    that on to every child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``mlxport ARGS`` in a fresh process, as a user types it."""
    return subprocess.run([sys.executable, "-m", "mlxport", *args], capture_output=True, text=True,
                          timeout=timeout, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                "HOME": str(Path.home())})


@pytest.fixture
def case_dir(tmp_path):
    """Write YAML text into a fresh case folder: ``case_dir("a.yaml", text) -> folder``."""

    def write(name: str, text: str) -> Path:
        (tmp_path / name).write_text(textwrap.dedent(text))
        return tmp_path

    return write


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
