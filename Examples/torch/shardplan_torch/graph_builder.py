"""The graph being written: names, tensor types, ops, constants and layer hints.

`GraphBuilder` holds the document under construction. `NodeContext` is what one lowering (one ATen op of
the exported program, `shardplan_torch.lowering`) sees: its node's arguments as graph tensors, the shape
and dtype PyTorch inferred for its result, and `emit`, which appends a catalog op named after the node's
module and tagged with its layer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import torch
import torch.fx

from .dtypes import spec_dtype


class ExportError(ValueError):
    """A module that cannot be written as `shardplan.graph/1`; the message names the ATen op, the FX node
    and the module it comes from."""


@dataclasses.dataclass(frozen=True, eq=False)
class Constant:
    """A tensor that depends on no input and no parameter: a buffer, a lifted constant, or an op on those
    (a slice of a rotary table, a causal mask from `torch.ones(...).tril()`). It becomes a `constant` op
    where it is used, once per layer, so that pipeline stages never pass constants to each other.

    `values` holds the real tensor when PyTorch has one (not on the meta device); `value` is written only
    when every element is equal, since ShardPlan reads a constant's shape and dtype, not its elements."""

    shape: tuple[int, ...]
    dtype: str | None  # None: a dtype the graph cannot name (complex, float64), an error only if used
    source: str
    values: torch.Tensor | None = None

    @property
    def uniform_value(self) -> float | None:
        tensor = self.values
        if tensor is None or tensor.device.type == "meta" or tensor.numel() == 0:
            return None
        first = tensor.reshape(-1)[0]
        if not bool((tensor == first).all()):
            return None
        value = float(first.item())
        if math.isnan(value):
            return None
        # JSON has no infinity; +-1e308 is finite in the document and rounds to +-inf in every float dtype.
        return math.copysign(1e308, value) if math.isinf(value) else value


#: What a node lowers to: a graph tensor's name, a constant, a Python scalar, or a list of those (the
#: results of `unbind`, `split`, ...), or None for nodes that produce nothing (assertions).
Value = Any


class GraphBuilder:
    """The document: inputs, parameters, ops in topological order, and every tensor's shape and dtype."""

    def __init__(self, name: str, layer_of: Callable[[str], str | None]):
        self.name = name
        self.layer_of = layer_of
        self.inputs: list[dict[str, Any]] = []
        self.parameters: list[dict[str, Any]] = []
        self.ops: list[dict[str, Any]] = []
        self.types: dict[str, tuple[tuple[int, ...], str]] = {}
        self.producers: dict[str, dict[str, Any]] = {}
        self._used_names: set[str] = set()
        self._name_counts: dict[str, int] = {}
        # Keyed by the constant's id, so each entry keeps its constant alive: a scalar operand's Constant is
        # made for one use, and another made later could otherwise reuse the id and find the wrong op.
        self._materialised: dict[tuple[int, str | None], tuple[Constant, str]] = {}

    def fresh_name(self, base: str) -> str:
        """`base`, or `base_1`, `base_2`, ... when it is taken (as JAX names repeated scopes)."""
        count = self._name_counts.get(base, 0)
        name = base if count == 0 else f"{base}_{count}"
        while name in self._used_names:
            count += 1
            name = f"{base}_{count}"
        self._name_counts[base] = count + 1
        self._used_names.add(name)
        return name

    def reserve(self, name: str) -> None:
        if name in self._used_names:
            raise ExportError(f"the name {name!r} is used twice")
        self._used_names.add(name)

    def add_input(self, name: str, shape: tuple[int, ...], dtype: str, batch_dim: int) -> None:
        self.reserve(name)
        self.inputs.append({"name": name, "shape": list(shape), "dtype": dtype, "batch_dim": batch_dim})
        self.types[name] = (shape, dtype)

    def add_parameter(self, name: str, shape: tuple[int, ...], dtype: str, trainable: bool = True) -> None:
        self.reserve(name)
        entry: dict[str, Any] = {"name": name, "shape": list(shape), "dtype": dtype}
        if not trainable:  # a frozen weight (requires_grad=False): no gradient, no optimizer state
            entry["trainable"] = False
        self.parameters.append(entry)
        self.types[name] = (shape, dtype)

    def add_op(self, base: str, op: str, inputs: Sequence[str], shape: Sequence[int], dtype: str,
               layer: str | None, attributes: dict[str, Any]) -> str:
        name = self.fresh_name(base)
        entry: dict[str, Any] = {"name": name, "op": op}
        if op not in ("constant", "iota"):
            entry["inputs"] = list(inputs)
        entry.update(attributes)
        entry["shape"] = [int(d) for d in shape]
        entry["dtype"] = dtype
        if layer is not None:
            entry["layer"] = layer
        self.ops.append(entry)
        self.producers[name] = entry
        self.types[name] = (tuple(int(d) for d in shape), dtype)
        return name

    def materialise(self, constant: Constant, layer: str | None) -> str:
        """The `constant` op standing for `constant` in `layer`, written on first use there."""
        key = (id(constant), layer)
        if key not in self._materialised:
            attributes: dict[str, Any] = {}
            value = constant.uniform_value
            if value is not None:
                attributes["value"] = int(value) if value.is_integer() and abs(value) < 2**53 else value
            base = f"{layer}.{constant.source}" if layer else constant.source
            self._materialised[key] = (constant, self.add_op(base, "constant", [], constant.shape, constant.dtype,
                                                             layer, attributes))
        return self._materialised[key][1]

    def document(self, outputs: list[str]) -> dict[str, Any]:
        """The graph document. Ops whose result reaches no output are left out: `torch.export` has
        already removed the module's dead code, so these are only transposes that a composition of two
        transposes replaced (see `lowering.transpose`)."""
        from . import GRAPH_FORMAT

        live = set(outputs)
        kept = []
        for op in reversed(self.ops):
            if op["name"] in live:
                live.update(op.get("inputs", []))
                kept.append(op)
        return {"format": GRAPH_FORMAT, "name": self.name, "inputs": self.inputs,
                "parameters": self.parameters, "ops": kept[::-1], "outputs": outputs}


