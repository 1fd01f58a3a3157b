"""Mapping from PyTorch dtypes to the dtype names of SPEC section 1."""

from __future__ import annotations

import torch

#: SPEC dtype names, in SPEC order.
SPEC_DTYPES: tuple[str, ...] = ("f32", "tf32", "bf16", "f16", "fp8", "i64", "i32", "i8", "bool")

_FROM_TORCH: dict[torch.dtype, str] = {
    torch.float32: "f32",
    torch.bfloat16: "bf16",
    torch.float16: "f16",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int8: "i8",
    torch.bool: "bool",
}
# Every 8-bit float PyTorch has is the graph's fp8 (the format does not distinguish e4m3 from e5m2).
for _name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"):
    if hasattr(torch, _name):
        _FROM_TORCH[getattr(torch, _name)] = "fp8"


def spec_dtype(dtype: torch.dtype) -> str | None:
    """The SPEC name (`f32`, `bf16`, ...) of a PyTorch dtype, or None when the graph format has none
    (float64, unsigned and complex types)."""
    return _FROM_TORCH.get(dtype)


def is_float(dtype: str) -> bool:
    return dtype in ("f32", "tf32", "bf16", "f16", "fp8")
