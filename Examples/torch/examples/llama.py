"""A Llama decoder in plain PyTorch (random initialisation, nothing downloaded), and its export.

    python -m examples.llama export --config tiny -o tiny-llama.json      (run from Examples/torch)

Token embeddings, pre-RMSNorm blocks (rotary positions, causal attention with grouped-query key/value heads
through `F.scaled_dot_product_attention`, a SwiGLU MLP without biases), a final RMSNorm, an untied output
projection and the mean next-token cross-entropy: the structure of Meta's reference `model.py` (Touvron et
al. 2023; Dubey et al. 2024), with its module names (`layers.0.attention.wq`, `feed_forward.w1`, ...).

One difference from Meta's code: the rotary embedding multiplies pairs of elements by a real 2 x 2 rotation
(`einsum("bshpj,spij->bshpi")` with a precomputed `[seq, head_dim / 2, 2, 2]` buffer) instead of complex
numbers, which `shardplan.graph/1` has no dtype for. The arithmetic is the same: (x0 + i x1)(cos a + i sin a)
is (x0 cos a - x1 sin a) + i (x0 sin a + x1 cos a). It is also how ShardPlan's `TransformerBuilder` writes
it, so presets named after a catalog model (`llama3-8b`) export that model's parameter count and FLOPs.
"""

from __future__ import annotations

import dataclasses
import sys

import torch
import torch.nn.functional as F
from torch import nn

from .command import export_command


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """Model and batch sizes; `catalog` is the `shardplan models` id with the same shapes, if any."""

    layers: int
    d_model: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    seq: int
    batch: int
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    catalog: str | None = None

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads


# Sizes as ShardPlan's catalog has them (Sources/ShardPlan/Models/ModelCatalog+Llama.swift: Llama 3's Table
# 3 and Llama 2's released params.json); rotary bases 10,000 (Llama 2) and 500,000 (Llama 3, section 3.4).
CONFIGS: dict[str, LlamaConfig] = {
    "tiny": LlamaConfig(layers=2, d_model=64, heads=4, kv_heads=2, ffn=176, vocab=256, seq=32, batch=8,
                        catalog="llama-tiny"),
    "small": LlamaConfig(layers=4, d_model=256, heads=8, kv_heads=4, ffn=704, vocab=1024, seq=128, batch=16),
    "llama2-7b": LlamaConfig(layers=32, d_model=4096, heads=32, kv_heads=32, ffn=11008, vocab=32000, seq=4096,
                             batch=1024, catalog="llama2-7b"),
    "llama2-70b": LlamaConfig(layers=80, d_model=8192, heads=64, kv_heads=8, ffn=28672, vocab=32000, seq=4096,
                              batch=1024, catalog="llama2-70b"),
    "llama3-8b": LlamaConfig(layers=32, d_model=4096, heads=32, kv_heads=8, ffn=14336, vocab=128256, seq=8192,
                             batch=2048, rope_theta=500000.0, catalog="llama3-8b"),
    "llama3-70b": LlamaConfig(layers=80, d_model=8192, heads=64, kv_heads=8, ffn=28672, vocab=128256, seq=8192,
                              batch=2048, rope_theta=500000.0, catalog="llama3-70b"),
    "llama3-405b": LlamaConfig(layers=126, d_model=16384, heads=128, kv_heads=8, ffn=53248, vocab=128256,
                               seq=8192, batch=2048, rope_theta=500000.0, catalog="llama3-405b"),
}


def rotary_table(seq: int, head_dim: int, theta: float) -> torch.Tensor:
    """`[seq, head_dim / 2, 2, 2]`: for position s and pair p the rotation by s * theta^(-2p / head_dim)
    (Su et al. 2021, "RoFormer", equation 34)."""
    frequencies = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(seq, dtype=torch.float64), frequencies)
    cos, sin = angles.cos(), angles.sin()
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2).float()


def rotate(x: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """Rotate each adjacent pair of `x`'s last dimension (`[batch, seq, heads, head_dim]`) by its position."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.einsum("bshpj,spij->bshpi", pairs, rotation).flatten(-2)


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        if config.d_model % config.heads or config.heads % config.kv_heads:
            raise ValueError("d_model must be a multiple of heads, and heads a multiple of kv_heads")
        self.heads, self.kv_heads, self.head_dim = config.heads, config.kv_heads, config.head_dim
        self.wq = nn.Linear(config.d_model, config.heads * self.head_dim, bias=False)
        self.wk = nn.Linear(config.d_model, config.kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(config.d_model, config.kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(config.heads * self.head_dim, config.d_model, bias=False)

    def forward(self, x: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        q = rotate(self.wq(x).view(batch, seq, self.heads, self.head_dim), rotation)
        k = rotate(self.wk(x).view(batch, seq, self.kv_heads, self.head_dim), rotation)
        v = self.wv(x).view(batch, seq, self.kv_heads, self.head_dim)
        context = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                 is_causal=True, enable_gqa=self.kv_heads != self.heads)
        return self.wo(context.transpose(1, 2).reshape(batch, seq, self.heads * self.head_dim))


class FeedForward(nn.Module):
    """SwiGLU (Shazeer 2020): `w2(silu(w1 x) * w3 x)`."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.w1 = nn.Linear(config.d_model, config.ffn, bias=False)
        self.w2 = nn.Linear(config.ffn, config.d_model, bias=False)
        self.w3 = nn.Linear(config.d_model, config.ffn, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.attention_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.attention = Attention(config)
        self.ffn_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.feed_forward = FeedForward(config)

    def forward(self, x: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), rotation)
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    """`forward(tokens, labels)` -> the mean next-token cross-entropy (tokens and labels `[batch, seq]`)."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab, config.d_model)
        self.layers = nn.ModuleList(TransformerBlock(config) for _ in range(config.layers))
        self.norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.output = nn.Linear(config.d_model, config.vocab, bias=False)
        # A buffer, not a parameter (Meta's `freqs_cis`): it is not trained, and not saved with the weights.
        self.register_buffer("rotation", rotary_table(config.seq, config.head_dim, config.rope_theta),
                             persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 0.02) for every projection and the embedding; RMSNorm scales start at 1."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        rotation = self.rotation[: tokens.shape[1]]
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, rotation)
        logits = self.output(self.norm(x))
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


def example_inputs(config: LlamaConfig, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids and labels, `[batch, seq]` int64 (PyTorch's index type)."""
    shape = (config.batch, config.seq)
    if device == "meta":
        return torch.empty(shape, dtype=torch.int64, device="meta"), torch.empty(shape, dtype=torch.int64, device="meta")
    generator = torch.Generator().manual_seed(0)
    return (torch.randint(config.vocab, shape, generator=generator),
            torch.randint(config.vocab, shape, generator=generator))


if __name__ == "__main__":
    sys.exit(export_command("python -m examples.llama", "llama", CONFIGS, Llama, example_inputs))
