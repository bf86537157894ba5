"""Case files: expansion into cases with stable ids, and one-line errors for bad files."""

from __future__ import annotations

import json
import re

import pytest

from mlxport import listing
from mlxport.catalog import load_file, load_files
from mlxport.check import builtin_cases, case_files
from mlxport.model import InputError

GOOD = """
category: unary
ops:
  - op: exp
    dtypes: [float16, float32]
    shapes: ["(4,5)", "()"]
    values: [normal, special]
    out: inexact
    variants:
      - {}
      - {name: wide, shapes: ["(2,3) (3,)"], inputs: [{}, {dtype: int32, domain: [0, 2]}], out: promote}
"""


def test_entries_expand_into_cases_with_readable_ids(case_dir):
    cases = load_file(case_dir("a.yaml", GOOD) / "a.yaml")
    ids = [c.id for c in cases]
    assert len(ids) == 2 * 2 * 2 + 2 * 2
    assert "exp[float16,(4,5),special]" in ids and "exp[float32,()]" in ids
    assert "exp[float32,(2,3)x(3,),wide]" in ids
    wide = next(c for c in cases if c.id == "exp[float16,(2,3)x(3,),wide]")
    assert wide.inputs[1].dtype == "int32" and wide.inputs[1].domain == (0, 2)
    assert wide.out == ("float16",)  # int32 promoted with float16 is float16 in MLX


STRESSED = """
category: unary
ops:
  - op: exp
    dtypes: [float32]
    shapes: ["(4,)"]
    variants:
      - {}
      - {stress: argument, name: near-zero, inputs: [{domain: [-1, 1]}]}
  - op: log
    dtypes: [float32]
    shapes: ["(4,)"]
stress:
  - {class: nonfinite, ops: [exp, log], values: [special], dtypes: [float16]}
"""


def test_a_stress_class_is_declared_per_variant_or_once_for_a_family_of_ops(case_dir, capsys):
    cases = {c.id: c for c in load_file(case_dir("a.yaml", STRESSED) / "a.yaml")}
    assert {i: c.stress for i, c in cases.items()} == {
        "exp[float32,(4,)]": None, "exp[float32,(4,),near-zero]": "argument",
        "exp[float16,(4,),special,nonfinite]": "nonfinite", "log[float32,(4,)]": None,
        "log[float16,(4,),special,nonfinite]": "nonfinite"}
    assert cases["exp[float32,(4,),near-zero]"].inputs[0].domain == (-1, 1)
    listing.catalog(None, list(cases.values()), as_json=True)  # mlxport list --json
    rows = {r["op"]: r["stress"] for r in json.loads(capsys.readouterr().out)}
    assert rows == {"exp": {"argument": 1, "nonfinite": 1}, "log": {"nonfinite": 1}}


def test_every_builtin_case_file_is_valid():
    cases = load_files(case_files(()))
    assert len({c.id for c in cases}) == len(cases) > 0


def test_the_builtin_catalog_ships_beside_the_package():
    assert (builtin_cases() / "README.md").is_file()


