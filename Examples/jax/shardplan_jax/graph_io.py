"""Read, check and write `shardplan.graph/1` JSON (SPEC section 1).

The checks here are the structural ones a consumer needs before interpreting a graph: format, names
(unique, defined before use), known ops with their required attributes, dtypes, positive dimensions.
Shape inference proper is the Swift planner's job; the interpreter checks shapes as it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import GRAPH_FORMAT
from .dtypes import SPEC_DTYPES

UNARY_OPS: tuple[str, ...] = (
    "identity", "neg", "abs", "exp", "log", "sqrt", "rsqrt", "square", "tanh", "sigmoid", "relu",
    "gelu", "silu", "erf", "cast", "dropout", "scale", "stop_gradient",
)
BINARY_OPS: tuple[str, ...] = (
    "add", "sub", "mul", "div", "max", "min", "pow", "eq", "ne", "lt", "le", "gt", "ge", "and", "or",
)

#: op name -> (required attributes, number of inputs: int, (min, None) for "at least", or None)
OP_CATALOG: dict[str, tuple[tuple[str, ...], Any]] = {
    "einsum": (("equation",), (2, None)),
    "matmul": ((), 2),
    **{op: ((), 1) for op in UNARY_OPS},
    **{op: ((), 2) for op in BINARY_OPS},
    "where": ((), 3),
    "reduce": (("kind", "axes"), 1),
    "softmax": (("axis",), 1),
    "log_softmax": (("axis",), 1),
    "layer_norm": (("axis",), 3),
    "rms_norm": (("axis",), 2),
    "reshape": (("shape",), 1),
    "transpose": (("perm",), 1),
    "broadcast": (("shape", "dims"), 1),
    "concat": (("axis",), (1, None)),
    "slice": (("axis", "start", "end"), 1),
    "iota": (("shape", "dim"), 0),
    "constant": (("shape",), 0),
    "embedding": ((), 2),
    "cross_entropy": ((), 2),
    "attention": ((), 3),
    "conv2d": ((), 2),
    "pool2d": (("kind", "window"), 1),
    "batch_norm": (("axis",), 3),
}
# Attribute requirements that depend on the op.
OP_CATALOG["cast"] = (("dtype",), 1)
OP_CATALOG["dropout"] = (("rate",), 1)
OP_CATALOG["scale"] = (("factor",), 1)

REDUCE_KINDS: tuple[str, ...] = ("sum", "mean", "max", "min")

#: Key order of a written graph (SPEC order first, anything else after, sorted).
TOP_LEVEL_ORDER: tuple[str, ...] = ("format", "name", "inputs", "parameters", "ops", "outputs")
#: Key order inside one op when written: these first, attributes sorted, then OP_KEY_LAST.
OP_KEY_ORDER: tuple[str, ...] = ("name", "op", "inputs")
OP_KEY_LAST: tuple[str, ...] = ("shape", "dtype", "layer")


class GraphError(ValueError):
    """A `shardplan.graph/1` document that is malformed; the message names the JSON path."""


def load_graph(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Load a graph from a file path (or `-` for stdin) or a dict, check it, and return it as a dict."""
    if isinstance(source, Mapping):
        graph = dict(source)
    else:
        text = _read_text(source)
        try:
            graph = json.loads(text)
        except json.JSONDecodeError as err:
            raise GraphError(f"{source}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    validate_graph(graph)
    return graph


def _read_text(source: str | Path) -> str:
    import sys

    if str(source) == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text()
    except OSError as err:
        raise GraphError(f"cannot read graph {source}: {err.strerror}") from None


def _check_shape(shape: Any, where: str) -> None:
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise GraphError(f"{where}: shape must be a list of integers, got {shape!r}")
    for i, d in enumerate(shape):
        if d <= 0:
            raise GraphError(f"{where}: dimension {i} is {d}; dimensions must be positive")


def _check_dtype(dtype: Any, where: str) -> None:
    if dtype not in SPEC_DTYPES:
        raise GraphError(f"{where}: unknown dtype {dtype!r} (known: {', '.join(SPEC_DTYPES)})")


def validate_graph(graph: Mapping[str, Any]) -> None:
    """Raise `GraphError` on the first structural problem in `graph`."""
    if not isinstance(graph, Mapping):
        raise GraphError("graph: the document must be a JSON object")
    fmt = graph.get("format")
    if fmt != GRAPH_FORMAT:
        raise GraphError(f"format: expected {GRAPH_FORMAT!r}, got {fmt!r}")
    defined: set[str] = set()

    def define(name: Any, where: str) -> None:
        if not isinstance(name, str) or not name:
            raise GraphError(f"{where}: name must be a non-empty string, got {name!r}")
        if name in defined:
            raise GraphError(f"{where}: duplicate name {name!r}")
        defined.add(name)

    for key in ("inputs", "parameters"):
        entries = graph.get(key, [])
        if not isinstance(entries, list):
            raise GraphError(f"{key}: must be a list")
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(entry, Mapping):
                raise GraphError(f"{where}: must be an object")
            define(entry.get("name"), where)
            where = f'{key}[{i}] "{entry["name"]}"'
            _check_shape(entry.get("shape"), where)
            _check_dtype(entry.get("dtype"), where)
            if key == "parameters" and not isinstance(entry.get("trainable", True), bool):
                raise GraphError(f"{where}: trainable must be true or false, got {entry['trainable']!r}")
            if key == "inputs" and "batch_dim" in entry:
                bd = entry["batch_dim"]
                if not isinstance(bd, int) or not 0 <= bd < len(entry["shape"]):
                    raise GraphError(f"{where}: batch_dim {bd!r} is not a dimension of shape {entry['shape']}")

    ops = graph.get("ops")
    if not isinstance(ops, list):
        raise GraphError("ops: must be a list")
    for i, op in enumerate(ops):
        if not isinstance(op, Mapping):
            raise GraphError(f"ops[{i}]: must be an object")
        name = op.get("name")
        where = f'ops[{i}] "{name}"'
        kind = op.get("op")
        if kind not in OP_CATALOG:
            raise GraphError(f"{where}: unknown op {kind!r} (known: {', '.join(sorted(OP_CATALOG))})")
        required, arity = OP_CATALOG[kind]
        for attr in required:
            if attr not in op:
                raise GraphError(f"{where}: op {kind} needs the attribute {attr!r}")
        inputs = op.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs):
            raise GraphError(f"{where}: inputs must be a list of names")
        if isinstance(arity, int) and len(inputs) != arity:
            raise GraphError(f"{where}: op {kind} takes {arity} input(s), got {len(inputs)}")
        if isinstance(arity, tuple) and len(inputs) < arity[0]:
            raise GraphError(f"{where}: op {kind} takes at least {arity[0]} input(s), got {len(inputs)}")
        for n in inputs:
            if n not in defined:
                raise GraphError(f"{where}: input {n!r} is not defined above this op")
        if kind == "reduce" and op["kind"] not in REDUCE_KINDS:
            raise GraphError(f"{where}: reduce kind {op['kind']!r} is not one of {', '.join(REDUCE_KINDS)}")
        if kind in ("reshape", "broadcast", "iota", "constant"):
            _check_shape(op["shape"], where)
        if "shape" in op and kind not in ("reshape", "broadcast", "iota", "constant"):
            _check_shape(op["shape"], where)
        if "dtype" in op:
            _check_dtype(op["dtype"], where)
        define(name, f"ops[{i}]")

    outputs = graph.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise GraphError("outputs: must be a non-empty list of names")
    for i, n in enumerate(outputs):
        if n not in defined:
            raise GraphError(f"outputs[{i}]: {n!r} is not defined")


