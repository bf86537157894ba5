"""Exports of a results document: JUnit XML, Markdown, SVG and HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mlxport.exports import cells_and_infos, html, junit, markdown, svg
from mlxport.model import Status


def _row(case, target, status, message=None, known=None, seconds=0.25):
    return {"case": case, "op": case.split("[")[0], "dtype": case[case.index("[") + 1:].split(",")[0],
            "target": target, "status": status, "max_abs_err": None, "max_rel_err": None,
            "max_ulp": None, "message": message, "known": known, "seconds": seconds, "later_field": 1}


# mlx:cpu is listed in "targets"; torch:cpu only appears in the results.
DOC = {
    "schema": "mlxport.results/1",
    "targets": [{"name": "mlx:cpu", "framework": "mlx", "framework_version": "0.32.4", "device": "cpu",
                 "device_name": "Test CPU", "available": True, "reason": None, "later_field": 1}],
    "results": [
        _row("exp[float32,(4,)]", "mlx:cpu", "pass"),
        _row("exp[float16,(4,)]", "mlx:cpu", "mismatch", "exp[float16,(4,)]: max abs err 0.5 at [2]"),
        _row("sin[float32,(4,)]", "mlx:cpu", "unsupported", "sin has no CPU implementation"),
        _row("sin[float16,(4,)]", "mlx:cpu", "skip", "float16 is not on this device"),
        _row("exp[float32,(4,)]", "torch:cpu", "pass"),
        _row("exp[float16,(4,)]", "torch:cpu", "xfail", "max abs err 0.1", known="float16 rounding"),
        _row("sin[float32,(4,)]", "torch:cpu", "crash", "worker died (SIGSEGV)"),
        _row("sin[float16,(4,)]", "torch:cpu", "pass"),
    ],
}


def test_cells_and_infos_rebuild_values_and_fill_missing_targets():
    cells, infos = cells_and_infos(DOC)
    assert len(cells) == 8 and cells[1].status is Status.MISMATCH and cells[5].known == "float16 rounding"
    assert [(i.name, i.framework, i.device, i.available) for i in infos] == \
        [("mlx:cpu", "mlx", "cpu", True), ("torch:cpu", "torch", "cpu", True)]
    assert infos[0].device_name == "Test CPU"


def test_junit_counts_each_suite_and_carries_a_reproduction():
    root = ET.fromstring(junit(DOC))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    counts = {n: tuple(s.get(k) for k in ("tests", "failures", "errors", "skipped")) for n, s in suites.items()}
    assert counts == {"mlx:cpu": ("4", "1", "1", "1"), "torch:cpu": ("4", "0", "1", "1")}
    mismatch = root.find(".//testcase[@name='exp[float16,(4,)]'][@classname='mlx:cpu']/failure")
    assert "max abs err 0.5" in mismatch.get("message")
    assert "mlxport check --target mlx:cpu --ops 'exp[float16,(4,)]'" in mismatch.text
    crash = root.find(".//testcase[@classname='torch:cpu'][@name='sin[float32,(4,)]']/error")
    assert crash.get("type") == "crash" and "worker died" in crash.text
    xfail = root.find(".//testcase[@classname='torch:cpu'][@name='exp[float16,(4,)]']/skipped")
    assert xfail.get("message") == "float16 rounding"
    assert root.find(".//testcase[@classname='mlx:cpu'][@name='exp[float32,(4,)]']").get("time") == "0.250"


def test_markdown_has_coverage_gates_matrix_and_details():
    text = markdown(DOC, ["regression: mlx:cpu exp[float16,(4,)] pass -> mismatch"])
    lines = text.splitlines()
    assert "| mlx:cpu | 4 | 1 | 1 | 1 | 0 | 1 | 0 | 0 | 33.3% |" in lines
    assert "| torch:cpu | 4 | 2 | 0 | 0 | 1 | 0 | 1 | 0 | 50.0% |" in lines
    assert "- regression: mlx:cpu exp[float16,(4,)] pass -> mismatch" in lines
    assert "| exp | ✓1 ✗1 | ✓1 x1 |" in lines
    assert "| sin | ○1 –1 | ✓1 ☠1 |" in lines
    assert ("- ✗ `exp[float16,(4,)]` mlx:cpu **mismatch**: exp[float16,(4,)]: max abs err 0.5 at [2]"
            " <br>`mlxport check --target mlx:cpu --ops 'exp[float16,(4,)]'`") in lines
    details = lines[lines.index("<details>"):lines.index("</details>")]
    assert not any("float16 rounding" in line for line in details)  # known reasons are not failures
    reasons = lines[lines.index("</details>") + 1:]  # folded apart, per op, target and reason
    assert "<summary>1 cells with a known reason (1 reasons)</summary>" in reasons
    assert "- x xfail torch:cpu `exp` ×1, known divergence: float16 rounding" in reasons


XPASS = {"targets": [], "results": [
    {**_row("exp[float32,(4,)]", "mlx:cpu", "xpass"), "xfail": "was broken in 0.30"},
    {**_row("exp[float16,(4,)]", "mlx:cpu", "mismatch", "max abs err 1"), "known": "float16 exp is float32 inside"},
    {**_row("exp[bfloat16,(4,)]", "mlx:cpu", "mismatch", "max abs err 1"), "known": "float16 exp is float32 inside"},
]}


def test_an_xpass_fails_in_junit_exactly_when_the_gate_does():
    from mlxport.gates import Verdict

    lenient = ET.fromstring(junit(XPASS))
    case = lenient.find(".//testcase[@name='exp[float32,(4,)]']")
    assert case.find("failure") is None and lenient.find("testsuite").get("failures") == "2"
    assert case.find("properties/property").get("value") == "passed; expected to fail: was broken in 0.30"
    strict = ET.fromstring(junit(XPASS, strict_xfail=True))
    assert strict.find(".//testcase[@name='exp[float32,(4,)]']/failure").get("type") == "xpass"
    gated = ET.fromstring(junit(XPASS, verdict=Verdict(("ok: coverage", "FAIL: coverage mlx:gpu: no cell"),
                                                        ("FAIL: coverage mlx:gpu: no cell",))))
    gates = next(s for s in gated.iter("testsuite") if s.get("name") == "gates")
    assert gates.get("failures") == "1" and len(gates.findall("testcase/failure")) == 1


def test_markdown_folds_the_known_reasons_per_op_and_reason():
    lines = markdown(XPASS).splitlines()
    assert "- ✗ mismatch mlx:cpu `exp` ×2, known divergence: float16 exp is float32 inside" in lines
    assert "- ✓! xpass mlx:cpu `exp` ×1, expected to fail: was broken in 0.30" in lines
    assert "| mlx:cpu | 3 | 0 | 2 | 0 | 0 | 0 | 0 | 1 | 33.3% |" in lines  # an xpass is a pass


def test_markdown_caps_the_details_list():
    rows = [_row(f"exp[float32,({n},)]", "mlx:cpu", "error", "boom") for n in range(60)]
    lines = markdown({"targets": [], "results": rows}).splitlines()
    assert sum(line.startswith("- ! `exp") for line in lines) == 50
    assert "- ... and 10 more; the results file has every cell" in lines


def test_svg_and_html_render_the_matrix():
    image = svg(DOC)
    assert image.startswith("<svg") and "sin" in image and "exp" in image
    page = html(DOC)
    assert "<html" in page or "<pre" in page
    assert "exp" in page and "33.3%" in page
