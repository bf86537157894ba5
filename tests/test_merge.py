"""merge: shards and hosts into one matrix, with the gates; diff: status changes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import read_json, run_cli
from mlxport import merge
from mlxport.exports import cells_and_infos
from mlxport.gates import write_xfails

pytest.importorskip("mlx.core")

OPS = ["--target", "mlx:cpu", "--ops", "argsort", "--ops", "exp"]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    paths = []
    for k in (1, 2):
        path = folder / f"s{k}.json"
        assert run_cli("check", *OPS, "--shard", f"{k}/2", "--json", str(path)).returncode == 0
        paths.append(path)
    full = folder / "full.json"
    assert run_cli("check", *OPS, "--json", str(full)).returncode == 0
    return paths, full


def _as_host(path, name, out):
    doc = json.loads(path.read_text())
    doc["host"]["name"] = name
    out.write_text(json.dumps(doc))
    return out


def test_shards_of_one_host_merge_into_the_full_run(tmp_path, shards):
    (a, b), full = shards
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(a), str(b), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    key = lambda d: sorted((r["case"], r["target"], r["status"]) for r in d["results"])  # noqa: E731
    assert key(read_json(out)) == key(read_json(full))
    assert read_json(out)["summary"]["mlx:cpu"] == read_json(full)["summary"]["mlx:cpu"]


def test_shards_from_two_hosts_of_one_device_make_one_column(tmp_path, shards):
    (a, b), full = shards
    one, two = _as_host(a, "fv-az101-1", tmp_path / "1.json"), _as_host(b, "fv-az202-7", tmp_path / "2.json")
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(one), str(two), "--json", str(out), "--min-coverage", "mlx:cpu=50")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert read_json(out)["summary"] == {"mlx:cpu": read_json(full)["summary"]["mlx:cpu"]}
    assert "ok: coverage mlx:cpu " in proc.stdout
    by_host = run_cli("merge", str(one), str(two), "--by-host", "--json", str(out))
    assert by_host.returncode == 0 and set(read_json(out)["summary"]) == {"mlx:cpu@fv-az101-1", "mlx:cpu@fv-az202-7"}


def test_the_same_target_on_two_devices_gets_a_column_each(tmp_path, shards):
    _, full = shards
    mac = json.loads(full.read_text())
    mac["targets"] = [{**t, "device_name": "Apple M3 Max"} for t in mac["targets"]]
    (tmp_path / "mac.json").write_text(json.dumps(mac))
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(full), str(tmp_path / "mac.json"), "--json", str(out), "--min-coverage", "mlx:cpu=50")
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out)
    columns = set(doc["summary"])
    assert len(columns) == 2 and "mlx:cpu@Apple-M3-Max" in columns and columns <= {t["name"] for t in doc["targets"]}
    assert all(c.startswith("mlx:cpu@") and " " not in c for c in columns)  # one word: a glob or a flag takes it
    assert all(f"ok: coverage {c} " in proc.stdout for c in columns)  # mlx:cpu=50 holds every column of mlx:cpu


def test_merge_gates_fail_on_a_regression(tmp_path, shards):
    (a, b), full = shards
    base = json.loads(full.read_text())
    bad = next(r for r in base["results"] if r["status"] != "pass")
    bad["status"] = "pass"
    (tmp_path / "base.json").write_text(json.dumps(base))
    proc = run_cli("merge", str(a), str(b), "--baseline", str(tmp_path / "base.json"))
    assert proc.returncode == 1 and f"REGRESSION: mlx:cpu {bad['case']}" in proc.stdout


def test_a_cell_in_two_files_of_one_host_is_refused(shards):
    (a, _), _ = shards
    proc = run_cli("merge", str(a), str(a))
    assert proc.returncode == 2 and "is in more than one file" in proc.stderr


def test_diff_lists_the_cells_whose_status_changed(tmp_path, shards):
    _, full = shards
    new = json.loads(full.read_text())
    new["results"][0]["status"] = "crash"
    (tmp_path / "new.json").write_text(json.dumps(new))
    proc = run_cli("diff", str(full), str(tmp_path / "new.json"))
    first = new["results"][0]
    assert proc.returncode == 0
    assert f"mlx:cpu {first['case']}: pass -> crash" in proc.stdout
    assert "1 cells changed status" in proc.stdout


def test_diff_lists_the_cells_in_only_one_file(tmp_path, shards):
    (a, b), full = shards
    proc = run_cli("diff", str(a), str(full))
    assert proc.returncode == 0, proc.stderr
    only = [f"only in new: {r['target']} {r['case']} ({r['status']})" for r in read_json(b)["results"]]
    assert len(only) > 40, "the second shard should be long enough to be cut short"
    assert proc.stdout.splitlines() == only[:40] + [
        f"... and {len(only) - 40} more only in new",
        f"0 cells changed status; 0 only in the old file, {len(only)} only in the new one"]


def test_diff_caps_a_long_list_of_cells_in_only_one_file():
    def doc(n):
        return {"results": [{"case": f"exp[{i}]", "target": "mlx:cpu", "status": "pass"} for i in range(n)]}

    lines = merge.diff(doc(50), doc(3), limit=40)
    assert lines[0] == "only in old: mlx:cpu exp[3] (pass)" and lines[39] == "only in old: mlx:cpu exp[42] (pass)"
    assert lines[40:] == ["... and 7 more only in old", "0 cells changed status; 47 only in the old file, "
                          "0 only in the new one"]


def test_diff_tells_fixes_from_regressions_per_op_and_as_json(tmp_path, shards):
    _, full = shards
    old, new = json.loads(full.read_text()), json.loads(full.read_text())
    failing = next(i for i, r in enumerate(old["results"]) if r["status"] != "pass")
    passing = [i for i, r in enumerate(old["results"]) if r["status"] == "pass"][:3]
    new["results"][failing]["status"] = "pass"  # a fix
    new["results"][passing[0]].update(status="mismatch", known="a recorded reason")  # a regression
    old["results"][passing[1]]["status"] = "skip"  # a release added it
    new["results"][passing[2]]["status"] = "skip"  # a release dropped it
    for name, doc in (("old", old), ("new", new)):
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    proc = run_cli("diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--by-op",
                   "--json", str(tmp_path / "d.json"))
    assert proc.returncode == 0, proc.stderr
    assert "4 cells changed status (1 fix, 1 regression, 1 added, 1 dropped)" in proc.stdout
    doc = read_json(tmp_path / "d.json")
    assert doc["schema"] == "mlxport.diff/1" and doc["new"]["versions"]["mlx:cpu"] == doc["old"]["versions"]["mlx:cpu"]
    kinds = {c["case"]: (c["kind"], c["old"], c["new"], c["cause"]) for c in doc["changes"]}
    fixed, broke = old["results"][failing], new["results"][passing[0]]
    assert kinds[fixed["case"]] == ("fix", fixed["status"], "pass", fixed.get("known") or fixed["message"])
    assert kinds[broke["case"]] == ("regression", "pass", "mismatch", "a recorded reason")
    assert sum(doc["ops"][fixed["op"]].values()) >= 1 and doc["kinds"] == {"fix": 1, "regression": 1, "added": 1,
                                                                            "dropped": 1}
    assert f"{broke['op']}: " in proc.stdout and " regression" in proc.stdout


def test_a_file_that_is_not_a_results_file_is_refused(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    proc = run_cli("diff", str(tmp_path / "x.json"), str(tmp_path / "x.json"))
    assert proc.returncode == 2 and "x.json: unreadable or not a results file" in proc.stderr


def test_merge_applies_expected_failures(tmp_path, shards):
    (a, b), full = shards
    bad = next(r for r in read_json(full)["results"] if r["status"] != "pass")
    xfails = tmp_path / "x.txt"
    xfails.write_text(f"mlx:cpu  {bad['case']}  # known\nmlx:gpu  *  # a target not in the run: not stale\n"
                      f"mlx:cpu  {bad['case']}  # taken by line 1: stale\n")
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(a), str(b), "--xfails", str(xfails), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {r["case"]: r["status"] for r in read_json(out)["results"]}[bad["case"]] == "xfail"
    assert "stale xfail" in proc.stdout and "line 3: mlx:cpu" in proc.stdout and "line 2" not in proc.stdout


def _from(path, out, host, device=None, target=None):
    """A results file as another runner would have written it: its host name, and for another
    device, the device's name (and the target it runs as)."""
    doc = json.loads(path.read_text())
    doc["host"]["name"] = host
    if device:
        rename = {"mlx:cpu": target or "mlx:cpu"}
        doc["targets"] = [{**t, "name": rename.get(t["name"], t["name"]), "device_name": device}
                          for t in doc["targets"] if t["name"] == "mlx:cpu"]
        doc["results"] = [{**r, "target": rename[r["target"]]} for r in doc["results"]]
    out.write_text(json.dumps(doc))
    return str(out)


