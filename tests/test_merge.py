"""merge: shards and hosts into one matrix, with the gates; diff: status changes."""

from __future__ import annotations

import json

import pytest

from conftest import read_json, run_cli
from mlxport import merge

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


def test_the_same_target_on_two_hosts_gets_a_column_each(tmp_path, shards):
    _, full = shards
    one, two = _as_host(full, "ci-linux", tmp_path / "1.json"), _as_host(full, "ci-mac", tmp_path / "2.json")
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(one), str(two), "--json", str(out), "--min-coverage", "50")
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out)
    assert set(doc["summary"]) == {"mlx:cpu@ci-linux", "mlx:cpu@ci-mac"}
    assert {t["name"] for t in doc["targets"]} == {"mlx:cpu@ci-linux", "mlx:cpu@ci-mac"}
    assert "mlx:cpu@ci-linux" in proc.stdout and "ok: coverage mlx:cpu@ci-mac" in proc.stdout


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


def test_a_file_that_is_not_a_results_file_is_refused(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    proc = run_cli("diff", str(tmp_path / "x.json"), str(tmp_path / "x.json"))
    assert proc.returncode == 2 and "x.json: unreadable or not a results file" in proc.stderr


def test_merge_applies_expected_failures(tmp_path, shards):
    (a, b), full = shards
    bad = next(r for r in read_json(full)["results"] if r["status"] != "pass")
    xfails = tmp_path / "x.txt"
    xfails.write_text(f"mlx:cpu  {bad['case']}  # known\nmlx:gpu  *  # stale here\n")
    out = tmp_path / "m.json"
    proc = run_cli("merge", str(a), str(b), "--xfails", str(xfails), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {r["case"]: r["status"] for r in read_json(out)["results"]}[bad["case"]] == "xfail"
    assert "stale xfail (matches no cell): line 2" in proc.stdout
