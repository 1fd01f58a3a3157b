"""Read and check a `shardplan.plan/1` plan (SPEC section 4) against its graph.

Fields read (everything else is ignored):

- `format`, `devices`, optional `global_batch`, `microbatches` (reported; the check runs one microbatch);
- per stage: `ops` (names; an element `"..."` stands for every graph op between its neighbours,
  inclusive, as in SPEC's example), `devices`, `mesh`, `axes`, `shardings`;
- optional per stage `operand_shardings` (`{op: [null | sharding, ...]}`, one entry per operand: the
  layout the op reads that operand in, null where it is the value's own layout in this stage) and
  `partial_sums` (`{op: [axis, ...]}`);
- optional per stage `communication_by_axis` and `pipeline_send_bytes` (predictions, see
  Docs/jax.md) that `shardplan_jax.collectives` compares with what XLA emits.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import PLAN_FORMAT

COLLECTIVE_KEYS: tuple[str, ...] = ("all_reduce_bytes", "all_gather_bytes", "reduce_scatter_bytes",
                                    "all_to_all_bytes", "send_recv_bytes")
PIPELINE_KEYS: tuple[str, ...] = ("activations", "gradients", "tied_parameter_gradients")


class PlanError(ValueError):
    """A plan that is malformed or does not fit its graph; the message names the JSON path."""


Spec = tuple[tuple[str, ...] | None, ...]


@dataclass
class Stage:
    """One pipeline stage of a plan, with its op list expanded."""

    index: int
    ops: list[str]
    devices: list[int]
    mesh: list[int]
    axes: list[str]
    shardings: dict[str, Spec]
    operand_shardings: dict[str, list[Spec | None]] = field(default_factory=dict)
    partial_sums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    communication_by_axis: dict[str, dict[str, float]] | None = None
    pipeline_send_bytes: dict[str, float] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def axis_size(self, axis: str) -> int:
        return self.mesh[self.axes.index(axis)]


@dataclass
class Plan:
    """A checked plan."""

    devices: int
    stages: list[Stage]
    global_batch: int | None
    microbatches: int | None
    raw: dict[str, Any]


def load_plan_json(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The plan document as a dict, from a path (`-`: stdin) or a dict."""
    if isinstance(source, Mapping):
        return dict(source)
    import sys

    try:
        text = sys.stdin.read() if str(source) == "-" else Path(source).read_text()
    except OSError as err:
        raise PlanError(f"cannot read plan {source}: {err.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PlanError(f"{source}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None


def _expand_ops(names: Any, order: list[str], where: str) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PlanError(f"{where}.ops: must be a list of op names")
    position = {n: i for i, n in enumerate(order)}
    out: list[str] = []
    for i, name in enumerate(names):
        if name == "...":
            if i == 0 or i == len(names) - 1 or names[i + 1] == "...":
                raise PlanError(f"{where}.ops[{i}]: '...' needs an op name on both sides")
            lo, hi = position[names[i - 1]], position.get(names[i + 1])
            if hi is None:
                raise PlanError(f"{where}.ops[{i + 1}]: unknown op {names[i + 1]!r}")
            if hi < lo:
                raise PlanError(f"{where}.ops[{i}]: {names[i + 1]!r} comes before {names[i - 1]!r} in the graph")
            out.extend(order[lo + 1: hi])
            continue
        if name not in position:
            raise PlanError(f"{where}.ops[{i}]: unknown op {name!r}")
        out.append(name)
    return out


def _spec(value: Any, axes: list[str], mesh: list[int], shape: list[int], where: str) -> Spec:
    if not isinstance(value, list):
        raise PlanError(f"{where}: a sharding is a list with one entry per dimension, got {value!r}")
    if len(value) != len(shape):
        raise PlanError(f"{where}: {len(value)} entries for a tensor of rank {len(shape)} (shape {shape})")
    used: set[str] = set()
    spec: list[tuple[str, ...] | None] = []
    for d, entry in enumerate(value):
        if entry is None or entry == []:
            spec.append(None)
            continue
        names = [entry] if isinstance(entry, str) else entry
        if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
            raise PlanError(f"{where}[{d}]: expected null or a list of mesh axis names, got {entry!r}")
        for a in names:
            if a not in axes:
                raise PlanError(f"{where}[{d}]: {a!r} is not a mesh axis of this stage (axes {axes})")
            if a in used:
                raise PlanError(f"{where}[{d}]: mesh axis {a!r} is used twice")
            used.add(a)
        parts = math.prod(mesh[axes.index(a)] for a in names)
        if shape[d] % parts:
            raise PlanError(f"{where}[{d}]: dimension {d} of size {shape[d]} does not split into {parts} equal "
                            f"parts (axes {names}); JAX shardings need even splits")
        spec.append(tuple(names))
    return tuple(spec)


def _numbers(table: Any, keys: tuple[str, ...], where: str) -> dict[str, float]:
    if not isinstance(table, Mapping):
        raise PlanError(f"{where}: must be an object")
    out: dict[str, float] = {}
    for key, value in table.items():
        if key not in keys:
            raise PlanError(f"{where}: unknown key {key!r} (known: {', '.join(keys)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise PlanError(f"{where}.{key}: must be a non-negative number of bytes, got {value!r}")
        out[key] = float(value)
    return out


def check_plan(doc: Mapping[str, Any], graph: Mapping[str, Any]) -> Plan:
    """Check `doc` against `graph` and return the expanded plan; raise `PlanError` on the first problem."""
    if doc.get("format") != PLAN_FORMAT:
        raise PlanError(f"format: expected {PLAN_FORMAT!r}, got {doc.get('format')!r}")
    devices = doc.get("devices")
    if not isinstance(devices, int) or devices <= 0:
        raise PlanError(f"devices: must be a positive integer, got {devices!r}")
    order = [op["name"] for op in graph["ops"]]
    shapes = {t["name"]: list(t["shape"]) for t in [*graph.get("inputs", []), *graph.get("parameters", [])]}
    shapes.update({op["name"]: list(op["shape"]) for op in graph["ops"] if "shape" in op})
    stages_doc = doc.get("stages")
    if not isinstance(stages_doc, list) or not stages_doc:
        raise PlanError("stages: must be a non-empty list")
    seen_ops: dict[str, int] = {}
    seen_devices: dict[int, int] = {}
    stages: list[Stage] = []
    for s, raw in enumerate(stages_doc):
        where = f"stages[{s}]"
        if not isinstance(raw, Mapping):
            raise PlanError(f"{where}: must be an object")
        ops = _expand_ops(raw.get("ops"), order, where)
        for name in ops:
            if name in seen_ops:
                raise PlanError(f"{where}.ops: {name!r} is already in stage {seen_ops[name]}")
            seen_ops[name] = s
        devs = raw.get("devices")
        if not isinstance(devs, list) or not devs or not all(isinstance(d, int) for d in devs):
            raise PlanError(f"{where}.devices: must be a non-empty list of device ids")
        for d in devs:
            if not 0 <= d < devices:
                raise PlanError(f"{where}.devices: {d} is outside 0..<{devices}")
            if d in seen_devices:
                raise PlanError(f"{where}.devices: device {d} is already in stage {seen_devices[d]}")
            seen_devices[d] = s
        mesh, axes = raw.get("mesh"), raw.get("axes")
        if not isinstance(mesh, list) or not all(isinstance(m, int) and m > 0 for m in mesh):
            raise PlanError(f"{where}.mesh: must be a list of positive integers")
        if math.prod(mesh) != len(devs):
            raise PlanError(f"{where}.mesh: {mesh} holds {math.prod(mesh)} devices, the stage has {len(devs)}")
        if not isinstance(axes, list) or len(axes) != len(mesh) or len(set(axes)) != len(axes) \
                or not all(isinstance(a, str) and a for a in axes):
            raise PlanError(f"{where}.axes: must be {len(mesh)} distinct names, got {axes!r}")
        shardings: dict[str, Spec] = {}
        for name, value in (raw.get("shardings") or {}).items():
            if name not in shapes:
                raise PlanError(f'{where}.shardings "{name}": no input, parameter or op of that name '
                                f"(or the op states no shape)")
            shardings[name] = _spec(value, axes, mesh, shapes[name], f'{where}.shardings "{name}"')
        operand_shardings: dict[str, list[Spec | None]] = {}
        inputs_of = {op["name"]: op["inputs"] for op in graph["ops"]}
        for name, value in (raw.get("operand_shardings") or {}).items():
            here = f'{where}.operand_shardings "{name}"'
            if name not in ops:
                raise PlanError(f"{here}: not an op of this stage")
            if not isinstance(value, list) or len(value) != len(inputs_of[name]):
                raise PlanError(f"{here}: expected a list with one entry per operand ({len(inputs_of[name])})")
            operand_shardings[name] = [
                None if entry is None else _spec(entry, axes, mesh, shapes[inputs_of[name][k]], f"{here}[{k}]")
                for k, entry in enumerate(value)]
        partial_sums: dict[str, tuple[str, ...]] = {}
        for name, value in (raw.get("partial_sums") or {}).items():
            here = f'{where}.partial_sums "{name}"'
            if name not in ops:
                raise PlanError(f"{here}: not an op of this stage")
            if not isinstance(value, list) or not all(isinstance(a, str) and a in axes for a in value):
                raise PlanError(f"{here}: expected a list of this stage's mesh axes {axes}, got {value!r}")
            partial_sums[name] = tuple(value)
        comm = raw.get("communication_by_axis")
        comm_table = None
        if comm is not None:
            if not isinstance(comm, Mapping):
                raise PlanError(f"{where}.communication_by_axis: must be an object")
            comm_table = {}
            for key, table in comm.items():
                for a in key.split(","):
                    if a not in axes:
                        raise PlanError(f'{where}.communication_by_axis "{key}": {a!r} is not a mesh axis')
                comm_table[key] = _numbers(table, COLLECTIVE_KEYS, f'{where}.communication_by_axis "{key}"')
        pipe = raw.get("pipeline_send_bytes")
        stages.append(Stage(
            index=s, ops=ops, devices=list(devs), mesh=list(mesh), axes=list(axes), shardings=shardings,
            operand_shardings=operand_shardings, partial_sums=partial_sums, communication_by_axis=comm_table,
            pipeline_send_bytes=None if pipe is None else _numbers(pipe, PIPELINE_KEYS, f"{where}.pipeline_send_bytes"),
            raw=dict(raw)))
    missing = [n for n in order if n not in seen_ops]
    if missing:
        raise PlanError(f"stages: {len(missing)} op(s) are in no stage, first {missing[0]!r}")
    producer = {name: seen_ops[name] for name in order}
    for op in graph["ops"]:
        for inp in op["inputs"]:
            if inp in producer and producer[inp] > seen_ops[op["name"]]:
                raise PlanError(f'stages: op "{op["name"]}" in stage {seen_ops[op["name"]]} reads "{inp}" '
                                f"from the later stage {producer[inp]}")
    gb, mb = doc.get("global_batch"), doc.get("microbatches")
    return Plan(devices=devices, stages=stages, global_batch=gb if isinstance(gb, int) else None,
                microbatches=mb if isinstance(mb, int) else None, raw=dict(doc))