@pytest.mark.parametrize("gpu_uploaded", [True, False])
def test_the_ci_recipe_end_to_end(tmp_path, shards, gpu_uploaded):
    """README's recipe as CI runs it: two Linux shards on runners with their own host names, a
    GPU runner's file (or none: its job failed), then one merge with the recipe's gates and
    reports. One column per device; the gate fails when a target it names is missing; the
    Markdown and the JUnit report agree with the exit status."""
    (a, b), full = shards
    files = [_from(a, tmp_path / "1.json", "fv-az101-1"), _from(b, tmp_path / "2.json", "fv-az202-7")]
    if gpu_uploaded:
        files.append(_from(full, tmp_path / "3.json", "gpu-runner-4", "NVIDIA H100 80GB HBM3", "mlx:gpu"))
    draft = tmp_path / "xfails.txt"
    count, placeholders = write_xfails(draft, cells_and_infos(read_json(full))[0])  # as --write-xfails drafts it
    assert count and not placeholders  # every failing cell of these ops has the catalog's reason
    base, summary, report = tmp_path / "base.json", tmp_path / "summary.md", tmp_path / "junit.xml"
    base.write_text(full.read_text())
    proc = run_cli("merge", *files, "--json", str(tmp_path / "merged.json"), "--markdown", str(summary),
                   "--junit", str(report), "--xfails", str(draft), "--baseline", str(base),
                   "--min-coverage", "50", "--min-coverage", "mlx:gpu=50")
    merged = read_json(tmp_path / "merged.json")
    assert set(merged["summary"]) == ({"mlx:cpu", "mlx:gpu"} if gpu_uploaded else {"mlx:cpu"})
    assert merged["summary"]["mlx:cpu"]["cells"] == read_json(full)["summary"]["mlx:cpu"]["cells"]
    missing = "FAIL: coverage mlx:gpu: no cell of mlx:gpu in this run"
    assert proc.returncode == (0 if gpu_uploaded else 1), proc.stdout + proc.stderr
    assert (missing in proc.stdout) is not gpu_uploaded
    assert (missing in summary.read_text()) is not gpu_uploaded
    gates = next(s for s in ET.parse(report).getroot().iter("testsuite") if s.get("name") == "gates")
    assert (gates.get("failures") != "0") == (proc.returncode == 1)
    assert "0 regressions" in proc.stdout and "stale" not in proc.stdout  # xfails name only what ran
