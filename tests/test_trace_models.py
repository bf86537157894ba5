"""mlxport trace on real MLX code that nobody here wrote: mlx-lm's Llama, Qwen3-MoE and Gemma-3,
built tiny with random weights (examples/tiny_models.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
pytest.importorskip("mlx_lm", reason="mlx-lm is in the test and examples extras")

from mlxport import references  # noqa: E402
from mlxport.trace.record import record  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPT = [(7 * i + 3) % 256 for i in range(12)]


@pytest.fixture(scope="module")
def tiny_models():
    """examples/tiny_models.py, imported as the example scripts import it."""
    spec = importlib.util.spec_from_file_location("tiny_models", EXAMPLES / "tiny_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.setdefault("tiny_models", module)
    return module


@pytest.fixture(scope="module")
def traces(tiny_models):
    """The trace of each example script, recorded once."""
    return {name: record([str(EXAMPLES / f"tiny_{name}.py"), "--steps", "3"]) for name in tiny_models.MODELS}


def test_the_llama_gives_the_same_tokens_and_logits_with_and_without_the_trace(tiny_models, tmp_path):
    program = tmp_path / "generate.py"
    program.write_text(textwrap.dedent(f"""
        import sys
        import mlx.core as mx
        import numpy as np
        from tiny_models import build, generate
        tokens, logits = generate(build("llama"), {PROMPT}, 4)
        np.save(sys.argv[1], np.array(logits.astype(mx.float32)))
        print(tokens)
    """))
    tokens, logits = tiny_models.generate(tiny_models.build("llama"), PROMPT, 4)
    sys.path.insert(0, str(EXAMPLES))
    try:
        trace = record([str(program), str(tmp_path / "traced.npy")])
    finally:
        sys.path.remove(str(EXAMPLES))
    assert trace.exit is None and len(trace.signatures) > 20
    np.testing.assert_array_equal(np.load(tmp_path / "traced.npy"), np.array(logits.astype(mx.float32)))


def test_the_example_prints_the_same_tokens_when_traced(tiny_models, capsys):
    tiny_models.main("moe", ["--steps", "3"])
    direct = capsys.readouterr().out
    record([str(EXAMPLES / "tiny_moe.py"), "--steps", "3"])
    assert capsys.readouterr().out == direct and len(direct.split()) == 3


@pytest.mark.parametrize("name", ["llama", "moe", "gemma3"])
def test_every_call_of_the_models_has_a_reference(traces, name):
    trace = traces[name]
    assert trace.exit is None
    assert [s.id for s in trace.signatures if references.lookup(s.op) is None] == []
    assert sum(s.calls for s in trace.signatures) > len(trace.signatures)
    ops = {s.op for s in trace.signatures}
    assert {"fast.rope", "fast.scaled_dot_product_attention", "fast.rms_norm", "setitem", "getitem"} <= ops
    if name == "moe":
        assert {"quantized_matmul", "gather_qmm", "argpartition"} <= ops


# --- fault injection: the recording, then the check, in this process ------------------------

FAULTS = {
    # op -> the faulty replacement, installed before the recording, so the program's own
    # outputs of exactly that op are wrong
    "fast.rope": lambda f: lambda a, dims, **k: f(a, dims, **{**k, "offset": k["offset"] + 1}),
    "fast.rms_norm": lambda f: lambda x, w, eps: f(x, w, eps) * 1.05,  # bfloat16 rtol: 1.6e-2
    "softmax": lambda f: lambda a, axis=-1, **k: f(a, axis=0, **k),
}


@pytest.mark.parametrize("op", sorted(FAULTS))
def test_a_fault_injected_into_one_op_is_flagged_on_that_op_only(tiny_models, op, tmp_path):
    from mlxport.check import RunOptions, Selection
    from mlxport.model import Origin
    from mlxport.trace.run import check_trace

    model = "moe" if op == "softmax" else "llama"
    space, _, name = op.rpartition(".")
    owner = getattr(mx, space) if space else mx
    original = getattr(owner, name)
    setattr(owner, name, FAULTS[op](original))
    try:
        trace = record([str(EXAMPLES / f"tiny_{model}.py"), "--steps", "2"])
    finally:
        setattr(owner, name, original)
    assert trace.exit is None
    out = tmp_path / "results.json"
    check_trace(trace, Origin("trace", program=tuple(trace.program)), Selection(("mlx:cpu",)), RunOptions(results=out))
    results = json.loads(out.read_text())["results"]
    flagged = {r["op"] for r in results if r["recorded"] not in (None, "pass", "skip")}
    assert flagged == {op}