def _ordered(entry: Mapping[str, Any], first: Iterable[str], last: Iterable[str] = ()) -> dict[str, Any]:
    first = [k for k in first if k in entry]
    last = [k for k in last if k in entry and k not in first]
    rest = sorted(k for k in entry if k not in first and k not in last)
    return {k: entry[k] for k in [*first, *rest, *last]}


def dumps_graph(graph: Mapping[str, Any]) -> str:
    """Serialise a graph with a stable layout: SPEC key order, one input/parameter/op per line."""
    lines = ["{"]
    keys = _ordered(graph, TOP_LEVEL_ORDER)
    items = list(keys.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if key in ("inputs", "parameters", "ops") and isinstance(value, list):
            if not value:
                lines.append(f'  "{key}": []{comma}')
                continue
            lines.append(f'  "{key}": [')
            for j, entry in enumerate(value):
                sep = "," if j < len(value) - 1 else ""
                if key == "ops":
                    ordered = _ordered(entry, OP_KEY_ORDER, OP_KEY_LAST)
                else:
                    ordered = _ordered(entry, ("name", "shape", "dtype"))
                lines.append("    " + json.dumps(ordered) + sep)
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(graph: Mapping[str, Any], path: str | Path) -> None:
    """Check `graph` and write it to `path` (`-` for stdout) in the layout of `dumps_graph`."""
    import sys

    validate_graph(graph)
    text = dumps_graph(graph)
    if str(path) == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text)
