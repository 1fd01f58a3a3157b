"""An exportable mixture-of-experts feed-forward layer: what ShardPlan prices of a top-k MoE, in plain PyTorch.

`torch.topk`, `argsort`, `scatter` and the gathers of a real router are data-dependent and have no
`shardplan.graph/1` equivalent, so a training module's MoE layer does not export. `RoutedExperts` is its pricing
twin, written the way ShardPlan's own builders write MoE layers (Docs/models.md, "Mixtures of experts as trained
now"): the router and its softmax; the first k scores as the top k (how many experts a token reaches is known,
which ones is data); each token copied k times and viewed as `[batch, slots, experts, d]` slots; the permutation
to expert-major `[experts, batch, slots, d]`; every expert's SwiGLU as grouped einsums over `[experts, d, ffn]`
weights (`ebcd,edf->ebcf`, the down projection `ebcf,efd->bced` back to token-major); the k outputs weighted by
their scores and summed. Its parameters, FLOPs, activations and, under expert parallelism, all-to-alls are those
of a dropless top-k MoE with balanced experts. Its routing is not: slot j of a token goes to a fixed expert, so
train with your own layer and export this one with the same sizes (Docs/torch.md, "Mixtures of experts").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RoutedExperts(nn.Module):
    """Top-`top_k` of `experts` SwiGLU experts of width `ffn` on `[batch, seq, d_model]` tokens (seq x top_k must be
    a multiple of experts: each expert gets seq x top_k / experts slots of every sample, the balanced load)."""

    def __init__(self, d_model: int, ffn: int, experts: int, top_k: int):
        super().__init__()
        if not 1 <= top_k <= experts:
            raise ValueError(f"top_k is {top_k}; it must be between 1 and the {experts} experts")
        self.experts, self.top_k = experts, top_k
        self.router = nn.Linear(d_model, experts, bias=False)
        self.gate = nn.Parameter(torch.randn(experts, d_model, ffn) * 0.02)
        self.up = nn.Parameter(torch.randn(experts, d_model, ffn) * 0.02)
        self.down = nn.Parameter(torch.randn(experts, ffn, d_model) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, d = x.shape
        experts, k = self.experts, self.top_k
        if seq * k % experts:
            raise ValueError(f"seq x top_k = {seq} x {k} is not a multiple of the {experts} experts")
        scores = self.router(x).softmax(-1)
        top = scores[..., :k]  # stands for scores.topk(k).values: as many, not the same ones
        slots = x.unsqueeze(2).expand(batch, seq, k, d).reshape(batch, seq * k // experts, experts, d)
        routed = slots.permute(2, 0, 1, 3)  # [experts, batch, slots, d]: the dispatch permutation
        hidden = F.silu(torch.einsum("ebcd,edf->ebcf", routed, self.gate)) * torch.einsum("ebcd,edf->ebcf", routed, self.up)
        out = torch.einsum("ebcf,efd->bced", hidden, self.down).reshape(batch, seq, k, d)
        return (out * top.unsqueeze(-1)).sum(2)  # the combine: each token's k outputs weighted by their scores


class MoEBlock(nn.Module):
    """A pre-norm residual MoE feed-forward block (a decoder block without attention, to keep the example short)."""

    def __init__(self, d_model: int, ffn: int, experts: int, top_k: int):
        super().__init__()
        self.norm = nn.RMSNorm(d_model)
        self.moe = RoutedExperts(d_model, ffn, experts, top_k)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.moe(self.norm(h))


class TinyMoE(nn.Module):
    """Token embedding, `layers` MoE blocks, a final norm, logits and the loss."""

    def __init__(self, vocab: int = 256, d_model: int = 64, ffn: int = 32, experts: int = 8, top_k: int = 2,
                 layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.blocks = nn.ModuleList(MoEBlock(d_model, ffn, experts, top_k) for _ in range(layers))
        self.norm = nn.RMSNorm(d_model)
        self.output = nn.Linear(d_model, vocab, bias=False)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        for block in self.blocks:
            h = block(h)
        return F.cross_entropy(self.output(self.norm(h)).flatten(0, 1), labels.flatten())
