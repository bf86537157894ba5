"""Every cell that does not pass carries a command that reruns just it; --save-failures writes
its arrays. Through the real CLI and MLX."""

from __future__ import annotations

import json
import os
import shlex

import numpy as np
import pytest

from conftest import read_json, run_cli
from mlxport.failures import file_name, stamps, written
from mlxport.model import CellResult, Status

pytest.importorskip("mlx.core")

# exp with a zero tolerance: MLX's float32 exp is not correctly rounded, so values differ.
CASES = """
category: test
ops:
  - op: exp
    dtypes: [float32, bfloat16]
    shapes: ["(16,33)"]
    inputs: [{domain: [-10, 10]}]
    tolerance: {rtol: 0, atol: 0}
    variants: [{name: reprotest}]
"""


def test_failing_cells_carry_a_command_and_their_arrays(case_dir, tmp_path):
    folder = case_dir("repro.yaml", CASES)
    out, saved = tmp_path / "r.json", tmp_path / "saved"
    done = run_cli("check", "--target", "mlx:cpu", "--cases", str(folder), "--ops", "*reprotest*",
                   "--json", str(out), "--save-failures", str(saved))
    assert done.returncode == 0, done.stderr
    cells = {r["case"]: r for r in read_json(out)["results"]}
    bad = [r for r in cells.values() if r["status"] == "mismatch"]
    assert bad, "a zero tolerance should fail MLX's float32 exp somewhere"
    for r in cells.values():
        assert (r["reproduce"] is None) == (r["status"] == "pass")
        assert r["p99_ulp"] is not None and r["p99_ulp"] <= r["max_ulp"]
    cell = bad[0]
    assert cell["reproduce"] == (f"mlxport check --target mlx:cpu --ops {shlex.quote(cell['case'])} "
                                 f"--cases {shlex.quote(str(folder))}")
    assert cell["reproduce"] in done.stdout.replace("\n", "")  # the terminal's failure line has it

    with np.load(saved / file_name(cell["case"], "mlx:cpu")) as npz:
        meta = json.loads(str(npz["meta"]))
        actual, golden, x = npz["actual_0"], npz["golden_0"], npz["input_0"]
    assert meta["case"] == cell["case"] and meta["reproduce"] == cell["reproduce"]
    assert golden.dtype == np.float64 and np.allclose(golden, np.exp(x.astype(np.float64)))
    assert meta["dtypes"]["actual_0"] == cell["dtype"] and not np.array_equal(actual, golden)
    assert len(list(saved.iterdir())) == len(bad)  # passing cells leave nothing
    assert f"saved {len(bad)} failing cell{'' if len(bad) == 1 else 's'} to {saved}" in done.stdout

    again = run_cli(*shlex.split(cell["reproduce"])[1:], "--json", str(tmp_path / "again.json"))
    assert [r["case"] for r in read_json(tmp_path / "again.json")["results"]] == [cell["case"]]
    assert again.returncode == 0


def test_save_failures_says_so_when_it_saved_nothing(tmp_path):
    done = run_cli("check", "--target", "mlx:cpu", "--ops", "add[float32,()x()]", "--save-failures",
                   str(tmp_path / "saved"))
    assert done.returncode == 0 and f"saved 0 failing cells to {tmp_path / 'saved'}" in done.stdout, done.stderr


def test_only_the_files_a_run_writes_are_counted(tmp_path):
    cells = [CellResult(f"exp[{i}]", "exp", "float32", "mlx:cpu", Status.MISMATCH) for i in range(3)]
    old, kept, new = (tmp_path / file_name(c.case, c.target) for c in cells)
    for path in (old, kept):
        path.write_bytes(b"")
        os.utime(path, ns=(1, 1))  # written long ago, by an earlier run
    before = stamps(tmp_path)
    old.write_bytes(b"again")
    os.utime(old, ns=(2, 2))
    new.write_bytes(b"")
    assert written(tmp_path, before, cells) == 2 and stamps(tmp_path / "none") == {}


def test_file_names_are_safe_and_distinct():
    a, b = file_name("exp[float32,(3,4)]", "mlx:cpu"), file_name("exp[float32,(3,4)]", "mlx:gpu")
    assert a != b and "/" not in a and ":" not in a and a.endswith(".npz")
