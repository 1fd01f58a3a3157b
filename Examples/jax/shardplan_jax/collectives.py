"""List the collectives in compiled HLO text and total their bytes per mesh axis.

Input: the text of `jax.jit(f).lower(...).compile().as_text()` for a function sharded over one mesh.
Every all-reduce, all-gather, reduce-scatter, all-to-all and collective-permute (and their async
`-start` forms) is listed with its operand and result types, the bytes it moves under the convention
below, and the mesh axes its replica groups span.

Byte convention (the `B` of the alpha-beta formulas in DESIGN.md, per call, summed over calls): the
size of the whole buffer one device holds on the "full" side of the collective:

- all-reduce: its operand (= result) bytes;
- reduce-scatter: its operand bytes (the unscattered buffer);
- all-gather: its result bytes (the gathered buffer);
- all-to-all: its operand bytes;
- collective-permute: its operand bytes (`send_recv_bytes`).

Collectives of independent groups (the 2 data-parallel groups of a tensor-parallel all-reduce, say)
run concurrently and count once. CPU specifics: XLA's CPU backend has no native reduce-scatter, so an
all-reduce whose result is only read through `dynamic-slice`s (directly or inside a fusion) that each keep
at least 1/n of it, n the size of its groups, is counted as a reduce-scatter; one that keeps less is sliced
along mesh axes outside the groups too, and stays an all-reduce followed by a local slice (a tied head's
weight gradient all-reduced over the data axis and sliced to the table's vocabulary shard, Docs/jax.md); all-reduce combining is switched off by `xla_env.NO_COMBINER_FLAG`, and a tuple
all-reduce that still appears is split into one entry per element.

Replica groups come in three printed forms, all handled: explicit `{{0,1},{2,3}}`, iota
`[4,2]<=[2,4]T(1,0)`, and named-mesh `mesh['axis_0'=2,'axis_1'=4] {'axis_0'}` (with optional
`device_ids=(...)` and sub-axes `'a':(1)2`). Group members are partition ids, i.e. positions in the
stage's mesh, row-major.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .plan_io import COLLECTIVE_KEYS

HLO_DTYPE_BYTES: dict[str, float] = {
    "pred": 1, "s4": 0.5, "u4": 0.5, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2, "bf16": 2,
    "s32": 4, "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16,
    "f8e4m3fn": 1, "f8e5m2": 1, "f8e4m3": 1, "f8e4m3fnuz": 1, "f8e5m2fnuz": 1, "f8e4m3b11fnuz": 1,
    "f8e3m4": 1, "f8e8m0fnu": 1, "f4e2m1fn": 0.5,
}

KIND_KEY: dict[str, str] = {
    "all-reduce": "all_reduce_bytes", "all-gather": "all_gather_bytes", "reduce-scatter": "reduce_scatter_bytes",
    "all-to-all": "all_to_all_bytes", "collective-permute": "send_recv_bytes",
}
_OPCODES = {k: k for k in KIND_KEY} | {f"{k}-start": k for k in KIND_KEY}

_TYPE_ELEMENT = re.compile(r"\b([a-z][a-z0-9]*)\[([0-9,]*)\]")
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*")
_COMP_HEADER = re.compile(r"^\s*(?:ENTRY\s+)?%?([\w.\-]+)\s*(?:\(.*\))?\s*->.*\{\s*$")


class HloParseError(ValueError):
    """HLO text this parser does not understand."""


@dataclass
class Instruction:
    """One HLO instruction line, split into its parts."""

    name: str
    type: str
    opcode: str
    operands: list[str]
    args: str               # the raw text between the opcode's parentheses
    attrs: str
    computation: str


@dataclass
class Collective:
    """One collective (one element of a tuple collective) with its bytes and mesh axes."""

    name: str
    kind: str               # all-reduce | all-gather | reduce-scatter | all-to-all | collective-permute
    hlo_opcode: str
    dtype: str
    operand_shape: list[int]
    result_shape: list[int]
    bytes: int
    axes: str               # mesh axes spanned, "x" / "y" / "x,y" (see `axes_label`)
    group_size: int
    op_name: str            # the JAX op it came from (HLO metadata), for reading reports


# ---------------------------------------------------------------------- HLO text
def _matching(text: str, start: int, open_ch: str, close_ch: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_ch:
            depth += 1
        elif text[i] == close_ch:
            depth -= 1
            if depth == 0:
                return i
    raise HloParseError(f"unbalanced {open_ch}{close_ch} in: {text[start:start + 120]}")


def parse_instructions(hlo: str) -> list[Instruction]:
    """Every instruction of every computation in `hlo`."""
    out: list[Instruction] = []
    computation = ""
    for line in hlo.splitlines():
        header = _COMP_HEADER.match(line)
        if header and "=" not in line.split("->")[0].split("(")[0]:
            computation = header.group(1)
            continue
        m = _INSTR.match(line)
        if not m:
            continue
        rest = line[m.end():]
        if rest.startswith("("):
            end = _matching(rest, 0, "(", ")")
            type_str, rest = rest[: end + 1], rest[end + 1:].lstrip()
        else:
            type_str, _, rest = rest.partition(" ")
        paren = rest.find("(")
        if paren < 0:
            continue
        opcode = rest[:paren].strip()
        close = _matching(rest, paren, "(", ")")
        operands = re.findall(r"%([\w.\-]+)", rest[paren + 1: close])
        out.append(Instruction(m.group(1), type_str, opcode, operands, rest[paren + 1: close], rest[close + 1:],
                               computation))
    return out


def type_elements(type_str: str) -> list[tuple[str, list[int]]]:
    """`(f32[4,8]{1,0}, bf16[2])` -> [("f32", [4, 8]), ("bf16", [2])] (tokens and tuples flattened)."""
    return [(dt, [int(d) for d in dims.split(",") if d]) for dt, dims in _TYPE_ELEMENT.findall(type_str)
            if dt in HLO_DTYPE_BYTES]


def element_bytes(dtype: str, shape: Sequence[int]) -> int:
    return int(math.prod(shape) * HLO_DTYPE_BYTES[dtype])


# ---------------------------------------------------------------------- replica groups
def _attr_value(attrs: str, key: str) -> str | None:
    m = re.search(rf"\b{key}=", attrs)
    if not m:
        return None
    start = m.end()
    if attrs.startswith("{", start):
        return attrs[start: _matching(attrs, start, "{", "}") + 1]
    if attrs.startswith("mesh[", start) or attrs.startswith("maximal_mesh[", start):
        brace = attrs.index("{", start)
        return attrs[start: _matching(attrs, brace, "{", "}") + 1]
    end = attrs.find(", ", start)
    return attrs[start:] if end < 0 else attrs[start:end]


def _iota(text: str) -> np.ndarray:
    """`[4,2]<=[2,4]T(1,0)` (reshaped iota) or `[2,4]T(1,0)` (flat transposed iota, in mesh device_ids)."""
    m = re.fullmatch(r"(?:\[([\d,]+)\]<=)?\[([\d,]+)\](?:T\(([\d,]+)\))?", text.strip())
    if not m:
        raise HloParseError(f"cannot read iota device list {text!r}")
    dims = [int(v) for v in m.group(2).split(",")]
    arr = np.arange(math.prod(dims)).reshape(dims)
    if m.group(3):
        arr = arr.transpose([int(v) for v in m.group(3).split(",")])
    out_shape = [int(v) for v in m.group(1).split(",")] if m.group(1) else [-1]
    return arr.reshape(out_shape)


def _mesh_groups(text: str) -> list[list[int]]:
    if text.startswith("maximal_mesh["):
        return [[int(re.search(r"device_id=(\d+)", text).group(1))]]
    m = re.fullmatch(r"mesh\[([^\]]*)\](?:,\s*device_ids=\((.*)\))?\s*\{(.*)\}", text.strip(), re.S)
    if not m:
        raise HloParseError(f"cannot read mesh replica groups {text!r}")
    axes: list[tuple[str, int]] = []
    for part in m.group(1).split(","):
        name, _, size = part.strip().rpartition("=")
        axes.append((name.strip().strip("'\""), int(size)))
    sizes = [s for _, s in axes]
    if m.group(2):
        ids_text = m.group(2).strip()
        device_ids = (_iota(ids_text) if re.fullmatch(r"[\[\]\d,<=T()]+", ids_text) and "[" in ids_text
                      else np.array([int(v) for v in re.findall(r"\d+", ids_text)])).reshape(sizes)
    else:
        device_ids = np.arange(math.prod(sizes)).reshape(sizes)
    refs: list[tuple[int, int | None, int | None]] = []
    names = [n for n, _ in axes]
    for ref in [r.strip() for r in m.group(3).split(",") if r.strip()]:
        rm = re.fullmatch(r"['\"]?([^'\":]+)['\"]?(?::\((\d+)\)(\d+))?", ref)
        if not rm or rm.group(1) not in names:
            raise HloParseError(f"cannot read mesh axis {ref!r} in {text!r}")
        idx = names.index(rm.group(1))
        refs.append((idx, int(rm.group(2)) if rm.group(2) else None, int(rm.group(3)) if rm.group(3) else None))
    # Split each mesh axis into factors at every sub-axis boundary (minor-to-major pre-sizes).
    factor_dims: list[int] = []
    factor_of: list[list[tuple[int, int]]] = []  # per axis: [(lo, hi) boundaries] -> factor index
    cuts_per_axis: list[list[int]] = []
    for a, size in enumerate(sizes):
        cuts = {1, size}
        for idx, pre, sub in refs:
            if idx == a and pre is not None:
                cuts |= {pre, pre * sub}
        cuts_per_axis.append(sorted(cuts))
    index_of: dict[tuple[int, int, int], int] = {}
    for a, cuts in enumerate(cuts_per_axis):
        spans = list(zip(cuts[:-1], cuts[1:]))[::-1]  # major factor first
        factor_of.append(spans)
        for lo, hi in spans:
            index_of[(a, lo, hi)] = len(factor_dims)
            factor_dims.append(hi // lo)
    grouped: list[int] = []
    for idx, pre, sub in refs:
        lo, hi = (1, sizes[idx]) if pre is None else (pre, pre * sub)
        for flo, fhi in factor_of[idx]:
            if lo <= flo and fhi <= hi:
                grouped.append(index_of[(idx, flo, fhi)])
    arr = device_ids.reshape(factor_dims) if factor_dims else device_ids
    others = [d for d in range(len(factor_dims)) if d not in grouped]
    group_size = math.prod(factor_dims[d] for d in grouped) if grouped else 1
    return arr.transpose(others + grouped).reshape(-1, group_size).tolist()


def parse_replica_groups(text: str | None, partitions: int) -> list[list[int]]:
    """Replica groups in any printed form, as lists of partition ids; empty/missing means all."""
    if text is None or text.strip() in ("", "{}"):
        return [list(range(partitions))]
    text = text.strip()
    if text.startswith("{"):
        groups = [[int(v) for v in re.findall(r"\d+", g)] for g in re.findall(r"\{([\d,\s]*)\}", text[1:-1])]
        return [g for g in groups if g] or [list(range(partitions))]
    if text.startswith("["):
        return _iota(text).tolist()
    if text.startswith("mesh[") or text.startswith("maximal_mesh["):
        return _mesh_groups(text)
    raise HloParseError(f"unknown replica_groups form {text!r}")


def axes_label(groups: Iterable[Sequence[int]], mesh_shape: Sequence[int], axis_names: Sequence[str],
               partial: bool = True) -> str:
    """Which mesh axes the groups span: "x", "y", "x,y"; "x(2 of 4)" when a group covers only part of
    an axis (unless `partial` is False, as for the source/target pairs of a collective-permute); "none"
    for single-device groups; "irregular" when groups do not all span the same axes."""
    labels = set()
    for group in groups:
        coords = np.array(np.unravel_index(np.asarray(group), tuple(mesh_shape))).T  # [members, axes]
        varying = [a for a in range(len(mesh_shape)) if len(set(coords[:, a])) > 1]
        if not varying:
            labels.add("none")
            continue
        full = math.prod(mesh_shape[a] for a in varying)
        label = ",".join(axis_names[a] for a in varying)
        if partial and len(group) != full:
            label += f"({len(group)} of {full})"
        labels.add(label)
    return labels.pop() if len(labels) == 1 else "irregular"


def permute_axes_label(pairs: Iterable[Sequence[int]], mesh_shape: Sequence[int], axis_names: Sequence[str]) -> str:
    """The mesh axes a collective-permute's source-target pairs cross, together ("x,y" when some pair
    crosses x and another, or the same, crosses y): a permute that reorders the blocks of a dimension split
    by several axes sends along all of them at once, which is how the plan states it. "none" when every
    pair stays on its device."""
    varying: set[int] = set()
    for pair in pairs:
        coords = np.array(np.unravel_index(np.asarray(pair), tuple(mesh_shape))).T
        varying.update(a for a in range(len(mesh_shape)) if len(set(coords[:, a])) > 1)
    return ",".join(axis_names[a] for a in sorted(varying)) if varying else "none"


# ---------------------------------------------------------------------- collectives
def _feeds_only_dynamic_slice(name: str, comp: str, by_comp: dict[str, list[Instruction]], least: int) -> bool:
    """True when every use of `name` in `comp` is a dynamic-slice of it (through bitcasts and fusions) that
    keeps at least `least` elements."""
    users = [i for i in by_comp.get(comp, []) if name in i.operands]
    if not users:
        return False
    for user in users:
        if user.opcode == "dynamic-slice" and user.operands[0] == name:
            if sum(math.prod(shape) for _, shape in type_elements(user.type)) >= least:
                continue
            return False
        if user.opcode == "bitcast":
            if _feeds_only_dynamic_slice(user.name, comp, by_comp, least):
                continue
            return False
        if user.opcode == "fusion":
            called = re.search(r"calls=%([\w.\-]+)", user.attrs)
            if not called:
                return False
            position = user.operands.index(name)
            params = [i for i in by_comp.get(called.group(1), [])
                      if i.opcode == "parameter" and i.args.strip() == str(position)]
            if len(params) != 1 or not _feeds_only_dynamic_slice(params[0].name, called.group(1), by_comp, least):
                return False
            continue
        return False
    return True


def find_collectives(hlo: str, mesh_shape: Sequence[int], axis_names: Sequence[str]) -> list[Collective]:
    """Every collective in `hlo` (entry and nested computations), in text order."""
    instrs = parse_instructions(hlo)
    by_comp: dict[str, list[Instruction]] = {}
    types: dict[tuple[str, str], str] = {}
    for instr in instrs:
        by_comp.setdefault(instr.computation, []).append(instr)
        types[(instr.computation, instr.name)] = instr.type
    partitions = int(math.prod(mesh_shape))
    out: list[Collective] = []
    for instr in instrs:
        base = _OPCODES.get(instr.opcode)
        if base is None:
            continue
        operand_elems: list[tuple[str, list[int]]] = []
        for operand in instr.operands:
            operand_elems += type_elements(types.get((instr.computation, operand), ""))
        result_elems = type_elements(instr.type)
        if instr.opcode.endswith("-start") and len(result_elems) > len(operand_elems) >= 1:
            result_elems = result_elems[len(operand_elems):]
        if base == "collective-permute":
            pairs = _attr_value(instr.attrs, "source_target_pairs") or "{}"
            groups = [[int(v) for v in re.findall(r"\d+", g)] for g in re.findall(r"\{([\d,\s]*)\}", pairs[1:-1])]
        else:
            groups = parse_replica_groups(_attr_value(instr.attrs, "replica_groups"), partitions)
        if base == "collective-permute":
            label = permute_axes_label(groups, mesh_shape, axis_names)
        else:
            label = axes_label(groups, mesh_shape, axis_names) if groups else "none"
        group_size = max((len(g) for g in groups), default=1)
        meta = re.search(r'op_name="([^"]*)"', instr.attrs)
        kind = base
        # A reduce-scatter leaves each member of a group of n its own 1/n of the buffer (or more, where it
        # scatters along some of the group's axes only); a smaller slice also cuts along axes outside the group.
        scattered = sum(math.prod(shape) for _, shape in result_elems) // group_size
        if (base == "all-reduce" and group_size > 1 and len(result_elems) == 1
                and _feeds_only_dynamic_slice(instr.name, instr.computation, by_comp, scattered)):
            kind = "reduce-scatter"
        if len(operand_elems) != len(result_elems):
            operand_elems = operand_elems[: len(result_elems)] or result_elems
        for k, ((dt, rshape), (_, oshape)) in enumerate(zip(result_elems, operand_elems)):
            if base in ("all-reduce",):
                nbytes = element_bytes(dt, rshape)
            elif base == "all-gather":
                nbytes = element_bytes(dt, rshape)
            else:
                nbytes = element_bytes(dt, oshape)
            name = instr.name if len(result_elems) == 1 else f"{instr.name}[{k}]"
            out.append(Collective(name=name, kind=kind, hlo_opcode=instr.opcode, dtype=dt, operand_shape=oshape,
                                  result_shape=rshape, bytes=nbytes, axes=label, group_size=group_size,
                                  op_name=meta.group(1) if meta else ""))
    return out


def bytes_by_axis(collectives: Iterable[Collective]) -> dict[str, dict[str, int]]:
    """{axes label: {all_reduce_bytes: ..., ...}} with every key of `COLLECTIVE_KEYS` present."""
    table: dict[str, dict[str, int]] = {}
    for c in collectives:
        row = table.setdefault(c.axes, {k: 0 for k in COLLECTIVE_KEYS})
        row[KIND_KEY[c.kind]] += c.bytes
    return {k: table[k] for k in sorted(table)}


# ---------------------------------------------------------------------- comparison
@dataclass
class ComparisonRow:
    """One (axes, kind) line of the predicted-vs-observed table."""

    axes: str
    key: str
    predicted: float | None
    observed: int
    ok: bool

    @property
    def relative_error(self) -> float:
        if self.predicted is None:
            return math.inf if self.observed else 0.0
        if self.predicted == 0:
            return 0.0 if self.observed == 0 else math.inf
        return abs(self.observed - self.predicted) / self.predicted


def compare(predicted: Mapping[str, Mapping[str, float]], observed: Mapping[str, Mapping[str, int]],
            rtol: float) -> list[ComparisonRow]:
    """Rows for every (axes, kind) with a prediction or an observation; a missing prediction counts
    as 0. A row is ok when |observed - predicted| <= rtol * predicted (both 0 is ok)."""
    rows = []
    for axes in sorted(set(predicted) | set(observed)):
        for key in COLLECTIVE_KEYS:
            pred = predicted.get(axes, {}).get(key)
            obs = observed.get(axes, {}).get(key, 0)
            if (pred or 0) == 0 and obs == 0:
                continue
            p = 0.0 if pred is None else float(pred)
            ok = abs(obs - p) <= rtol * p if p > 0 else obs == 0
            rows.append(ComparisonRow(axes, key, pred, obs, ok))
    return rows


def format_collectives(collectives: Sequence[Collective]) -> str:
    """A fixed-width listing of the collectives, one per line."""
    lines = [f"  {'kind':<18} {'axes':<12} {'dtype':<5} {'operand':<18} {'result':<18} {'bytes':>10}  jax op"]
    for c in collectives:
        lines.append(f"  {c.kind:<18} {c.axes:<12} {c.dtype:<5} {str(c.operand_shape):<18} "
                     f"{str(c.result_shape):<18} {c.bytes:>10}  {c.op_name[-60:]}")
    return "\n".join(lines)


def format_comparison(rows: Sequence[ComparisonRow], rtol: float) -> str:
    """The predicted-vs-observed table."""
    lines = [f"  {'axes':<12} {'collective':<22} {'predicted':>12} {'observed':>12} {'rel.err':>8}  (rtol {rtol:g})"]
    for r in rows:
        pred = "-" if r.predicted is None else f"{r.predicted:.0f}"
        err = "inf" if math.isinf(r.relative_error) else f"{r.relative_error:.3f}"
        lines.append(f"  {r.axes:<12} {r.key:<22} {pred:>12} {r.observed:>12} {err:>8}  "
                     f"{'ok' if r.ok else 'MISMATCH'}")
    return "\n".join(lines)


def summarize(collectives: Sequence[Collective]) -> dict[str, Any]:
    """Counts per kind and axes (for reports)."""
    counts: dict[str, int] = {}
    for c in collectives:
        key = f"{c.kind}@{c.axes}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
