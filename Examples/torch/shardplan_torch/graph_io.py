"""Write `shardplan.graph/1` JSON in a stable layout: SPEC key order, one input, parameter or op a line.

The layout is the one `Examples/jax` writes (Docs/jax.md, "Written layout"): inside an op `name`, `op`,
`inputs`, then the attributes sorted, then `shape`, `dtype`, `layer`. Same graph, same bytes. Checking the
document is left to the one reader that matters, `shardplan` itself (`shardplan inspect GRAPH`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

TOP_LEVEL_ORDER = ("format", "name", "inputs", "parameters", "ops", "outputs")
OP_FIRST = ("name", "op", "inputs")
OP_LAST = ("shape", "dtype", "layer")
TENSOR_FIRST = ("name", "shape", "dtype")


def _ordered(entry: Mapping[str, Any], first: Iterable[str], last: Iterable[str] = ()) -> dict[str, Any]:
    first = [key for key in first if key in entry]
    last = [key for key in last if key in entry and key not in first]
    rest = sorted(key for key in entry if key not in first and key not in last)
    return {key: entry[key] for key in [*first, *rest, *last]}


def dumps_graph(graph: Mapping[str, Any]) -> str:
    """The document as text, ending with a newline."""
    items = list(_ordered(graph, TOP_LEVEL_ORDER).items())
    lines = ["{"]
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if key in ("inputs", "parameters", "ops") and value:
            lines.append(f'  "{key}": [')
            for position, entry in enumerate(value):
                ordered = _ordered(entry, OP_FIRST, OP_LAST) if key == "ops" else _ordered(entry, TENSOR_FIRST)
                separator = "," if position < len(value) - 1 else ""
                lines.append("    " + json.dumps(ordered, allow_nan=False) + separator)
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(graph: Mapping[str, Any], path: str | Path) -> None:
    """Write `graph` to `path`, or to standard output for `-`."""
    text = dumps_graph(graph)
    if str(path) == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text)
