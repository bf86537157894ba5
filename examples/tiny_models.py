"""Three mlx-lm model definitions, built tiny from a config with random weights (no hub, no
download), and a greedy generation with mlx-lm's KV cache: a prefill, then a few decode steps.

``python examples/tiny_llama.py`` (and tiny_moe.py, tiny_gemma3.py) prints the tokens;
``mlxport trace examples/tiny_llama.py`` checks every MLX call they make.
"""

from __future__ import annotations

import argparse

import mlx.core as mx
import mlx.nn as nn

# model_type -> (mlx_lm.models module, config, dtype, quantized bits or None)
_ATTENTION = {"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
              "vocab_size": 256, "max_position_embeddings": 512, "tie_word_embeddings": False}
MODELS = {
    "llama": ("llama", {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
                        "intermediate_size": 128, "rope_theta": 10000.0, **_ATTENTION}, "bfloat16", None),
    "moe": ("qwen3_moe", {"model_type": "qwen3_moe", "hidden_size": 64, "num_hidden_layers": 2,
                          "intermediate_size": 128, "num_experts": 8, "num_experts_per_tok": 2,
                          "decoder_sparse_step": 1, "mlp_only_layers": [], "moe_intermediate_size": 64,
                          "rope_theta": 1000000.0, "norm_topk_prob": True, **_ATTENTION}, "bfloat16", 4),
    "gemma3": ("gemma3_text", {"model_type": "gemma3_text", "hidden_size": 64, "num_hidden_layers": 2,
                               "intermediate_size": 128, "query_pre_attn_scalar": 16, "sliding_window": 8,
                               "sliding_window_pattern": 2, **_ATTENTION}, "float16", None),
}
# A larger Llama, for the recording's cost where compute dominates (benchmarks/trace_overhead.py).
LARGE = {"hidden_size": 1024, "num_hidden_layers": 4, "intermediate_size": 2816, "num_attention_heads": 16,
         "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 8192}


def build(name: str, seed: int = 0, **overrides) -> nn.Module:
    """The model ``name`` (a key of MODELS) with random weights drawn from ``seed``."""
    import importlib

    module, config, dtype, bits = MODELS[name]
    models = importlib.import_module(f"mlx_lm.models.{module}")
    mx.random.seed(seed)
    model = models.Model(models.ModelArgs.from_dict({**config, **overrides}))
    model.set_dtype(getattr(mx, dtype))
    if bits:
        nn.quantize(model, group_size=64, bits=bits)
    mx.eval(model.parameters())
    return model


def generate(model: nn.Module, prompt: list[int], steps: int) -> tuple[list[int], mx.array]:
    """Greedy tokens after ``prompt``: a prefill and ``steps - 1`` decode steps with mlx-lm's
    KV cache; also the last logits."""
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    tokens, x = [], mx.array(prompt)[None]
    for _ in range(steps):
        logits = model(x, cache=cache)[:, -1, :]
        x = mx.argmax(logits, axis=-1, keepdims=True)
        tokens.append(x.item())
    return tokens, logits


def main(name: str, argv: list[str] | None = None) -> list[int]:
    """Build ``name``, generate, and print the tokens."""
    parser = argparse.ArgumentParser(description=f"A tiny {name} from mlx-lm with random weights: greedy tokens.")
    parser.add_argument("--prompt-len", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--large", action="store_true", help="a larger Llama-shaped config")
    args = parser.parse_args(argv)
    model = build(name, **(LARGE if args.large else {}))
    tokens, _ = generate(model, [(7 * i + 3) % 256 for i in range(args.prompt_len)], args.steps)
    print(" ".join(map(str, tokens)))
    return tokens
