"""Export a JAX function as a `shardplan.graph/1` graph (SPEC section 1).

`export_graph(fn, params, inputs)` traces `fn(params, inputs)` with `jax.make_jaxpr`, inlines nested
calls (`jit`/`pjit`, `closed_call`, `remat`/`checkpoint`, `custom_jvp_call`, `custom_vjp_call`: the
primal function), maps every primitive onto the SPEC op catalog, drops what does not reach the
outputs, and names tensors after the `jax.named_scope` they were built in. The functions in
`shardplan_jax.nn` (and `jax.nn.relu`, `jax.nn.silu`, `jax.nn.log_softmax`, recognised by their bodies,
not their names alone) export as one catalog op each. `jax.ad_checkpoint.checkpoint_name(x, "qkv")` names a
tensor (`h0.attn.qkv` inside scope `h0/attn`). A primitive with no catalog equivalent raises `ExportError` naming it, unless its value
is dead.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
from jax.extend import core as jcore

from . import GRAPH_FORMAT
from .dtypes import DtypeError, spec_dtype
from .nn import parse_composite_name

#: Largest non-uniform constant written inline (`values`); larger ones must be parameters.
MAX_INLINE_CONSTANT = 1 << 16

UNARY_PRIMITIVES: dict[str, str] = {
    "exp": "exp", "log": "log", "tanh": "tanh", "logistic": "sigmoid", "rsqrt": "rsqrt",
    "sqrt": "sqrt", "neg": "neg", "abs": "abs", "erf": "erf", "square": "square",
    "stop_gradient": "stop_gradient",
}
BINARY_PRIMITIVES: dict[str, str] = {
    "add": "add", "add_any": "add", "sub": "sub", "mul": "mul", "div": "div", "max": "max",
    "min": "min", "pow": "pow", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge",
}
LOGICAL_PRIMITIVES: dict[str, str] = {"and": "and", "or": "or"}
REDUCE_PRIMITIVES: dict[str, str] = {"reduce_sum": "sum", "reduce_max": "max", "reduce_min": "min"}
#: Primitives whose output is their (first) input.
#: Primitives folded when every operand is a constant and the result an integer or boolean scalar (index
#: arithmetic).
SCALAR_INDEX_PRIMITIVES: frozenset[str] = frozenset({"add", "sub", "mul", "neg", "max", "min", "clamp", "lt", "le",
                                                     "gt", "ge", "eq", "ne", "select_n", "and", "or", "not"})
ALIAS_PRIMITIVES: frozenset[str] = frozenset({"copy", "copy_p", "sharding_constraint", "reduce_precision",
                                               "optimization_barrier", "mesh_cast", "reshard"})
#: Call-like primitives that are inlined, and the parameter holding their body.
CALL_PRIMITIVES: dict[str, tuple[str, ...]] = {
    "jit": ("jaxpr",), "pjit": ("jaxpr",), "closed_call": ("call_jaxpr",), "core_call": ("call_jaxpr",),
    "remat": ("jaxpr",), "remat2": ("jaxpr",), "checkpoint": ("jaxpr",),
    "custom_jvp_call": ("call_jaxpr",), "custom_vjp_call": ("call_jaxpr", "fun_jaxpr"),
    "custom_vjp_call_jaxpr": ("fun_jaxpr", "call_jaxpr"),
}
#: `jax.nn` functions that are one catalog op, by the name of the call (`jit` or `custom_jvp_call`) that wraps
#: their body: the catalog op and the `jax.nn` function. A call of that name is that op only when its body is the
#: one the `jax.nn` function traces to for the same argument (a user's own `@jax.jit def relu` is inlined).
JAX_NN_CALLS: dict[str, tuple[str, Callable[..., Any]]] = {
    "relu": ("relu", jax.nn.relu), "silu": ("silu", jax.nn.silu), "swish": ("silu", jax.nn.silu),
    "log_softmax": ("log_softmax", jax.nn.log_softmax), "_softmax": ("softmax", jax.nn.softmax),
}
#: The ones among them that take an `axis`.
JAX_NN_AXIS_OPS: frozenset[str] = frozenset({"softmax", "log_softmax"})

#: Why a `jax.random` primitive (`random_wrap`, `random_bits`, `threefry2x32`, ...) cannot be exported.
RANDOM_BITS = ("random bits (jax.random, e.g. shardplan_jax.nn.dropout with a key) are not a graph op; "
               "shardplan_jax.nn.dropout without a key exports as dropout")

_SCOPE_COMPONENT = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")


class ExportError(ValueError):
    """A function that cannot be written as `shardplan.graph/1`; the message names the primitive."""


@dataclass
class _Node:
    """One tensor of the graph under construction."""

    kind: str  # "input" | "param" | "op" | "unsupported"
    shape: tuple[int, ...]
    dtype: str
    op: str = ""
    inputs: list[int] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    scope: tuple[str, ...] = ()
    name: str | None = None  # fixed name: inputs, parameters, checkpoint_name, outputs
    error: str = ""
    const: np.ndarray | None = None  # value of a constant node


@dataclass(frozen=True)
class _Captured:
    """An array a jaxpr captured (`ClosedJaxpr.consts`: a NumPy table the model closed over), written as a
    `constant` op in the scope of each equation that reads it: constants are shared within one scope only, so that
    pipeline stages never pass one to each other."""

    value: Any


def _is_random(primitive: str) -> bool:
    """Whether a primitive makes or uses `jax.random` keys or bits."""
    return primitive.startswith(("random_", "threefry"))


def _is_key(value: Any) -> bool:
    """Whether an array is a typed `jax.random` key (`jax.random.key(0)`)."""
    dtype = getattr(value, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _keystr(path: Sequence[Any]) -> str:
    parts = []
    for key in path:
        for attr in ("key", "idx", "name"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return ".".join(parts)


def _scope_of(eqn: Any, outer: tuple[str, ...]) -> tuple[str, ...]:
    comps = list(outer)
    for entry in getattr(eqn.source_info.name_stack, "stack", ()):
        name = getattr(entry, "name", None)
        if isinstance(name, str) and _SCOPE_COMPONENT.fullmatch(name) and not name.startswith("_"):
            comps.append(name)
    return tuple(comps)


class _Exporter:
    """Builds the node list from a jaxpr."""

    def __init__(self) -> None:
        self.nodes: list[_Node] = []
        self._consts: dict[tuple[tuple[str, ...], str, tuple[int, ...], bytes], int] = {}

    # ------------------------------------------------------------------ node creation
    def add(self, node: _Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def emit(self, op: str, inputs: Sequence[int], aval: Any, scope: tuple[str, ...], **attrs: Any) -> int:
        return self.add(_Node("op", tuple(int(d) for d in aval.shape), self._dtype(aval.dtype, op),
                              op=op, inputs=list(inputs), attrs=attrs, scope=scope))

    def emit_like(self, op: str, inputs: Sequence[int], like: int, scope: tuple[str, ...], **attrs: Any) -> int:
        ref = self.nodes[like]
        return self.add(_Node("op", ref.shape, ref.dtype, op=op, inputs=list(inputs), attrs=attrs, scope=scope))

    def emit_shaped(self, op: str, inputs: Sequence[int], out_shape: Sequence[int], dtype: str,
                    scope: tuple[str, ...], **attrs: Any) -> int:
        return self.add(_Node("op", tuple(int(d) for d in out_shape), dtype, op=op, inputs=list(inputs),
                              attrs=attrs, scope=scope))

    @staticmethod
    def _dtype(dtype: Any, where: str) -> str:
        try:
            return spec_dtype(dtype)
        except DtypeError as err:
            raise ExportError(f"{where}: {err}") from None

    def constant(self, value: Any, dtype: Any = None, scope: tuple[str, ...] = ()) -> int:
        """A constant node; equal constants are shared within one scope (never across scopes, so that
        pipeline stages do not pass constants to each other)."""
        arr = np.asarray(value, dtype=dtype)
        sdtype = self._dtype(arr.dtype, "constant")
        key = (scope, sdtype, tuple(arr.shape), arr.tobytes())
        if key in self._consts:
            return self._consts[key]
        flat = arr.reshape(-1)
        attrs: dict[str, Any] = {"shape": [int(d) for d in arr.shape]}
        if flat.size and np.all(flat == flat[0]):
            attrs["value"] = _json_scalar(flat[0])
        elif flat.size > MAX_INLINE_CONSTANT:
            raise ExportError(f"a constant of shape {list(arr.shape)} ({flat.size} elements) is too large to "
                              f"inline (limit {MAX_INLINE_CONSTANT}); pass it as a parameter or input instead")
        else:
            attrs["values"] = [_json_scalar(v) for v in flat]
        node = _Node("op", tuple(arr.shape), sdtype, op="constant", attrs=attrs, const=arr, scope=scope)
        index = self.add(node)
        self._consts[key] = index
        return index

    def unsupported(self, eqn: Any, scope: tuple[str, ...], why: str, inputs: Sequence[int] = ()) -> list[int]:
        """Placeholders for the results of an equation that cannot be exported; `export_graph` raises `why` if one
        is live. `inputs` keeps earlier placeholders live with it, so that the first one names the cause."""
        outs = []
        for var in eqn.outvars:
            aval = var.aval
            try:
                dtype = spec_dtype(aval.dtype)
            except DtypeError:
                dtype = "f32"
            outs.append(self.add(_Node("unsupported", tuple(getattr(aval, "shape", ())), dtype,
                                       op=eqn.primitive.name, inputs=list(inputs), scope=scope, error=why)))
        return outs

    def random_inputs(self, env: dict[Any, int | _Captured], eqn: Any) -> list[int] | None:
        """For a `jax.random` primitive, or an equation that reads what one made (a call of `_bernoulli` on a key,
        a `select_n` on its mask), the random placeholders it reads; None for any other equation."""
        read = [env[v] for v in eqn.invars if not isinstance(v, jcore.Literal)]
        random = [n for n in read if isinstance(n, int) and self.nodes[n].kind == "unsupported"
                  and self.nodes[n].error == RANDOM_BITS]
        captured_key = any(isinstance(c, _Captured) and _is_key(c.value) for c in read)
        return random if random or captured_key or _is_random(eqn.primitive.name) else None

    # ------------------------------------------------------------------ jaxpr walking
    def read(self, env: dict[Any, int | _Captured], atom: Any, scope: tuple[str, ...] = ()) -> int:
        """The node of `atom` as the equation in `scope` reads it (a literal or captured array: a constant of that
        scope)."""
        if isinstance(atom, jcore.Literal):
            return self.constant(atom.val, atom.aval.dtype, scope)
        value = env[atom]
        if isinstance(value, _Captured):
            return self.constant(value.value, None, scope)
        return value

    def run_jaxpr(self, jaxpr: Any, consts: Sequence[int | _Captured], args: Sequence[int],
                  outer: tuple[str, ...]) -> list[int]:
        env: dict[Any, int | _Captured] = {}
        for var, node in zip(jaxpr.constvars, consts):
            env[var] = node
        if len(jaxpr.invars) != len(args):
            raise ExportError(f"internal: jaxpr takes {len(jaxpr.invars)} arguments, got {len(args)}")
        for var, node in zip(jaxpr.invars, args):
            env[var] = node
        for eqn in jaxpr.eqns:
            scope = _scope_of(eqn, outer)
            random = self.random_inputs(env, eqn)
            if random is not None:
                # Keys and random bits (uint32) have no graph dtype: neither they nor their literals are read.
                outs = self.unsupported(eqn, scope, RANDOM_BITS, random)
            else:
                outs = self.convert(eqn, [self.read(env, v, scope) for v in eqn.invars], scope)
            for var, node in zip(eqn.outvars, outs):
                if not isinstance(var, jcore.DropVar):
                    env[var] = node
        return [self.read(env, v, outer) for v in jaxpr.outvars]

    def inline(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> list[int]:
        name = eqn.primitive.name
        body = None
        for key in CALL_PRIMITIVES[name]:
            if key in eqn.params:
                body = eqn.params[key]
                break
        if body is None:
            raise ExportError(f"internal: call primitive {name} has none of the parameters {CALL_PRIMITIVES[name]}")
        inner_scope = scope
        jit_name = eqn.params.get("name")
        if name in ("jit", "pjit") and isinstance(jit_name, str) and _SCOPE_COMPONENT.fullmatch(jit_name) \
                and not jit_name.startswith("_"):
            inner_scope = scope + (jit_name,)
        if isinstance(body, jcore.ClosedJaxpr):
            return self.run_jaxpr(body.jaxpr, [_Captured(c) for c in body.consts], ins, inner_scope)
        return self.run_jaxpr(body, [], ins, inner_scope)

    # ------------------------------------------------------------------ primitive mapping
    def convert(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> list[int]:
        prim = eqn.primitive.name
        params = eqn.params
        outs = eqn.outvars
        aval = outs[0].aval if outs else None

        if prim in ("jit", "pjit", "custom_jvp_call"):
            recognised = self.recognise_jit(eqn, ins, scope) if prim != "custom_jvp_call" \
                else self.recognise_jax_nn(eqn, ins, scope)
            if recognised is not None:
                return recognised
        if prim in CALL_PRIMITIVES:
            return self.inline(eqn, ins, scope)
        if prim in ALIAS_PRIMITIVES:
            return ins[: len(outs)]
        if prim == "name":
            node = self.nodes[ins[0]]
            label = ".".join([*scope, str(params["name"])])
            if node.kind == "op" and node.name is None and node.op != "constant":
                node.name = label
                return [ins[0]]
            named = self.emit_like("identity", [ins[0]], ins[0], scope)
            self.nodes[named].name = label
            return [named]
        if prim == "dot_general":
            # jnp.matmul of f16 by f32 (or preferred_element_type) passes mixed operands to dot_general; the
            # catalog's einsum reads one dtype, its result's.
            out = self._dtype(aval.dtype, prim)
            ins = [i if self.nodes[i].dtype == out else self.add(_Node(
                "op", self.nodes[i].shape, out, op="cast", inputs=[i], attrs={"dtype": out}, scope=scope)) for i in ins]
            return [self.emit("einsum", ins, aval, scope, equation=_dot_general_equation(eqn))]
        if prim in UNARY_PRIMITIVES:
            return [self.emit(UNARY_PRIMITIVES[prim], ins, aval, scope)]
        if prim in SCALAR_INDEX_PRIMITIVES and len(outs) == 1 and aval.shape == () \
                and (np.issubdtype(aval.dtype, np.integer) or aval.dtype == np.bool_) \
                and all(self.nodes[i].const is not None for i in ins):
            # Index arithmetic on literals (`lax.dynamic_index_in_dim` wraps a negative index with lt, add and
            # select_n inside its call): folded, so that the start of a dynamic slice stays a constant.
            folded = eqn.primitive.bind(*(self.nodes[i].const for i in ins), **params)
            return [self.constant(np.asarray(folded), None, scope)]
        if prim == "mul":
            scaled = self.try_scale(eqn, ins, scope)
            if scaled is not None:
                return [scaled]
        if prim in BINARY_PRIMITIVES:
            return [self.emit(BINARY_PRIMITIVES[prim], ins, aval, scope)]
        if prim in LOGICAL_PRIMITIVES or prim == "not":
            if any(self.nodes[i].dtype != "bool" for i in ins):
                return self.unsupported(eqn, scope, f"bitwise {prim} on integers has no catalog op")
            if prim == "not":
                false = self.constant(False, None, scope)
                return [self.emit("eq", [ins[0], false], aval, scope)]
            return [self.emit(LOGICAL_PRIMITIVES[prim], ins, aval, scope)]
        if prim == "integer_pow":
            y = int(params["y"])
            if y == 1:
                return [ins[0]]
            if y == 2:
                return [self.emit("square", ins, aval, scope)]
            exponent = self.constant(y, np.dtype(aval.dtype), scope)
            return [self.emit("pow", [ins[0], exponent], aval, scope)]
        if prim in REDUCE_PRIMITIVES:
            return [self.emit("reduce", ins, aval, scope, kind=REDUCE_PRIMITIVES[prim],
                              axes=[int(a) for a in params["axes"]])]
        if prim == "convert_element_type":
            src = self.nodes[ins[0]]
            target = self._dtype(params["new_dtype"], "convert_element_type")
            if src.dtype == target:
                return [ins[0]]
            if src.const is not None:
                return [self.constant(src.const.astype(params["new_dtype"]), None, scope)]
            return [self.emit("cast", ins, aval, scope, dtype=target)]
        if prim == "broadcast_in_dim":
            shape = [int(d) for d in params["shape"]]
            dims = [int(d) for d in params["broadcast_dimensions"]]
            src = self.nodes[ins[0]]
            if list(src.shape) == shape and dims == list(range(len(shape))):
                return [ins[0]]
            if src.const is not None and src.const.size == 1 and "value" in src.attrs:
                return [self.constant(np.broadcast_to(src.const.reshape(()), shape), None, scope)]
            return [self.emit("broadcast", ins, aval, scope, shape=shape, dims=dims)]
        if prim in ("reshape", "squeeze", "expand_dims"):
            if prim == "reshape" and params.get("dimensions") not in (None, ()):
                return self.unsupported(eqn, scope, "reshape with a dimension permutation")
            shape = [int(d) for d in aval.shape]
            if list(self.nodes[ins[0]].shape) == shape:
                return [ins[0]]
            return [self.emit("reshape", ins, aval, scope, shape=shape)]
        if prim == "transpose":
            perm = [int(p) for p in params["permutation"]]
            if perm == list(range(len(perm))):
                return [ins[0]]
            return [self.emit("transpose", ins, aval, scope, perm=perm)]
        if prim == "select_n":
            if len(ins) != 3 or self.nodes[ins[0]].dtype != "bool":
                return self.unsupported(eqn, scope, "select_n with a non-boolean predicate or more than two cases")
            return [self.emit("where", [ins[0], ins[2], ins[1]], aval, scope)]
        if prim == "concatenate":
            return [self.emit("concat", ins, aval, scope, axis=int(params["dimension"]))]
        if prim == "stack":
            # jnp.stack (a primitive of its own since JAX 0.9): each part gains the new axis, then one concat.
            axis = int(params["axis"])
            parts = []
            for part in ins:
                shape = list(self.nodes[part].shape)
                shape.insert(axis, 1)
                parts.append(self.emit_shaped("reshape", [part], shape, self.nodes[part].dtype, scope, shape=shape))
            return [self.emit("concat", parts, aval, scope, axis=axis)]
        if prim == "slice":
            return [self.convert_slice(eqn, ins, scope)]
        if prim in ("dynamic_slice", "dynamic_update_slice"):
            starts = self.constant_starts(eqn, ins[1:] if prim == "dynamic_slice" else ins[2:])
            if starts is None:
                return self.unsupported(eqn, scope, "start indices computed at run time; only indices that are "
                                                    "constants after tracing have a catalog form (slice, concat)")
            if prim == "dynamic_slice":
                return [self.slice_box(ins[0], starts, [int(d) for d in params["slice_sizes"]], scope)]
            return [self.update_box(ins[0], ins[1], starts, 0, scope)]
        if prim == "iota":
            return [self.emit("iota", [], aval, scope, shape=[int(d) for d in params["shape"]],
                              dim=int(params["dimension"]))]
        if prim == "clamp":
            lo, x, hi = ins
            low = self.emit("max", [x, lo], aval, scope)
            return [self.emit("min", [low, hi], aval, scope)]
        if prim == "is_finite":
            src = self.nodes[ins[0]]
            absx = self.emit_like("abs", ins, ins[0], scope)
            inf = self.constant(np.inf, np.dtype(eqn.invars[0].aval.dtype), scope)
            return [self.emit_shaped("lt", [absx, inf], src.shape, "bool", scope)]
        if prim == "log1p":
            one = self.constant(1, np.dtype(aval.dtype), scope)
            return [self.emit("log", [self.emit("add", [ins[0], one], aval, scope)], aval, scope)]
        if prim == "expm1":
            one = self.constant(1, np.dtype(aval.dtype), scope)
            return [self.emit("sub", [self.emit("exp", ins, aval, scope), one], aval, scope)]
        if prim == "gather":
            embedded = self.try_embedding(eqn, ins, scope)
            if embedded is not None:
                return [embedded]
            return self.unsupported(eqn, scope, "gather other than a row lookup table[ids] "
                                                "(use shardplan_jax.nn.embedding)")
        return self.unsupported(eqn, scope, "no catalog op for it")

    def recognise_jit(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> list[int] | None:
        """A `shardplan_jax.nn` composite (the jit's name says the op) or a `jax.nn` function as one catalog op;
        None when the call is neither (it is inlined)."""
        name = eqn.params.get("name", "")
        outs = eqn.outvars
        composite = parse_composite_name(name) if isinstance(name, str) else None
        if composite is not None:
            op, attrs = composite
            if len(outs) != 1:
                raise ExportError(f"composite {name} must have one output, has {len(outs)}")
            return [self.emit(op, ins, outs[0].aval, scope, **attrs)]
        return self.recognise_jax_nn(eqn, ins, scope)

    def recognise_jax_nn(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> list[int] | None:
        """A call named like a `jax.nn` function of `JAX_NN_CALLS` whose body is that function's body for the same
        argument (and axis) as its catalog op; None otherwise, so that a user's own `relu` is inlined as written."""
        name = _call_name(eqn)
        if name not in JAX_NN_CALLS or not ins or len(eqn.outvars) != 1:
            return None
        mine = _call_fingerprint(eqn)
        if mine is None:
            return None
        aval = eqn.invars[0].aval
        op = JAX_NN_CALLS[name][0]
        references = _jax_nn_fingerprints(name, eqn.primitive.name, tuple(int(d) for d in aval.shape),
                                          np.dtype(aval.dtype), bool(getattr(aval, "weak_type", False)))
        for axis, reference in references.items():
            if reference == mine:
                attrs = {} if axis is None else {"axis": axis}
                return [self.emit(op, ins[:1], eqn.outvars[0].aval, scope, **attrs)]
        return None

    def try_scale(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> int | None:
        """`mul` by a scalar literal on a floating tensor becomes `scale` with `factor`."""
        a, b = eqn.invars
        for lit, other, node in ((a, b, ins[1]), (b, a, ins[0])):
            if isinstance(lit, jcore.Literal) and not isinstance(other, jcore.Literal) and np.ndim(lit.val) == 0 \
                    and np.issubdtype(np.dtype(lit.aval.dtype), np.floating) \
                    and tuple(self.nodes[node].shape) == tuple(eqn.outvars[0].aval.shape):
                factor = float(np.asarray(lit.val))
                if math.isfinite(factor):
                    return self.emit("scale", [node], eqn.outvars[0].aval, scope, factor=factor)
        return None

    def convert_slice(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> int:
        params = eqn.params
        strides = params.get("strides")
        if strides is not None and any(int(s) != 1 for s in strides):
            raise_later = self.unsupported(eqn, scope, f"strided slice (strides {list(strides)})")
            return raise_later[0]
        current = ins[0]
        shape = list(self.nodes[current].shape)
        for axis, (start, limit) in enumerate(zip(params["start_indices"], params["limit_indices"])):
            start, limit = int(start), int(limit)
            if start == 0 and limit == shape[axis]:
                continue
            shape[axis] = limit - start
            current = self.emit_shaped("slice", [current], shape, self.nodes[current].dtype, scope,
                                       axis=axis, start=start, end=limit)
        return current

    def constant_starts(self, eqn: Any, starts: Sequence[int]) -> list[int] | None:
        """The start indices of a dynamic slice or update when all are constants, clamped as XLA clamps them
        (so that the box fits in the operand); None when any is computed at run time."""
        if any(self.nodes[i].const is None for i in starts):
            return None
        operand = eqn.invars[0].aval.shape
        box = eqn.params["slice_sizes"] if eqn.primitive.name == "dynamic_slice" else eqn.invars[1].aval.shape
        return [min(max(int(self.nodes[i].const), 0), int(size) - int(extent))
                for i, size, extent in zip(starts, operand, box)]

    def slice_box(self, x: int, starts: Sequence[int], sizes: Sequence[int], scope: tuple[str, ...]) -> int:
        """`x[starts : starts + sizes]`: one `slice` per axis that is cut."""
        for axis, (start, size) in enumerate(zip(starts, sizes)):
            x = self.slice_axis(x, axis, start, start + size, scope)
        return x

    def slice_axis(self, x: int, axis: int, start: int, end: int, scope: tuple[str, ...]) -> int:
        shape = list(self.nodes[x].shape)
        if start == 0 and end == shape[axis]:
            return x
        shape[axis] = end - start
        return self.emit_shaped("slice", [x], shape, self.nodes[x].dtype, scope, axis=axis, start=start, end=end)

    def update_box(self, x: int, update: int, starts: Sequence[int], axis: int, scope: tuple[str, ...]) -> int:
        """`x` with `update` written at `starts`, from `axis` on: along each axis the update does not cover,
        the part of `x` before it, the updated middle (the same on the next axes), and the part after it,
        concatenated."""
        shape = self.nodes[x].shape
        if axis == len(shape):
            return update
        start, end = starts[axis], starts[axis] + self.nodes[update].shape[axis]
        middle = self.update_box(self.slice_axis(x, axis, start, end, scope), update, starts, axis + 1, scope)
        if start == 0 and end == shape[axis]:
            return middle
        parts = [self.slice_axis(x, axis, 0, start, scope)] if start > 0 else []
        parts.append(middle)
        if end < shape[axis]:
            parts.append(self.slice_axis(x, axis, end, shape[axis], scope))
        return self.emit_shaped("concat", parts, shape, self.nodes[x].dtype, scope, axis=axis)

    def try_embedding(self, eqn: Any, ins: list[int], scope: tuple[str, ...]) -> int | None:
        """`table[ids]` as jnp indexing writes it: gather of whole rows of a rank-2 table."""
        dn = eqn.params["dimension_numbers"]
        operand, indices = eqn.invars
        if len(operand.aval.shape) != 2 or indices.aval.shape[-1:] != (1,):
            return None
        out_rank = len(eqn.outvars[0].aval.shape)
        if tuple(dn.offset_dims) != (out_rank - 1,) or tuple(dn.collapsed_slice_dims) != (0,) \
                or tuple(dn.start_index_map) != (0,) or tuple(getattr(dn, "operand_batching_dims", ())) \
                or tuple(eqn.params["slice_sizes"]) != (1, operand.aval.shape[1]):
            return None
        ids_shape = tuple(int(d) for d in indices.aval.shape[:-1])
        ids = self.emit_shaped("reshape", [ins[1]], ids_shape, self.nodes[ins[1]].dtype, scope,
                               shape=list(ids_shape))
        return self.emit("embedding", [ids, ins[0]], eqn.outvars[0].aval, scope)


def _call_body(eqn: Any) -> Any:
    """The body of a call-like equation (a `ClosedJaxpr` or `Jaxpr`); None when it has none."""
    for key in CALL_PRIMITIVES.get(eqn.primitive.name, ()):
        if key in eqn.params:
            return eqn.params[key]
    return None


def _call_name(eqn: Any) -> str | None:
    """A call's name: a jit's `name`, else the name of the function its body traced (`custom_jvp_call`)."""
    name = eqn.params.get("name")
    if isinstance(name, str):
        return name
    body = _call_body(eqn)
    jaxpr = body.jaxpr if isinstance(body, jcore.ClosedJaxpr) else body
    name = getattr(getattr(jaxpr, "debug_info", None), "func_name", None)
    return name if isinstance(name, str) else None


def _call_fingerprint(eqn: Any) -> tuple[str, tuple[str, ...]] | None:
    """What a call computes, for comparing it with a `jax.nn` function's call: its body as JAX prints it (variables
    named afresh from `a`, with every primitive's parameters and literals) and its literal arguments after the
    first. None when the body holds constants or a later argument is not a literal (no `jax.nn` body does)."""
    body = _call_body(eqn)
    if body is None:
        return None
    if isinstance(body, jcore.ClosedJaxpr):
        if body.consts:
            return None
        body = body.jaxpr
    rest = eqn.invars[1:]
    if not all(isinstance(v, jcore.Literal) for v in rest):
        return None
    return str(body), tuple(str(v) for v in rest)


def _find_call(jaxpr: Any, primitive: str, name: str) -> Any:
    """The first equation (depth first, through call bodies) that is a `primitive` call named `name`."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == primitive and _call_name(eqn) == name:
            return eqn
        body = _call_body(eqn)
        if body is not None:
            found = _find_call(body.jaxpr if isinstance(body, jcore.ClosedJaxpr) else body, primitive, name)
            if found is not None:
                return found
    return None


@functools.lru_cache(maxsize=None)
def _jax_nn_fingerprints(name: str, primitive: str, shape: tuple[int, ...], dtype: np.dtype,
                         weak_type: bool) -> dict[int | None, tuple[str, tuple[str, ...]]]:
    """The fingerprint of the call named `name` in the `jax.nn` function of `JAX_NN_CALLS[name]` traced for one
    argument of this type, by axis (every axis of the argument for an op with an axis, else None)."""
    op, fn = JAX_NN_CALLS[name]
    arg = jax.ShapeDtypeStruct(shape, dtype, weak_type=weak_type)
    axes: list[int | None] = list(range(len(shape))) if op in JAX_NN_AXIS_OPS else [None]
    found: dict[int | None, tuple[str, tuple[str, ...]]] = {}
    for axis in axes:
        traced = jax.make_jaxpr(fn if axis is None else functools.partial(fn, axis=axis))(arg)
        eqn = _find_call(traced.jaxpr, primitive, name)
        fingerprint = None if eqn is None else _call_fingerprint(eqn)
        if fingerprint is not None:
            found[axis] = fingerprint
    return found


#: JSON has no infinity; every catalog float dtype (f32 and narrower) rounds +-1e308 to +-inf.
JSON_INFINITY = 1e308


def _json_scalar(value: Any) -> Any:
    """A constant element as a JSON number: booleans as 0/1, infinities as +-1e308, NaN as "nan"."""
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, (np.integer, int)):
        return int(value)
    f = float(value)
    if math.isinf(f):
        return JSON_INFINITY if f > 0 else -JSON_INFINITY
    if math.isnan(f):
        return "nan"
    return f


def _dot_general_equation(eqn: Any) -> str:
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs_rank = len(eqn.invars[0].aval.shape)
    rhs_rank = len(eqn.invars[1].aval.shape)
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    lhs = [next(letters) for _ in range(lhs_rank)]
    rhs: list[str | None] = [None] * rhs_rank
    for li, ri in zip(lb, rb):
        rhs[ri] = lhs[li]
    for li, ri in zip(lc, rc):
        rhs[ri] = lhs[li]
    rhs = [r if r is not None else next(letters) for r in rhs]
    out = [lhs[i] for i in lb]
    out += [lhs[i] for i in range(lhs_rank) if i not in lb and i not in lc]
    out += [rhs[i] for i in range(rhs_rank) if i not in rb and i not in rc]
    return f"{''.join(lhs)},{''.join(rhs)}->{''.join(out)}"


def export_graph(
    fn: Callable[[Any, Any], Any],
    params: Any,
    inputs: Any,
    *,
    name: str = "model",
    batch_dims: int | Mapping[str, int] = 0,
    output_names: Sequence[str] | None = None,
    layer_depth: int = 1,
) -> dict[str, Any]:
    """Trace `fn(params, inputs)` and return its `shardplan.graph/1` document as a dict.

    `params` and `inputs` are pytrees of arrays or `jax.ShapeDtypeStruct`; their leaves become the
    graph's `parameters` and `inputs`, named by their pytree paths (`h0.attn.wqkv`). `batch_dims` gives
    each input's batch dimension (one int for all, or a mapping by input name). `output_names` names the
    flattened outputs (default `output`, or `output0`, `output1`, ...). `layer_depth` is how many
    `jax.named_scope` levels make the `layer` hint (1: `h0/attn/...` -> layer `h0`).
    """
    param_leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    input_leaves, _ = jax.tree_util.tree_flatten_with_path(inputs)
    closed = jax.make_jaxpr(fn)(params, inputs)

    ex = _Exporter()
    graph_inputs: list[dict[str, Any]] = []
    graph_params: list[dict[str, Any]] = []
    arg_nodes: list[int] = []
    for leaves, kind, default in ((param_leaves, "param", "param"), (input_leaves, "input", "input")):
        for path, leaf in leaves:
            leaf_name = _keystr(path) or default
            shape = tuple(int(d) for d in np.shape(leaf))
            dtype = ex._dtype(leaf.dtype, f"{kind} {leaf_name}")
            arg_nodes.append(ex.add(_Node(kind, shape, dtype, name=leaf_name)))
            entry: dict[str, Any] = {"name": leaf_name, "shape": list(shape), "dtype": dtype}
            if kind == "input":
                bd = batch_dims if isinstance(batch_dims, int) else batch_dims.get(leaf_name, 0)
                if not shape:
                    # Every input carries the global batch along a dimension (Docs/graph-format.md).
                    raise ExportError(f"input {leaf_name} is a scalar, and every input carries the batch along one of "
                                      "its dimensions; close over it in the function or pass it among the parameters")
                if not 0 <= bd < len(shape):
                    raise ExportError(f"input {leaf_name}: batch_dim {bd} is not a dimension of {list(shape)}")
                entry["batch_dim"] = bd
                graph_inputs.append(entry)
            else:
                graph_params.append(entry)
    outs = ex.run_jaxpr(closed.jaxpr, [_Captured(c) for c in closed.consts], arg_nodes, ())

    if output_names is None:
        output_names = ["output"] if len(outs) == 1 else [f"output{i}" for i in range(len(outs))]
    if len(output_names) != len(outs):
        raise ExportError(f"{len(outs)} outputs but {len(output_names)} output names: {list(output_names)}")
    final_outs: list[int] = []
    for out, out_name in zip(outs, output_names):
        node = ex.nodes[out]
        if node.kind == "op" and node.op != "constant" and (node.name is None or node.name not in output_names) \
                and out not in final_outs:
            node.name = out_name
        else:
            out = ex.emit_like("identity", [out], out, ())
            ex.nodes[out].name = out_name
        final_outs.append(out)

    live = _live(ex.nodes, final_outs)
    for index in sorted(live):
        node = ex.nodes[index]
        if node.kind == "unsupported":
            where = "/".join(node.scope) or "top level"
            raise ExportError(f"unsupported JAX primitive '{node.op}' at {where} ({node.error}); "
                              f"supported: {', '.join(supported_primitives())}")

    names = _assign_names(ex.nodes, live, arg_nodes)
    ops: list[dict[str, Any]] = []
    for index in sorted(live):
        node = ex.nodes[index]
        if node.kind != "op":
            continue
        entry = {"name": names[index], "op": node.op, "inputs": [names[i] for i in node.inputs]}
        entry.update(node.attrs)
        entry["shape"] = list(node.shape)
        entry["dtype"] = node.dtype
        if node.scope and layer_depth > 0:
            entry["layer"] = "/".join(node.scope[:layer_depth])
        ops.append(entry)
    return {
        "format": GRAPH_FORMAT,
        "name": name,
        "inputs": graph_inputs,
        "parameters": graph_params,
        "ops": ops,
        "outputs": [names[o] for o in final_outs],
    }


def _live(nodes: list[_Node], outs: Sequence[int]) -> set[int]:
    live: set[int] = set()
    stack = list(outs)
    while stack:
        index = stack.pop()
        if index in live:
            continue
        live.add(index)
        stack.extend(nodes[index].inputs)
    return live


def _assign_names(nodes: list[_Node], live: set[int], arg_nodes: Sequence[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    taken: set[str] = set()
    for index in arg_nodes:
        names[index] = nodes[index].name or ""
        taken.add(names[index])
    for index in sorted(live):  # fixed names first, in graph order
        node = nodes[index]
        if index in names or node.name is None:
            continue
        candidate, n = node.name, 1
        while candidate in taken:
            candidate = f"{node.name}_{n}"
            n += 1
        names[index] = candidate
        taken.add(candidate)
    counters: dict[str, int] = {}
    for index in sorted(live):
        if index in names:
            continue
        node = nodes[index]
        base = ".".join([*node.scope, node.op])
        candidate = base
        while candidate in taken:
            counters[base] = counters.get(base, 0) + 1
            candidate = f"{base}_{counters[base]}"
        names[index] = candidate
        taken.add(candidate)
    return names


def supported_primitives() -> list[str]:
    """The JAX primitives the exporter maps (some only in the forms named in the module docstring)."""
    prims = set(UNARY_PRIMITIVES) | set(BINARY_PRIMITIVES) | set(LOGICAL_PRIMITIVES) | set(REDUCE_PRIMITIVES)
    prims |= ALIAS_PRIMITIVES | set(CALL_PRIMITIVES)
    prims |= {"not", "name", "dot_general", "integer_pow", "convert_element_type", "broadcast_in_dim", "reshape",
              "squeeze", "expand_dims", "transpose", "select_n", "concatenate", "stack", "slice", "iota", "clamp",
              "is_finite", "log1p", "expm1", "gather", "dynamic_slice", "dynamic_update_slice"}
    return sorted(prims)
