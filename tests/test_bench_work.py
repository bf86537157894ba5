"""Bench case data: the bytes and flops a case declares, the formula evaluator, and the bench
catalog (cases/bench), which must load with the check catalog and carry its work."""

from __future__ import annotations

import numpy as np
import pytest

from mlxport.bench.work import Work, bind, cost, evaluate
from mlxport.catalog import load_file, load_files
from mlxport.check import builtin_cases, case_files
from mlxport.inputs import generate
from mlxport.model import InputError
from mlxport.runner import golden

MATMUL = """
category: matmul
ops:
  - op: matmul
    dtypes: [float32, float16]
    shapes: ["(8,16) (16,4)"]
    dims: "(M,K) (K,N)"
    flops: "2*M*N*K"
    variants:
      - {}
      - {name: batched, shapes: ["(3,8,16) (3,16,4)"], dims: "(B,M,K) (B,K,N)", flops: "2*B*M*N*K"}
"""


@pytest.mark.parametrize("formula, value", [
    ("2*M*N*K", 2 * 3 * 5 * 7), ("M + N - K", 1), ("(M+1)**2", 16), ("K // 2", 3), ("K / 2", 3.5),
    ("5*N*log2(8)", 75), ("max(M, N) * min(M, K)", 15), ("-M + 10", 7), ("2.5*M", 7.5),
])
def test_formulas_are_arithmetic_over_names(formula, value):
    assert evaluate(formula, {"M": 3, "N": 5, "K": 7}) == pytest.approx(value)


@pytest.mark.parametrize("formula, words", [
    ("__import__('os')", "not allowed"), ("M.real", "not allowed"), ("[M]", "not allowed"),
    ("M if M else N", "not allowed"), ("Q*2", "unknown name 'Q'"), ("M/(N-N)", "divides by zero"),
    ("2**M**K", "exponent"), ("((10**30)**2)", "exceeds"), ("M -", "cannot read"), ("N - 2*M*K", "not a finite count"),
    ("log2(0)", "log2"), ("abs(M)", "not allowed"), ("x" * 300, "at most"),
])
def test_anything_else_is_refused_with_the_formula_named(formula, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        evaluate(formula, {"M": 3, "N": 5, "K": 7})


def test_dims_bind_names_and_check_that_they_agree():
    assert bind("(M,K) (K,N)", [(4, 6), (6, 5)]) == {"M": 4, "K": 6, "N": 5}
    assert bind("(_,K) (K,_)", [(4, 6), (6, 5)]) == {"K": 6}
    for pattern, shapes, words in [("(M,K) (K,N)", [(4, 6), (7, 5)], "K is 6"),
                                   ("(M,K)", [(4, 6), (6, 5)], "names 1 inputs"),
                                   ("(M,K,X) (K,N)", [(4, 6), (6, 5)], "does not name"),
                                   ("M,K", [(4, 6)], "not a pattern"), ("(M,K) junk", [(4, 6)], "not a pattern")]:
        with pytest.raises(ValueError, match=words) as info:
            bind(pattern, shapes)
        assert info.value.args[0] == "dims"


def test_cases_carry_their_declared_work(case_dir):
    cases = {c.id: c for c in load_file(case_dir("m.yaml", MATMUL) / "m.yaml")}
    plain = cases["matmul[float16,(8,16)x(16,4)]"]
    assert dict(plain.work.names) == {"M": 8, "K": 16, "N": 4, "itemsize": 2}
    inputs = [i.value for i in generate(plain)]
    assert cost(plain, inputs, golden(plain, generate(plain))) == ((8 * 16 + 16 * 4 + 8 * 4) * 2, 2 * 8 * 4 * 16)
    batched = cases["matmul[float32,(3,8,16)x(3,16,4),batched]"]
    size, flops = cost(batched, [i.value for i in generate(batched)], golden(batched, generate(batched)))
    assert (size, flops) == ((3 * 8 * 16 + 3 * 16 * 4 + 3 * 8 * 4) * 4, 2 * 3 * 8 * 4 * 16)


def test_io_counts_inputs_as_passed_and_outputs_in_their_declared_dtype():
    case = next(c for c in load_files(bench_files()) if c.op == "quantized_matmul")
    inputs = [i.value for i in generate(case)]
    assert {a.dtype for a in inputs} == {np.dtype("float32"), np.dtype("uint32")}
    words = inputs[1]
    assert words.size * 8 == 4096 * 4096  # 4-bit codes: the packed matrix, not a float one
    size, flops = cost(case, inputs, [np.zeros((1, 4096))])  # golden float64, output float32
    assert size == sum(a.nbytes for a in inputs) + 4096 * 4
    assert flops == 2 * 1 * 4096 * 4096


def test_a_bytes_formula_replaces_io():
    case = next(c for c in load_files(bench_files()) if c.op == "add")
    custom = type(case)(**{**case.__dict__, "work": Work(bytes="3*M*N*itemsize", names=case.work.names)})
    inputs = [i.value for i in generate(case)]
    m, n = inputs[0].shape
    assert cost(custom, inputs, [np.zeros((m, n))])[0] == 3 * m * n * inputs[0].itemsize


BAD = [
    ("flops: '2*M*Q'", "unknown name 'M'", 6),  # no dims declared: no M
    ("flops: 12345", "not a number", 6),
    ("dims: '(M,K) (J,N)'\n    flops: '2*M*N*K'", None, None),  # fine: J and K are separate names
    ("dims: '(M,K) (M,N)'", "M is 8", 6),
    ("dims: '(M,K)'", "names 1 inputs", 6),
    ("bytes: 'io +'", "cannot read", 6),
]


@pytest.mark.parametrize("field, words, line", BAD)
def test_a_bad_declaration_names_file_line_and_field(case_dir, field, words, line):
    text = f"""category: matmul
ops:
  - op: matmul
    dtypes: [float32]
    shapes: ["(8,16) (16,4)"]
    {field}
"""
    path = case_dir("w.yaml", text) / "w.yaml"
    if words is None:
        assert load_file(path)
        return
    with pytest.raises(InputError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}:{line}: matmul: field '{field.split(':')[0]}':")
    assert words in str(info.value)


def bench_files():
    return sorted((builtin_cases() / "bench").glob("*.yaml"))


def test_the_bench_catalog_is_valid_with_the_check_catalog_and_covers_30_ops():
    cases = load_files(case_files((builtin_cases() / "bench",)))  # ids unique across both
    bench = load_files(bench_files())
    assert {c.id for c in bench} <= {c.id for c in cases}
    assert len({c.op for c in bench}) >= 30
    assert len({c.category for c in bench}) >= 10
    declared = [c for c in bench if c.work.flops]
    assert {"matmul", "conv2d", "fast.scaled_dot_product_attention", "quantized_matmul", "fft.fft"} <= {c.op for c in declared}
