"""A GPT-2 decoder in plain PyTorch (random initialisation, nothing downloaded), and its export.

    python -m examples.gpt2 export --config tiny -o tiny-gpt.json      (run from Examples/torch)

Token and learned position embeddings, pre-LayerNorm blocks (causal multi-head attention through
`F.scaled_dot_product_attention`, a tanh-GELU MLP), a final LayerNorm, logits tied to the token embedding,
and the mean next-token cross-entropy: the structure of Radford et al. 2019 and of ShardPlan's
`TransformerConfiguration.gpt` builder, so that presets named after a catalog model (`gpt3-125m`) export a
graph with that model's parameter count and forward FLOPs.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

from .command import export_command


@dataclasses.dataclass(frozen=True)
class GPT2Config:
    """Model and batch sizes; `catalog` is the `shardplan models` id with the same shapes, if any."""

    layers: int
    d_model: int
    heads: int
    vocab: int
    seq: int
    batch: int
    dropout: float = 0.1
    tied: bool = True
    catalog: str | None = None


# GPT-3 sizes: Brown et al. 2020, Table 2.1, with ShardPlan's catalog batches (Sources/ShardPlan/Models/
# ModelCatalog+GPT3.swift); GPT-2 124M: Radford et al. 2019, Table 2 (the smallest model, 1024 tokens).
CONFIGS: dict[str, GPT2Config] = {
    "tiny": GPT2Config(layers=2, d_model=64, heads=4, vocab=256, seq=32, batch=8, catalog="gpt-tiny"),
    "tiny-untied": GPT2Config(layers=2, d_model=64, heads=4, vocab=256, seq=32, batch=8, tied=False),
    "small": GPT2Config(layers=4, d_model=256, heads=8, vocab=1024, seq=128, batch=16),
    "gpt2-124m": GPT2Config(layers=12, d_model=768, heads=12, vocab=50257, seq=1024, batch=8),
    "gpt3-125m": GPT2Config(layers=12, d_model=768, heads=12, vocab=50257, seq=2048, batch=256, catalog="gpt3-125m"),
    "gpt3-350m": GPT2Config(layers=24, d_model=1024, heads=16, vocab=50257, seq=2048, batch=256, catalog="gpt3-350m"),
    "gpt3-760m": GPT2Config(layers=24, d_model=1536, heads=16, vocab=50257, seq=2048, batch=256, catalog="gpt3-760m"),
    "gpt3-1.3b": GPT2Config(layers=24, d_model=2048, heads=16, vocab=50257, seq=2048, batch=512, catalog="gpt3-1.3b"),
    "gpt3-2.7b": GPT2Config(layers=32, d_model=2560, heads=32, vocab=50257, seq=2048, batch=512, catalog="gpt3-2.7b"),
    "gpt3-6.7b": GPT2Config(layers=32, d_model=4096, heads=32, vocab=50257, seq=2048, batch=1024, catalog="gpt3-6.7b"),
    "gpt3-13b": GPT2Config(layers=40, d_model=5120, heads=40, vocab=50257, seq=2048, batch=1024, catalog="gpt3-13b"),
    "gpt3-175b": GPT2Config(layers=96, d_model=12288, heads=96, vocab=50257, seq=2048, batch=1536, catalog="gpt3-175b"),
}


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        if config.d_model % config.heads:
            raise ValueError(f"d_model {config.d_model} is not a multiple of heads {config.heads}")
        self.heads = config.heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, width = x.shape
        # The fused projection's columns are [q | k | v], each split into heads.
        q, k, v = self.qkv(x).view(batch, seq, 3, self.heads, width // self.heads).unbind(2)
        context = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                 is_causal=True)
        return self.dropout(self.proj(context.transpose(1, 2).reshape(batch, seq, width)))


class MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x), approximate="tanh")))


class Block(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """`forward(tokens, labels)` -> the mean next-token cross-entropy (tokens and labels `[batch, seq]`)."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab, config.d_model)
        self.wpe = nn.Embedding(config.seq, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = None if config.tied else nn.Linear(config.d_model, config.vocab, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, residual projections scaled by
        1/sqrt(2 x layers) (Radford et al. 2019, section 2.3), LayerNorm (1, 0)."""
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * self.config.layers) if name.endswith(".proj") else 0.02
                nn.init.normal_(module.weight, mean=0.0, std=std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.drop(self.wte(tokens) + self.wpe(positions))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        logits = F.linear(x, self.wte.weight) if self.lm_head is None else self.lm_head(x)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


def example_inputs(config: GPT2Config, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids and labels, `[batch, seq]` int64 (PyTorch's index type)."""
    generator = torch.Generator().manual_seed(0)
    shape = (config.batch, config.seq)
    if device == "meta":
        return torch.empty(shape, dtype=torch.int64, device="meta"), torch.empty(shape, dtype=torch.int64, device="meta")
    return (torch.randint(config.vocab, shape, generator=generator),
            torch.randint(config.vocab, shape, generator=generator))


if __name__ == "__main__":
    sys.exit(export_command("python -m examples.gpt2", "gpt2", CONFIGS, GPT2, example_inputs))