def module_scope(node: torch.fx.Node) -> tuple[str, str]:
    """The path of the innermost module whose forward made `node` (`blocks.0.attn`; `""` for the top-level
    forward) and that module's class (`torch.nn.modules.linear.Linear`)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", ""
    path, kind = list(stack.values())[-1]
    return str(path), kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__qualname__}"


def aten_name(node: torch.fx.Node) -> str:
    """`add.Tensor` for `aten.add.Tensor`: the op and its overload."""
    target = node.target
    return getattr(target, "__name__", str(target))


def qualified_name(node: torch.fx.Node) -> str:
    """`aten.add.Tensor` for ATen's add, `mylib.fused.default` for a custom op, `_operator.getitem` for a Python
    function: the op with its namespace (or module)."""
    namespace = getattr(node.target, "namespace", None) or getattr(node.target, "__module__", None) or "aten"
    return f"{namespace}.{aten_name(node)}"


def aten_op(node: torch.fx.Node) -> str:
    """`add` for `aten.add.Tensor`."""
    return getattr(node.target, "_opname", aten_name(node).split(".")[0])


class NodeContext:
    """One FX node being lowered: its arguments, PyTorch's view of its result, and `emit`."""

    def __init__(self, builder: GraphBuilder, node: torch.fx.Node, values: dict[torch.fx.Node, Value],
                 target: Any = None):
        self.builder = builder
        self.node = node
        # The op the lowering computes: the node's own, or the out-of-place form of an in-place op (`aten.relu`
        # for `aten.relu_`), whose arguments are the same. Errors name the node's own op.
        self.target = target if target is not None else node.target
        self._values = values
        self.scope, module_class = module_scope(node)
        self.layer = builder.layer_of(self.scope)
        # A torch.nn leaf module (Linear, LayerNorm, Embedding, Dropout, ...) names its op after itself:
        # `blocks.0.attn.qkv`; anything else after its scope and the op kind: `blocks.0.attn.attention`.
        self._leaf = module_class.startswith("torch.nn.modules.")

    # Arguments ---------------------------------------------------------------------------------------

    def arg(self, position: int, keyword: str, default: Any = None) -> Any:
        """Argument `position` of the ATen call, or its keyword, or `default`."""
        if position < len(self.node.args):
            return self.node.args[position]
        return self.node.kwargs.get(keyword, default)

    def value(self, argument: Any) -> Value:
        if isinstance(argument, torch.fx.Node):
            return self._values[argument]
        if isinstance(argument, (list, tuple)):
            return [self.value(item) for item in argument]
        return argument

    def is_tensor(self, argument: Any) -> bool:
        value = self.value(argument)
        return isinstance(value, (str, Constant))

    def tensor(self, argument: Any, dtype: str | None = None) -> str:
        """The graph tensor of an argument: a tensor's name, a constant written into this layer, or a
        Python number as a scalar constant of `dtype` (the op's operand dtype)."""
        value = self.value(argument)
        if isinstance(value, str):
            return value
        if isinstance(value, Constant):
            if value.dtype is None:
                raise self.error(f"uses the constant {value.source!r}, whose dtype has no shardplan.graph/1 name "
                                 "(f32, bf16, f16, fp8, i64, i32, i8, bool)")
            return self.builder.materialise(value, self.layer)
        if isinstance(value, (bool, int, float)):
            scalar_dtype = dtype or ("bool" if isinstance(value, bool) else "i64" if isinstance(value, int) else "f32")
            constant = Constant((), scalar_dtype, "scalar", torch.tensor(float(value)))
            return self.builder.materialise(constant, self.layer)
        raise self.error(f"expected a tensor argument, found {value!r}")

    def tensor_dtype(self, argument: Any) -> str:
        """The dtype of a tensor argument, without writing a constant for it."""
        value = self.value(argument)
        return value.dtype if isinstance(value, Constant) else self.dtype(value)

    def type(self, name: str) -> tuple[tuple[int, ...], str]:
        return self.builder.types[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.builder.types[name][0]

    def dtype(self, name: str) -> str:
        return self.builder.types[name][1]

    # The result as PyTorch inferred it -----------------------------------------------------------------

    @property
    def result(self) -> torch.Tensor:
        value = self.node.meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise self.error("has no tensor result")
        return value

    @property
    def out_shape(self) -> tuple[int, ...]:
        return static_shape(self.result.shape, self)

    @property
    def out_dtype(self) -> str:
        return self.graph_dtype(self.result.dtype)

    def graph_dtype(self, dtype: torch.dtype) -> str:
        name = spec_dtype(dtype)
        if name is None:
            raise self.error(f"its dtype {dtype} has no shardplan.graph/1 name (f32, bf16, f16, fp8, i64, i32, "
                             "i8, bool); cast the model or its inputs to one of those")
        return name

    # Writing ops ------------------------------------------------------------------------------------------

    def emit(self, op: str, inputs: Sequence[str], shape: Sequence[int], dtype: str, /, role: str | None = None,
             **attributes: Any) -> str:
        """Append op `op` reading `inputs`, with result `shape` and `dtype` and its `attributes` (which may
        themselves be called `shape` or `dtype`: a reshape's target, a cast's dtype). Its name is the
        node's module path (for a torch.nn leaf module) or that path and `op`, then `.role` for the helper
        ops of a lowering that writes several."""
        if self._leaf and self.scope:
            base = self.scope
        else:
            base = f"{self.scope}.{op}" if self.scope else op
        if role:
            base = f"{base}.{role}"
        return self.builder.add_op(base, op, inputs, shape, dtype, self.layer, attributes)

    def cast(self, name: str, dtype: str) -> str:
        """`name` as `dtype`: itself when it already is, else a `cast` op."""
        shape, current = self.type(name)
        return name if current == dtype else self.emit("cast", [name], shape, dtype, role="cast", dtype=dtype)

    def error(self, message: str) -> ExportError:
        where = f"module {self.scope!r}" if self.scope else "the top-level forward"
        return ExportError(f'cannot export node "{self.node.name}" ({qualified_name(self.node)}) in {where}: {message}')


def static_shape(shape: Sequence[Any], context: NodeContext | None = None) -> tuple[int, ...]:
    dims = []
    for d in shape:
        if not isinstance(d, int):
            message = (f"its shape {list(shape)} is symbolic; export with static shapes "
                       "(no dynamic_shapes): the graph format has fixed sizes")
            raise context.error(message) if context else ExportError(message)
        dims.append(int(d))
    return tuple(dims)
