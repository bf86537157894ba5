"""Every MLX release people run: what a release lacks is skip naming it, and records may name
the releases they hold for. The installed MLX is the newest; what older releases show is the
subject of docs/results/mlx-releases.md and of CI's run on the oldest supported one."""

from __future__ import annotations

import pytest

from conftest import read_json, run_cli
from mlxport import versions

mx = pytest.importorskip("mlx.core")


@pytest.mark.parametrize("version,spec,holds", [
    ("0.30.6", ">=0.30,<0.32", True),
    ("0.32.4", ">=0.30,<0.32", False),
    ("0.29.0", "<0.30", True),
    ("0.32.4", "==0.32.*", True),
    ("0.31.0", "!=0.31.*", False),
    ("0.30.6", "~=0.30.2", True),
    ("0.31.0", "~=0.30.2", False),
    ("0.31.0.dev20251201+cuda", ">=0.31", True),  # a suffix is not a release part
])
def test_specifiers_hold_for_the_releases_they_name(version, spec, holds):
    assert versions.holds(version, spec) is holds


@pytest.mark.parametrize("spec", ["0.30", ">=0.30.*", "~=1", ">= x", ">=0.30;<0.32"])
def test_a_specifier_that_is_not_one_says_why(spec):
    assert versions.problem(spec)


CASES = """
category: test
ops:
  - op: nanmean
    doc: numpy has it, MLX has not (as of 0.32)
    dtypes: [float32]
    shapes: ["(3,4)"]
    out: float32
    variants: [{name: reltest}]
  - op: argmin
    doc: declares numpy's int64, which MLX does not return; a mismatch on purpose
    dtypes: [float32]
    shapes: ["(5,7)"]
    params: {axis: 1}
    out: int64
    variants: [{name: reltest}]
    divergence:
      - {target: "mlx:*", mlx: "<0.1", reason: "written for a release long gone"}
      - {target: "mlx:*", mlx: ">=0.1", reason: "MLX returns uint32 indices"}
"""


def test_an_op_the_release_lacks_is_skip_naming_it_and_records_hold_for_their_releases(tmp_path, case_dir):
    cases = case_dir("r.yaml", CASES)
    out = tmp_path / "r.json"
    proc = run_cli("check", "--cases", str(cases), "--target", "mlx:cpu", "--ops", "*reltest*", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    cells = {r["op"]: r for r in read_json(out)["results"]}
    assert cells["nanmean"]["status"] == "skip" and cells["nanmean"]["message"] == f"not in MLX {mx.__version__}"
    assert "porting debt: none" in proc.stdout  # what a release lacks is not what a device lacks
    assert cells["argmin"]["status"] == "mismatch" and cells["argmin"]["known"] == "MLX returns uint32 indices"


def test_a_record_with_a_bad_specifier_is_refused_with_its_line(case_dir):
    cases = case_dir("r.yaml", CASES.replace('mlx: "<0.1"', 'mlx: "0.1"'))
    proc = run_cli("check", "--cases", str(cases), "--target", "mlx:cpu", "--ops", "*reltest*")
    assert proc.returncode == 2 and "r.yaml:" in proc.stderr and "mlx" in proc.stderr, proc.stderr
    assert "'0.1' is not a version clause" in proc.stderr


def _refusal(fn, *args, **kwargs) -> Exception:
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        return exc
    raise AssertionError("the call did not raise")


def test_a_keyword_the_release_lacks_is_skip_and_a_device_gap_is_not():
    from dataclasses import replace

    from mlxport.backends.mlx_backend import MLXTarget
    from mlxport.model import Status
    from mlxport.runner import failed

    target = MLXTarget("cpu")
    case = next(c for c in _softmax_cases() if "axis" in c.params)
    asks = replace(case, params={**case.params, "made_up": 1})
    missing = failed(target, asks, _refusal(mx.softmax, mx.ones((2, 3)), axis=-1, made_up=1))
    assert missing.status is Status.SKIP and missing.message == f"MLX {mx.__version__}'s softmax has no made_up="
    wrong_type = failed(target, case, _refusal(mx.softmax, "not an array", axis=-1))  # refused; it knows every keyword
    assert wrong_type.status is Status.ERROR
    gap = failed(target, case, RuntimeError("[GatherMM::eval] Currently only supports float32."))
    assert gap.status is Status.UNSUPPORTED  # the device's own words: still porting debt


def _softmax_cases():
    from mlxport.check import Selection, select_cases

    return select_cases(Selection(ops=("softmax",)))
