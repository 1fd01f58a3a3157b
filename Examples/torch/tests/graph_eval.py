"""A reference interpreter for the exported graphs, for tests: runs a `shardplan.graph/1` document's ops with
PyTorch on real tensors, so that a lowering can be checked against the module's own result, not only against
`shardplan inspect`'s shapes. It covers the ops the tests that use it write; a `constant` needs its `value`
(tests make their buffers uniform), and `dropout` is not run (tests use eval mode or p = 0)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "i64": torch.int64,
          "i32": torch.int32, "i8": torch.int8, "bool": torch.bool}

_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "max": torch.maximum,
           "min": torch.minimum, "pow": torch.pow, "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le,
           "gt": torch.gt, "ge": torch.ge, "and": torch.logical_and, "or": torch.logical_or}
_UNARY = {"neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
          "rsqrt": torch.rsqrt, "square": torch.square, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
          "relu": torch.relu, "silu": F.silu, "erf": torch.erf, "identity": lambda x: x,
          "stop_gradient": lambda x: x}


def _reduce(op: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    keep = bool(op.get("keepdims", False))
    axes = op["axes"]
    kind = op["kind"]
    if kind == "sum":
        return x.sum(axes, keepdim=keep, dtype=x.dtype)
    if kind == "mean":
        return x.mean(axes, keepdim=keep)
    return (x.amax if kind == "max" else x.amin)(axes, keepdim=keep)


def _conv2d(op: Mapping[str, Any], x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, w, stride=op.get("stride", 1), padding=op.get("padding", 0), groups=op.get("groups", 1))


def _pool2d(op: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    pool = F.max_pool2d if op["kind"] == "max" else F.avg_pool2d
    return pool(x, op["window"], op.get("stride", op["window"]), op.get("padding", 0))


def _broadcast(op: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    shape = [1] * len(op["shape"])
    for size, dim in zip(x.shape, op["dims"]):
        shape[dim] = size
    return x.reshape(shape).expand(op["shape"])


def _slice(op: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    return x.narrow(op["axis"], op["start"], op["end"] - op["start"])


def _cross_entropy(op: Mapping[str, Any], logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1))


def _attention(op, q, k, v):
    """The catalog's attention on `[batch, seq, heads, head_dim]`: query head h reads key/value head
    h // (heads / kv_heads), scaled by 1/sqrt(head_dim), causal where it says so."""
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=bool(op.get("causal")), enable_gqa=True)
    return out.transpose(1, 2)


_OTHER = {
    "attention": _attention,
    "constant": lambda op: torch.full(op["shape"], op["value"], dtype=DTYPES[op["dtype"]]),
    "cast": lambda op, x: x.to(DTYPES[op["dtype"]]),
    "scale": lambda op, x: x * op["factor"],
    "where": lambda op, c, a, b: torch.where(c, a, b),
    "reduce": _reduce,
    "softmax": lambda op, x: torch.softmax(x, op.get("axis", -1)),
    "log_softmax": lambda op, x: torch.log_softmax(x, op.get("axis", -1)),
    "reshape": lambda op, x: x.reshape(op["shape"]),
    "transpose": lambda op, x: x.permute(op["perm"]),
    "broadcast": _broadcast,
    "concat": lambda op, *xs: torch.cat(xs, op["axis"]),
    "slice": _slice,
    "einsum": lambda op, *xs: torch.einsum(op["equation"], *xs),
    "matmul": lambda op, a, b: a @ b,
    "conv2d": _conv2d,
    "pool2d": _pool2d,
    "embedding": lambda op, ids, table: F.embedding(ids, table),
    "cross_entropy": _cross_entropy,
}


def evaluate(graph: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
    """The graph's outputs for `tensors`, its inputs and parameters by name."""
    names = {entry["name"] for entry in [*graph["inputs"], *graph["parameters"]]}
    missing = names - set(tensors)
    assert not missing, f"no tensor for {sorted(missing)}"
    values: dict[str, torch.Tensor] = dict(tensors)
    with torch.no_grad():
        for op in graph["ops"]:
            kind = op["op"]
            operands = [values[name] for name in op.get("inputs", [])]
            if kind == "constant":
                assert "value" in op, f"constant {op['name']} has no value to run"
            if kind in _BINARY:
                result = _BINARY[kind](*operands)
            elif kind in _UNARY:
                result = _UNARY[kind](*operands)
            elif kind in _OTHER:
                result = _OTHER[kind](op, *operands)
            else:
                raise AssertionError(f"the reference interpreter does not run {kind} ({op['name']})")
            assert list(result.shape) == op["shape"], (op["name"], list(result.shape), op["shape"])
            assert result.dtype == DTYPES[op["dtype"]], (op["name"], result.dtype, op["dtype"])
            values[op["name"]] = result
    return [values[name] for name in graph["outputs"]]
