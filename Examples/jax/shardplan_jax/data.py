"""Deterministic parameters and inputs for a graph.

Each tensor gets its own NumPy generator seeded from (seed, crc32(name)), so values do not depend on
the order of tensors in the graph. Floating parameters: N(0, 0.1), plus 1 for 1-D parameters (norm
gains and biases near 1 keep activations in a normal range). Floating inputs: N(0, 1). Integer inputs
are drawn in range for what reads them: row ids of an `embedding` in [0, vocab), labels of a
`cross_entropy` in [0, classes), others in [0, 2) unless `int_ranges` says otherwise. Boolean inputs are
fair coin flips.
"""

from __future__ import annotations

import zlib
from typing import Any, Mapping

import numpy as np

from .dtypes import FLOAT_DTYPES, numpy_dtype

#: Ops through which an integer tensor keeps its meaning (ids stay ids).
_PASS_THROUGH = {"reshape", "transpose", "broadcast", "slice", "concat", "identity", "cast", "stop_gradient"}


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def integer_range(graph: Mapping[str, Any], name: str) -> tuple[int, int] | None:
    """[low, high) that makes `name` valid where it is used as embedding ids or labels, else None."""
    shapes = {t["name"]: t["shape"] for t in [*graph.get("inputs", []), *graph.get("parameters", [])]}
    shapes.update({op["name"]: op.get("shape") for op in graph["ops"]})
    frontier, seen, high = [name], set(), None
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for op in graph["ops"]:
            if current not in op["inputs"]:
                continue
            kind, pos = op["op"], op["inputs"].index(current)
            bound = None
            if kind == "embedding" and pos == 0:
                table = shapes.get(op["inputs"][1])
                bound = table[0] if table else None
            elif kind == "cross_entropy" and pos == 1:
                logits = shapes.get(op["inputs"][0])
                bound = logits[-1] if logits else None
            elif kind in _PASS_THROUGH:
                frontier.append(op["name"])
            if bound is not None:
                high = bound if high is None else min(high, bound)
    return None if high is None else (0, int(high))


def make_parameters(graph: Mapping[str, Any], seed: int = 0, compute_dtype: str | None = "f32") -> dict[str, np.ndarray]:
    """A value for every parameter of `graph`."""
    out = {}
    for p in graph.get("parameters", []):
        dtype = numpy_dtype(compute_dtype if compute_dtype and p["dtype"] in FLOAT_DTYPES else p["dtype"])
        rng = _rng(seed, p["name"])
        shape = tuple(p["shape"])
        if p["dtype"] in FLOAT_DTYPES:
            value = rng.normal(0.0, 0.1, shape) + (1.0 if len(shape) == 1 else 0.0)
        elif p["dtype"] == "bool":
            value = rng.integers(0, 2, shape).astype(bool)
        else:
            value = rng.integers(0, 2, shape)
        out[p["name"]] = np.asarray(value).astype(dtype)
    return out


def make_inputs(graph: Mapping[str, Any], seed: int = 0, compute_dtype: str | None = "f32",
                int_ranges: Mapping[str, tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    """A value for every input of `graph` (see the module docstring for the ranges)."""
    out = {}
    for t in graph.get("inputs", []):
        name, shape = t["name"], tuple(t["shape"])
        dtype = numpy_dtype(compute_dtype if compute_dtype and t["dtype"] in FLOAT_DTYPES else t["dtype"])
        rng = _rng(seed + 1, name)
        if t["dtype"] in FLOAT_DTYPES:
            value = rng.normal(0.0, 1.0, shape)
        elif t["dtype"] == "bool":
            value = rng.integers(0, 2, shape).astype(bool)
        else:
            low, high = (int_ranges or {}).get(name) or integer_range(graph, name) or (0, 2)
            value = rng.integers(low, high, shape)
        out[name] = np.asarray(value).astype(dtype)
    return out
