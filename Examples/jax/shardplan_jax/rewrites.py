"""Replay graph rewrites recorded by ShardPlan (`shardplan rewrite`, and a plan's per-stage `rewrites`).

A rewrite record (Docs/rewrites.md, "The record") is a graph diff by names: `remove` (ops),
`insert_at` (the removed op whose place the new `ops` take), `ops` (new ops, written as a graph's ops
are; `like` names an op whose attributes ShardPlan does not read, such as `epsilon`, they keep),
`remove_parameters`, `parameters` (new ones, each with `from`: the ops computing it from the parameters
before it) and `rename` (old value name -> the name its readers now read). Replaying needs no knowledge
of the rule: `apply_rewrites` rebuilds the rewritten graph and `derive_parameters` its parameters from
the original ones (a JAX computation, so gradients flow back to the original parameters).
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from .graph_io import GraphError, validate_graph

#: Op keys a `like` copy never takes: the op's identity and its result type (which the new op infers).
_OWN_KEYS = {"name", "op", "inputs", "shape", "dtype", "layer", "like"}


class RewriteError(ValueError):
    """A rewrite record that does not fit the graph it is replayed on; the message names the record."""


def plan_rewrites(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every stage's `rewrites`, in stage order (the order they are applied in)."""
    out: list[dict[str, Any]] = []
    for stage in plan.get("stages", []):
        out.extend(stage.get("rewrites", []) or [])
    return out


def apply_rewrites(graph: Mapping[str, Any], rewrites: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The graph with `rewrites` applied in order, checked like any graph."""
    graph = copy.deepcopy(dict(graph))
    for number, record in enumerate(rewrites):
        where = f"rewrite {number} ({record.get('rule', '?')} at {record.get('at', [])})"
        ops: list[dict[str, Any]] = graph["ops"]
        by_name = {op["name"]: op for op in ops}
        removed = set(record.get("remove", []))
        for name in removed:
            if name not in by_name:
                raise RewriteError(f"{where}: removes {name!r}, which is not an op of the graph")
        added = []
        for entry in record.get("ops", []):
            op: dict[str, Any] = {}
            like = entry.get("like")
            if like is not None:
                if like not in by_name:
                    raise RewriteError(f"{where}: op {entry['name']!r} is like {like!r}, which is not an op")
                op.update({k: v for k, v in by_name[like].items() if k not in _OWN_KEYS})
            op.update({k: v for k, v in entry.items() if k != "like"})
            added.append(op)
        rename = dict(record.get("rename", {}))

        def renamed(name: str) -> str:
            for _ in range(len(rename) + 1):
                if name not in rename:
                    return name
                name = rename[name]
            raise RewriteError(f"{where}: the renames loop")

        point = record.get("insert_at")
        if added and point not in removed:
            raise RewriteError(f"{where}: insert_at {point!r} is not one of the removed ops")
        new_ops: list[dict[str, Any]] = []
        for op in ops:
            if op["name"] == point:
                new_ops.extend(added)
            if op["name"] in removed:
                continue
            if any(n in rename for n in op["inputs"]):
                op = {**op, "inputs": [renamed(n) for n in op["inputs"]]}
            new_ops.append(op)
        graph["ops"] = new_ops
        graph["outputs"] = [renamed(n) for n in graph["outputs"]]
        gone = set(record.get("remove_parameters", []))
        frozen = {p["name"] for p in graph.get("parameters", []) if p.get("trainable") is False}
        graph["parameters"] = [p for p in graph.get("parameters", []) if p["name"] not in gone] + [
            _derived_parameter(p, frozen) for p in record.get("parameters", [])]
        try:
            validate_graph(graph)
        except GraphError as err:
            raise RewriteError(f"{where}: the rewritten graph is not valid: {err}") from None
    return graph


def _derived_parameter(parameter: Mapping[str, Any], frozen: set[str]) -> dict[str, Any]:
    """A rewrite's new parameter as a graph lists it: frozen (`"trainable": false`) where every parameter it is
    computed from is, as ShardPlan derives it."""
    entry = {"name": parameter["name"], "shape": list(parameter["shape"]), "dtype": parameter["dtype"]}
    # The derivation's own intermediate results are named `<name>/k`; every other name it reads is a parameter.
    read = {name for op in parameter.get("from", []) for name in op.get("inputs", [])}
    originals = {name for name in read if not name.startswith(parameter["name"] + "/")}
    if originals and originals <= frozen:
        entry["trainable"] = False
    return entry


def derive_parameters(params: Mapping[str, Any], graph: Mapping[str, Any],
                      rewrites: Iterable[Mapping[str, Any]], compute_dtype: str | None = "f32") -> dict[str, Any]:
    """The rewritten graph's parameters computed from `params` (the original graph's), record by record.

    A traceable JAX function of `params`: differentiate through it to turn gradients with respect to the
    new parameters into gradients with respect to the original ones."""
    from .interpret import Interpreter

    current = dict(params)
    for record in rewrites:
        for parameter in record.get("parameters", []):
            derivation = {"format": graph.get("format"), "ops": parameter["from"], "outputs": [parameter["name"]]}
            env = Interpreter(derivation, compute_dtype).run(dict(current))
            current[parameter["name"]] = env[parameter["name"]]
        for name in record.get("remove_parameters", []):
            current.pop(name, None)
    return current
