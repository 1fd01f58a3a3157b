"""A GPT-2-style decoder in plain `jax.numpy`, and its export to `shardplan.graph/1`.

    python -m examples.gpt2 export --config tiny -o tiny-gpt.json      (run from Examples/jax)

Token + learned position embeddings, pre-LayerNorm blocks (multi-head causal attention written with
einsums and softmax, GELU MLP with the tanh approximation), a final LayerNorm, tied (GPT-2) or untied
logits, and the mean cross-entropy of next-token labels.

The attention weights are laid out so that tensor parallelism splits whole heads: the fused QKV weight
is `[d_model, 3, heads, head_dim]` (not `[d_model, 3 * d_model]`, whose column split followed by a
q/k/v split makes XLA move columns between devices with collective-permutes), and the output projection
is `[heads, head_dim, d_model]`. Key tensors are named with `checkpoint_name` so that plans can refer to
them: `h0.attn.qkv`, `h0.attn.scores`, `h0.attn.probs`, `h0.attn.context`, `h0.attn.out`, `h0.mlp.up`,
`h0.mlp.act`, `h0.mlp.down`, `h0.residual1`, `h0.residual2`, `embed.out`, `head.ln_f`, `head.logits`,
`loss`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.ad_checkpoint import checkpoint_name

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shardplan_jax import nn  # noqa: E402
from shardplan_jax.export import export_graph  # noqa: E402
from shardplan_jax.graph_io import write_graph  # noqa: E402


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """Model and batch sizes."""

    layers: int
    d_model: int
    heads: int
    vocab: int
    seq: int
    batch: int
    mlp_ratio: int = 4
    tied: bool = True
    dropout: float = 0.0
    fused_attention: bool = False
    dtype: str = "float32"

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads


CONFIGS: dict[str, GPTConfig] = {
    "tiny": GPTConfig(layers=2, d_model=64, heads=4, vocab=256, seq=32, batch=8),
    "tiny-untied": GPTConfig(layers=2, d_model=64, heads=4, vocab=256, seq=32, batch=8, tied=False),
    "small": GPTConfig(layers=4, d_model=256, heads=8, vocab=1024, seq=128, batch=16),
    "gpt2-124m": GPTConfig(layers=12, d_model=768, heads=12, vocab=50257, seq=1024, batch=8, dropout=0.1),
}


def param_shapes(cfg: GPTConfig) -> dict[str, Any]:
    """The parameter pytree as `jax.ShapeDtypeStruct`s."""
    if cfg.d_model % cfg.heads:
        raise ValueError(f"d_model {cfg.d_model} is not a multiple of heads {cfg.heads}")
    dt = jnp.dtype(cfg.dtype)
    d, h, k, f = cfg.d_model, cfg.heads, cfg.head_dim, cfg.mlp_ratio * cfg.d_model

    def s(*shape: int) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct(shape, dt)

    params: dict[str, Any] = {"wte": s(cfg.vocab, d), "wpe": s(cfg.seq, d)}
    for i in range(cfg.layers):
        params[f"h{i}"] = {
            "ln1": {"g": s(d), "b": s(d)},
            "attn": {"wqkv": s(d, 3, h, k), "bqkv": s(3, h, k), "wo": s(h, k, d), "bo": s(d)},
            "ln2": {"g": s(d), "b": s(d)},
            "mlp": {"w1": s(d, f), "b1": s(f), "w2": s(f, d), "b2": s(d)},
        }
    params["ln_f"] = {"g": s(d), "b": s(d)}
    if not cfg.tied:
        params["w_out"] = s(d, cfg.vocab)
    return params


def input_shapes(cfg: GPTConfig) -> dict[str, jax.ShapeDtypeStruct]:
    """Token ids and next-token labels, both [batch, seq] int32."""
    return {"ids": jax.ShapeDtypeStruct((cfg.batch, cfg.seq), jnp.int32),
            "labels": jax.ShapeDtypeStruct((cfg.batch, cfg.seq), jnp.int32)}


def init_params(cfg: GPTConfig, seed: int = 0) -> dict[str, Any]:
    """GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 layers), LN (1, 0)."""
    shapes = param_shapes(cfg)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(shapes)
    rng = np.random.default_rng(seed)
    out = []
    for path, leaf in leaves:
        last = str(path[-1].key)
        if last == "g":
            value = np.ones(leaf.shape)
        elif last.startswith("b"):
            value = np.zeros(leaf.shape)
        else:
            std = 0.02 / math.sqrt(2 * cfg.layers) if last in ("wo", "w2") else 0.02
            value = rng.normal(0.0, std, leaf.shape)
        out.append(jnp.asarray(value, dtype=leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def _block(cfg: GPTConfig, p: dict[str, Any], x: jax.Array) -> jax.Array:
    with jax.named_scope("attn"):
        a = nn.layer_norm(x, p["ln1"]["g"], p["ln1"]["b"])
        qkv = jnp.einsum("bsd,dthk->bsthk", a, p["attn"]["wqkv"]) + p["attn"]["bqkv"]
        qkv = checkpoint_name(qkv, "qkv")
        q = lax.index_in_dim(qkv, 0, axis=2, keepdims=False)
        k = lax.index_in_dim(qkv, 1, axis=2, keepdims=False)
        v = lax.index_in_dim(qkv, 2, axis=2, keepdims=False)
        if cfg.fused_attention:
            o = checkpoint_name(nn.attention(q, k, v, causal=True), "context")
        else:
            scores = jnp.einsum("bqhk,bshk->bhqs", q, k) * (1.0 / math.sqrt(cfg.head_dim))
            scores = checkpoint_name(scores, "scores")
            row = lax.broadcasted_iota(jnp.int32, (cfg.seq, cfg.seq), 0)
            col = lax.broadcasted_iota(jnp.int32, (cfg.seq, cfg.seq), 1)
            scores = jnp.where(row >= col, scores, jnp.asarray(-1e9, scores.dtype))
            probs = checkpoint_name(nn.softmax(scores, axis=-1), "probs")
            o = checkpoint_name(jnp.einsum("bhqs,bshk->bqhk", probs, v), "context")
        out = checkpoint_name(jnp.einsum("bqhk,hkd->bqd", o, p["attn"]["wo"]), "out") + p["attn"]["bo"]
        out = nn.dropout(out, cfg.dropout)
    x = checkpoint_name(x + out, "residual1")
    with jax.named_scope("mlp"):
        a = nn.layer_norm(x, p["ln2"]["g"], p["ln2"]["b"])
        up = checkpoint_name(jnp.einsum("bsd,df->bsf", a, p["mlp"]["w1"]) + p["mlp"]["b1"], "up")
        act = checkpoint_name(nn.gelu(up), "act")
        down = checkpoint_name(jnp.einsum("bsf,fd->bsd", act, p["mlp"]["w2"]), "down") + p["mlp"]["b2"]
        down = nn.dropout(down, cfg.dropout)
    return checkpoint_name(x + down, "residual2")


def loss_fn(cfg: GPTConfig, params: dict[str, Any], batch: dict[str, jax.Array]) -> jax.Array:
    """Mean next-token cross-entropy of one batch."""
    with jax.named_scope("embed"):
        tok = nn.embedding(batch["ids"], params["wte"])
        x = checkpoint_name(tok + params["wpe"][None, :, :], "out")
        x = nn.dropout(x, cfg.dropout)
    for i in range(cfg.layers):
        with jax.named_scope(f"h{i}"):
            x = _block(cfg, params[f"h{i}"], x)
    with jax.named_scope("head"):
        x = checkpoint_name(nn.layer_norm(x, params["ln_f"]["g"], params["ln_f"]["b"]), "ln_f")
        if cfg.tied:
            logits = jnp.einsum("bsd,vd->bsv", x, params["wte"])
        else:
            logits = jnp.einsum("bsd,dv->bsv", x, params["w_out"])
        logits = checkpoint_name(logits, "logits")
        return nn.cross_entropy(logits, batch["labels"])


def export(cfg: GPTConfig, name: str) -> dict[str, Any]:
    """The `shardplan.graph/1` document of `loss_fn` under `cfg`."""
    return export_graph(lambda p, b: loss_fn(cfg, p, b), param_shapes(cfg), input_shapes(cfg),
                        name=name, output_names=["loss"])


def positive_int(text: str) -> int:
    """An argparse type for counts: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.gpt2", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write the model's shardplan.graph/1 JSON")
    ex.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    ex.add_argument("--batch", type=positive_int, help="override the global batch")
    ex.add_argument("--seq", type=positive_int, help="override the sequence length")
    ex.add_argument("--layers", type=positive_int, help="override the number of blocks")
    ex.add_argument("--untied", action="store_true", help="separate output projection instead of tied wte")
    ex.add_argument("--fused-attention", action="store_true", help="one `attention` op per block")
    ex.add_argument("--dtype", choices=["float32", "bfloat16"], help="parameter and activation dtype")
    ex.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    cfg = CONFIGS[args.config]
    overrides: dict[str, Any] = {}
    for field in ("batch", "seq", "layers", "dtype"):
        if getattr(args, field) is not None:
            overrides[field] = getattr(args, field)
    if args.untied:
        overrides["tied"] = False
    if args.fused_attention:
        overrides["fused_attention"] = True
    cfg = dataclasses.replace(cfg, **overrides)
    write_graph(export(cfg, f"gpt2-{args.config}"), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