BAD = {
    "syntax": ("ops: [\n  - op: exp\n    dtypes: [float32\n", r"a\.yaml:\d+: invalid YAML"),
    "empty": ("", r"a\.yaml: \?: a case file is a mapping with a list 'ops'"),
    # YAML keeps the last of two equal keys: a second 'divergence:' would drop the first's rules
    "duplicate key": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                      "    dtypes: [int32]\n", r"a\.yaml:6: invalid YAML: duplicate key 'dtypes'"),
    "unknown field": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                      "    colour: red\n", r"a\.yaml:6: exp: field 'colour': unknown field"),
    "unknown dtype": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float23]\n    shapes: ['(2,)']\n",
                      r"a\.yaml:4: exp: field 'dtypes': unknown dtype 'float23'"),
    "dtype not a word": ("ops:\n  - op: exp\n    category: u\n    dtypes: [{float32: 1}]\n    shapes: ['(2,)']\n",
                         r"a\.yaml:4: exp: field 'dtypes': unknown dtype \{'float32': 1\}"),
    "wrong type": ("ops:\n  - op: exp\n    category: u\n    dtypes: float32\n    shapes: ['(2,)']\n",
                   r"a\.yaml:4: exp: field 'dtypes': a non-empty list"),
    "bad shape": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,-1)']\n",
                  r"a\.yaml:5: exp: field 'shapes': cannot read shape"),
    "absurd shape": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(1000000,1000000)']\n",
                     r"a\.yaml:5: exp: field 'shapes': shape \(1000000, 1000000\) has more than"),
    "no reason": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                  "    skip:\n      - {target: 'mlx:gpu', reason: ''}\n",
                  r"a\.yaml:7: exp: field 'reason': every skip and divergence needs a reason"),
    "python tag": ("ops:\n  - op: !!python/object/apply:os.system ['true']\n",
                   r"a\.yaml:2: invalid YAML: could not determine a constructor"),
    "no category": ("ops:\n  - op: exp\n    dtypes: [float32]\n    shapes: ['(2,)']\n",
                    r"a\.yaml:2: exp: field 'category': needs a category"),
    "bad domain": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                   "    inputs: [{domain: [3, 1]}]\n", r"a\.yaml:6: exp: field 'domain': a pair"),
    "bad value class": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                        "    values: [huge]\n", r"a\.yaml:6: exp: field 'values': a list drawn from"),
    # an error names the line of the bad field, in the entry or in a variant, not the variant's
    "entry field under variants": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float23]\n    shapes: ['(2,)']\n"
                                   "    variants:\n      - name: a\n      - name: b\n",
                                   r"a\.yaml:4: exp: field 'dtypes': unknown dtype 'float23'"),
    "variant field": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                      "    variants:\n      - name: a\n        shapes: ['(3,)']\n        out: float99\n",
                      r"a\.yaml:9: exp: field 'out': 'float99' is not a dtype"),
    "stress class": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                     "stress:\n  - {class: huge, ops: [exp]}\n",
                     r"a\.yaml:7: stress: field 'class': 'huge' is not one of scale, cancellation"),
    "stress of another file's op": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                                    "stress:\n  - class: scale\n    ops: [exp, log]\n",
                                    r"a\.yaml:8: stress: field 'ops': 'log' is not an op of this file"),
    "variant stress": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                       "    variants:\n      - {stress: big}\n", r"a\.yaml:7: exp: field 'stress': 'big' is not one of"),
    "variant tolerance": ("ops:\n  - op: exp\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
                          "    variants:\n      - name: a\n\n        tolerance: {rtol: -1}\n",
                          r"a\.yaml:9: exp: field 'tolerance': \{rtol: x, atol: y\}"),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_gets_one_line_naming_file_line_and_field(case_dir, name):
    text, pattern = BAD[name]
    with pytest.raises(InputError) as info:
        load_file(case_dir("a.yaml", text) / "a.yaml")
    assert re.search(pattern, str(info.value)), str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_bytes(b"ops: [\xff\xfe]\n")
    with pytest.raises(InputError, match=r"a\.yaml: cannot read"):
        load_file(tmp_path / "a.yaml")


def test_duplicate_ids_across_files_are_refused(case_dir):
    folder = case_dir("a.yaml", GOOD)
    case_dir("b.yaml", GOOD)
    with pytest.raises(InputError, match=r"b\.yaml:\d+: duplicate case id exp\[float16,\(4,5\)\]"):
        load_files([folder / "a.yaml", folder / "b.yaml"])


def test_unknown_op_without_a_reference_is_refused(case_dir):
    text = "ops:\n  - op: frobnicate\n    category: u\n    dtypes: [float32]\n    shapes: ['(2,)']\n"
    with pytest.raises(InputError, match=r"a\.yaml:2: frobnicate: field 'op': no reference"):
        load_file(case_dir("a.yaml", text) / "a.yaml")


def test_the_goldens_of_cases_skipped_on_the_cpu_compute():
    """A case that mlx:cpu skips never has its golden compared here, but a GPU compares it: the
    reference must take every param such a case passes (SDPA's force_fused, for one)."""
    from mlxport.inputs import generate
    from mlxport.runner import golden

    skipped = [c for c in load_files(case_files([])) if c.skips]
    assert skipped, "no case with a skip rule: this test checks nothing"
    failed = {c.id: golden(c, generate(c)) for c in skipped}
    assert not {k: v for k, v in failed.items() if isinstance(v, Exception)}
