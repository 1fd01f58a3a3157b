"""Export an `nn.Module` and example inputs as a `shardplan.graph/1` document through `torch.export`.

    graph = export_graph(model, (tokens, labels), name="gpt2-tiny")
    write_graph(graph, "gpt2-tiny.json")

`torch.export.export` traces the module's forward into an ExportedProgram whose graph holds ATen ops as
autograd sees them (`linear`, `layer_norm`, `scaled_dot_product_attention` stay whole). Its placeholders
become the graph's `parameters` (named by the module's state dict; a tied weight once, under its first
name), `inputs` (named by the forward's arguments, with `batch_dim`), or constants (buffers); each ATen op
is lowered by `shardplan_torch.lowering`, an in-place one (`relu_`, `h[:, 0] = 0`) as its out-of-place form whose
result replaces the tensor it writes (`shardplan_torch.inplace`). Values that depend on no input and no parameter
are folded into `constant` ops. Every op states the shape and dtype PyTorch inferred, so `shardplan` checks the lowering
against PyTorch's own shapes when it reads the graph.
"""

from __future__ import annotations

import collections
import operator
import warnings
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.fx
import torch.utils._pytree
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind

from .graph_builder import Constant, ExportError, GraphBuilder, NodeContext, aten_op, module_scope, qualified_name, static_shape
from .dtypes import spec_dtype
from .inplace import aliased_source, functional_overload, write_back, written_argument
from .lowering import ASSERTIONS, LOWERINGS, SHAPE_ONLY, supported_ops

__all__ = ["ExportError", "default_layer", "export_graph", "program_graph"]


def default_layer(scope: str) -> str | None:
    """The layer hint of an op made inside module `scope`: the path up to the first index into a
    container (`blocks.3` for `blocks.3.attn.qkv`, `0` for `0.mlp` in an `nn.Sequential`), so that each
    repeated block is a layer. Ops outside such containers (embeddings, the final norm and loss) get no
    hint: the planner groups them into a prologue and an epilogue."""
    parts = scope.split(".") if scope else []
    for index, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: index + 1])
    return None


def export_graph(module: torch.nn.Module, args: Sequence[Any], kwargs: Mapping[str, Any] | None = None, *,
                 name: str, batch_dims: int | Mapping[str, int | None] = 0, output_names: Sequence[str] | None = None,
                 layer_of: Callable[[str], str | None] = default_layer) -> dict[str, Any]:
    """Trace `module(*args, **kwargs)` with `torch.export` and return its `shardplan.graph/1` document.

    The forward should return the loss (a scalar), as one training step computes it; `module.train()`
    keeps its dropout. `args` may be real tensors, or tensors on the meta device for a model too large to
    allocate (build the module under `torch.device("meta")` too). `batch_dims` gives each input's batch
    dimension (one for all, or per input name; default 0; None for an input without the batch, such as a
    table every sample shares, which becomes a constant as a buffer would). `output_names` renames the outputs; a single
    scalar output is called `loss` by default. `layer_of` maps a module path to a layer hint
    (`default_layer`)."""
    try:
        program = torch.export.export(module, tuple(args), kwargs=dict(kwargs or {}))
    except Exception as error:  # torch.export raises many types; say which model failed and why
        raise ExportError(f"torch.export could not trace {type(module).__name__}: {type(error).__name__}: {error}") from error
    return program_graph(program, name=name, batch_dims=batch_dims, output_names=output_names, layer_of=layer_of)


def program_graph(program: ExportedProgram, *, name: str, batch_dims: int | Mapping[str, int | None] = 0,
                  output_names: Sequence[str] | None = None,
                  layer_of: Callable[[str], str | None] = default_layer) -> dict[str, Any]:
    """The `shardplan.graph/1` document of an ExportedProgram (see `export_graph`)."""
    builder = GraphBuilder(name, layer_of)
    values: dict[torch.fx.Node, Any] = {}
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    state = {**program.state_dict, **program.constants}
    canonical: dict[int, str] = {}
    if batch_dims is None or isinstance(batch_dims, bool) or not isinstance(batch_dims, (int, Mapping)):
        raise ExportError(f"batch_dims is {batch_dims!r}: give one dimension for every input (an int) or a dict from "
                          "input names to a dimension, or to None for an input without the batch")
    user_inputs = [spec for spec in program.graph_signature.input_specs if spec.kind == InputKind.USER_INPUT]
    if not isinstance(batch_dims, int):
        names = [spec.arg.name for spec in user_inputs]
        unknown = [name for name in batch_dims if name not in names]
        if unknown:
            raise ExportError(f"batch_dims names {', '.join(repr(name) for name in unknown)}, which "
                              f"{'is not an input' if len(unknown) == 1 else 'are not inputs'} of the forward; its "
                              f"inputs are {', '.join(repr(name) for name in names) or 'none'}")
        wrong = {name: dim for name, dim in batch_dims.items()
                 if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int))}
        if wrong:
            raise ExportError(f"batch_dims gives {', '.join(f'{name!r} {dim!r}' for name, dim in wrong.items())}: each "
                              "input's batch dimension is an int, or None for an input without the batch")
        if names and all(name in batch_dims and batch_dims[name] is None for name in names):
            raise ExportError("batch_dims says no input carries the batch, but a training step reads a batch: give "
                              "the batch dimension of at least one input (the data), None only for shared tables")
    # The example inputs by name, for an input without the batch (a constant, whose value is a courtesy).
    leaves = torch.utils._pytree.tree_leaves(program.example_inputs) if program.example_inputs else []
    examples = dict(zip((spec.arg.name for spec in user_inputs), leaves)) if len(leaves) == len(user_inputs) else {}

    for spec in program.graph_signature.input_specs:
        node = placeholders[spec.arg.name]
        meta = node.meta.get("val")
        if spec.kind == InputKind.PARAMETER:
            tensor = state[spec.target]
            # A tied weight (GPT-2's token embedding and logits) is one parameter under two names.
            if id(tensor) not in canonical:
                canonical[id(tensor)] = spec.target
                builder.add_parameter(spec.target, static_shape(meta.shape), _tensor_dtype(meta, spec.target),
                                      trainable=bool(getattr(tensor, "requires_grad", True)))
            values[node] = canonical[id(tensor)]
        elif spec.kind in (InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            values[node] = Constant(static_shape(meta.shape), spec_dtype(meta.dtype), spec.target,
                                    state.get(spec.target))
        elif spec.kind == InputKind.USER_INPUT:
            if not isinstance(meta, torch.Tensor):
                raise ExportError(f"input {spec.arg.name!r} is not a tensor ({meta!r}); pass sizes and flags "
                                  "to the module's constructor, not to forward")
            shape = static_shape(meta.shape)
            batch_dim = batch_dims if isinstance(batch_dims, int) else batch_dims.get(spec.arg.name, 0)
            if batch_dim is None:
                # Data every sample shares (a position table, a mask): the graph's inputs carry the batch, so
                # this one is a constant, as a buffer would be (read where it is used; no gradient).
                example = examples.get(spec.arg.name)
                values[node] = Constant(shape, _tensor_dtype(meta, spec.arg.name), spec.arg.name,
                                        example if isinstance(example, torch.Tensor) else None)
                continue
            if not shape:
                raise ExportError(f"input {spec.arg.name!r} is a scalar, and every input carries the batch along one of "
                                  "its dimensions; pass it to the module's constructor or as a buffer, or mark it "
                                  f"batch_dims={{{spec.arg.name!r}: None}}")
            if not -len(shape) <= batch_dim < len(shape):
                raise ExportError(f"input {spec.arg.name!r} of shape {list(shape)} has no dimension {batch_dim} to "
                                  "be its batch dimension")
            batch_dim %= len(shape)
            if builder.inputs:
                first = builder.inputs[0]
                batch = first["shape"][first["batch_dim"]]
                if shape[batch_dim] != batch:
                    raise ExportError(
                        f"input {spec.arg.name!r} of shape {list(shape)} has {shape[batch_dim]} along its batch dimension "
                        f"{batch_dim}, but input {first['name']!r} has {batch}: every input carries the global batch "
                        "along its batch dimension. If it is along another dimension, say which with "
                        f"batch_dims={{{spec.arg.name!r}: ...}}; if {spec.arg.name!r} has none (a table every sample "
                        f"shares), say so with batch_dims={{{spec.arg.name!r}: None}}, or make it a buffer or a "
                        "parameter of the module")
            builder.add_input(spec.arg.name, shape, _tensor_dtype(meta, spec.arg.name), batch_dim)
            values[node] = spec.arg.name
        else:
            raise ExportError(f"input {spec.arg.name!r} is a {spec.kind.name}, which the graph cannot hold")

    lowerer = _Lowerer(program, builder, values, placeholders)
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        values[node] = lowerer.lower(node)

    output_node = next(node for node in program.graph.nodes if node.op == "output")
    results = list(output_node.args[0])
    outputs: list[str] = []
    for spec, result in zip(program.graph_signature.output_specs, results):
        # Buffer updates (BatchNorm's running statistics) are state, not results of the training step.
        if spec.kind != OutputKind.USER_OUTPUT:
            continue
        value = values.get(result) if isinstance(result, torch.fx.Node) else None
        if isinstance(value, Constant):
            raise ExportError(f"output {spec.arg.name!r} depends on no input and no parameter")
        if not isinstance(value, str):
            raise ExportError(f"output {spec.arg.name!r} is not a tensor")
        outputs.append(value)
    if not any(output in builder.producers for output in outputs):
        # Every output is an input or a parameter returned unchanged: a graph without ops, which shardplan refuses.
        raise ExportError(f"the forward computes nothing: it returns {', '.join(repr(o) for o in outputs) or 'no tensor'} "
                          "unchanged (an input or a parameter), so the graph would have no ops; return the loss "
                          "computed from the inputs")
    if output_names is None and len(outputs) == 1 and builder.types[outputs[0]][0] == ():
        output_names = ["loss"]
    elif output_names is None and all(builder.types[output][0] != () for output in outputs):
        # shardplan plans a training step that differentiates the outputs as if they were its loss.
        shapes = ", ".join(str(list(builder.types[output][0])) for output in outputs)
        warnings.warn(f"the forward returns no scalar (outputs of shapes {shapes}): shardplan plans a training step from "
                      "its loss, so make the forward return it (Docs/torch.md)", stacklevel=3)
    if output_names is not None:
        outputs = _rename_outputs(builder, outputs, list(output_names))
    return builder.document(outputs)


def _tensor_dtype(meta: torch.Tensor, what: str) -> str:
    dtype = spec_dtype(meta.dtype)
    if dtype is None:
        raise ExportError(f"{what} has dtype {meta.dtype}, which shardplan.graph/1 cannot name (f32, bf16, f16, "
                          "fp8, i64, i32, i8, bool)")
    return dtype


class _Lowerer:
    """Lowers the program's nodes in order, keeping track of which tensors are views of which, so that an
    in-place op (`shardplan_torch.inplace`) replaces the value of the tensor it writes and of every view of it."""

    def __init__(self, program: ExportedProgram, builder: GraphBuilder, values: dict[torch.fx.Node, Any],
                 placeholders: Mapping[str, torch.fx.Node]):
        self.builder = builder
        self.values = values
        self.position = {node: index for index, node in enumerate(program.graph.nodes)}
        self.kinds = {placeholders[spec.arg.name]: spec for spec in program.graph_signature.input_specs}
        self.source: dict[torch.fx.Node, torch.fx.Node] = {}    # a view (or in-place op) -> the tensor it views
        self.views: dict[torch.fx.Node, list[torch.fx.Node]] = {}  # a tensor of its own -> its views, in order

    def lower(self, node: torch.fx.Node) -> Any:
        written = written_argument(node.target)
        value = self._in_place(node, written) if written is not None else _lower(node, self.builder, self.values)
        source = aliased_source(node)
        if source is not None:
            self.source[node] = source
            self.views.setdefault(self._base(node), []).append(node)
        return value

    def _base(self, node: torch.fx.Node) -> torch.fx.Node:
        while node in self.source:
            node = self.source[node]
        return node

    def _in_place(self, node: torch.fx.Node, written: tuple[int, str]) -> Any:
        """An op that writes its argument: the out-of-place form's result becomes the written tensor's value,
        carried back through the views it was written through to the tensor they view."""
        functional = functional_overload(node.target)
        context = NodeContext(self.builder, node, self.values, target=functional)
        position, name = written
        target = node.args[position] if position < len(node.args) else node.kwargs.get(name)
        if not isinstance(target, torch.fx.Node):
            raise context.error(f"it writes to {target!r}, which is not a tensor of the forward")
        chain = [target]
        while chain[-1] in self.source:
            chain.append(self.source[chain[-1]])
        base = chain[-1]
        spec = self.kinds.get(base)
        if spec is not None and spec.kind in (InputKind.USER_INPUT, InputKind.PARAMETER):
            what = f"input {spec.arg.name!r}" if spec.kind == InputKind.USER_INPUT else f"parameter {spec.target!r}"
            op = getattr(node.target, "_opname", "")
            packet = getattr(node.target, "overloadpacket", None)
            if packet in _IN_PLACE_HINTS:
                hint = _IN_PLACE_HINTS[packet]
            elif functional is not None and functional.overloadpacket in (torch.ops.aten.fill, torch.ops.aten.copy):
                hint = ("build a new tensor instead of assigning into this one (`torch.where`, `masked_fill`, "
                        "`torch.cat`)")
            elif functional is not None and functional.overloadpacket in LOWERINGS:
                hint = (f"use the out-of-place form {functional.overloadpacket} (`x = x.{op[:-1]}(...)` rather than "
                        f"`x.{op}(...)`, `x = x + y` rather than `x += y`, `inplace=False` for a torch.nn module)")
            else:
                hint = (f"{'its out-of-place form ' + str(functional.overloadpacket) if functional else 'it'} has no "
                        "lowering either, so rewrite that part of the model with ops the exporter lowers")
            raise context.error(f"it writes in place to the {what}, and the graph is a function of its inputs and "
                                f"parameters, with no state to change: {hint}")
        inputs = [self.values[argument] for argument in node.all_input_nodes]
        if all(isinstance(value, Constant) for value in inputs):
            new = _fold(node, inputs)
        elif functional is not None and functional.overloadpacket in SHAPE_ONLY:
            new = _fold(node, inputs)
        elif functional is not None and functional.overloadpacket in LOWERINGS:
            new = LOWERINGS[functional.overloadpacket](context)
        else:
            raise _unsupported(context, node, functional)
        current = new
        for view, source in zip(chain, chain[1:]):
            self.values[view] = current
            current = write_back(context, view, self.values[source], current)
        self.values[base] = current
        self._refresh(base, set(chain), self.position[node])
        return new

    def _refresh(self, base: torch.fx.Node, written: set[torch.fx.Node], after: int) -> None:
        """Recompute the views of `base` that are read after the write at position `after` (and the views they
        are taken from), as PyTorch's views see the write; the rest keep their values."""
        stale = [view for view in self.views.get(base, []) if view not in written]
        needed: set[torch.fx.Node] = set()
        for view in stale:
            if any(self.position.get(user, after + 1) > after for user in view.users):
                while view not in written and view is not base and view not in needed:
                    needed.add(view)
                    view = self.source[view]
        for view in stale:
            if view not in needed:
                continue
            if written_argument(view.target) is not None:
                self.values[view] = self.values[self.source[view]]
            elif view.target is operator.getitem:
                self.values[view] = self.values[view.args[0]][view.args[1]]
            else:
                self.values[view] = _lower(view, self.builder, self.values)


# What to do about an in-place write to an input or parameter that no out-of-place form the exporter lowers can
# replace, where the op is not one the user calls by name.
_IN_PLACE_HINTS = {
    torch.ops.aten.embedding_renorm_: (
        "nn.Embedding(max_norm=...) and F.embedding(..., max_norm=...) rescale the looked-up rows of the table in "
        "place at every lookup, which the graph cannot hold and the exporter has no lowering for; export without "
        "max_norm (it changes the weights, not the cost of the step), or renormalise the table outside the training "
        "step (under torch.no_grad(), e.g. after optimizer.step())"),
}


def _unsupported(context: NodeContext, node: torch.fx.Node, functional: Any = None) -> ExportError:
    if functional is None and written_argument(node.target) is not None:
        reason = f"{qualified_name(node)} writes its argument in place and has no out-of-place form the exporter lowers"
    elif functional is not None:
        reason = (f"{qualified_name(node)} writes its argument in place, and its out-of-place form "
                  f"{functional.overloadpacket} has no shardplan.graph/1 equivalent either")
    else:
        reason = f"{qualified_name(node)} has no shardplan.graph/1 equivalent"
    hint = _IN_PLACE_HINTS.get(getattr(node.target, "overloadpacket", None))
    if hint is not None:
        return context.error(f"{reason}: {hint}")
    return context.error(f"{reason}. The exporter lowers: {', '.join(supported_ops())} (and their in-place forms). "
                         "Rewrite that part of the model with those ops, or compute it in __init__ as a buffer if it "
                         "does not depend on the inputs")


def _lower(node: torch.fx.Node, builder: GraphBuilder, values: dict[torch.fx.Node, Any]) -> Any:
    if node.target is operator.getitem:
        container, index = node.args
        return values[container][index]
    target = node.target
    packet = getattr(target, "overloadpacket", None)
    if packet in ASSERTIONS:
        return None
    context = NodeContext(builder, node, values)
    if packet is None and target is getattr(torch.ops.higher_order, "wrap_with_autocast", None):
        raise context.error("it is a torch.autocast region inside the forward, which torch.export keeps as a "
                            "higher-order op the exporter does not lower. Export under the autocast instead: "
                            "`with torch.autocast(device, dtype): export_graph(...)` around a forward without it "
                            "writes the casts autocast makes (Docs/torch.md, \"Mixed precision\")")
    if packet is None:
        raise context.error(f"{target} is not an ATen op (a higher-order op such as torch.no_grad, autocast, "
                            "torch.cond or a custom op); the exporter lowers ATen ops only")
    inputs = [values[argument] for argument in node.all_input_nodes]
    if packet in SHAPE_ONLY or all(isinstance(value, Constant) for value in inputs):
        return _fold(node, inputs)
    lowering = LOWERINGS.get(packet)
    if lowering is None:
        raise _unsupported(context, node)
    casts = _recorded_casts(context)
    if casts:
        # The inputs as the op read them: cast as torch.autocast cast them (see `_recorded_casts`).
        overlay = {argument: _cast_value(context, values[argument], dtype) for argument, dtype in casts.items()}
        context = NodeContext(builder, node, collections.ChainMap(overlay, values))
    return lowering(context)


def _recorded_casts(context: NodeContext) -> dict[torch.fx.Node, torch.dtype]:
    """The casts of the node's inputs that make the op give the result dtypes PyTorch recorded for it.

    None are needed when the op itself gives them. Under `torch.autocast` it does not: `torch.export` records
    `linear` of float32 tensors with a bfloat16 result (autocast casts the inputs of matmul-like ops to its
    dtype, and those of ops it keeps in float32, such as `cross_entropy_loss` on the CPU, to float32), but
    no cast, since autocast works below the level torch.export traces. So the op is run again on meta
    tensors of its inputs' dtypes; if that gives other dtypes than the recorded ones, and casting its
    floating-point inputs to the recorded result's dtype (what autocast does) gives them, those are the casts.
    Otherwise the op's recorded dtypes cannot be explained, and that is an error naming autocast."""
    node = context.node
    recorded = _dtypes(node.meta.get("val"))
    if recorded is None:
        return {}
    target = next((dtype for dtype in recorded if dtype.is_floating_point), None)
    casts = {} if target is None else {
        argument: target for argument in node.all_input_nodes
        if isinstance(argument.meta.get("val"), torch.Tensor) and argument.meta["val"].dtype.is_floating_point
        and argument.meta["val"].dtype != target}
    names = ", ".join(str(spec_dtype(dtype) or dtype) for dtype in _input_dtypes(node))
    wanted = ", ".join(str(spec_dtype(dtype) or dtype) for dtype in recorded)
    plain = _rerun(node, {})
    if plain == recorded:
        if not casts or getattr(node.target, "overloadpacket", None) not in ONE_DTYPE:
            return {}
        # Meta kernels (and so torch.export's fake tensors) let a product read mixed float dtypes; the real
        # kernel refuses them, and autocast is what casts them to one.
        if _autocast_enabled():
            return casts
        raise context.error(
            f"it reads floating-point tensors of dtypes {names}, which PyTorch's kernel refuses at run time "
            "(torch.export's fake tensors do not check it): cast them to one dtype (model.to(dtype), x.to(dtype)), "
            "or export under the torch.autocast the training step runs in, whose casts the exporter writes")
    if casts and _rerun(node, casts) == recorded:
        return casts
    if plain is None:
        return {}  # the op cannot run on meta tensors, so nothing can be told; shardplan checks the dtypes
    gives = ", ".join(str(spec_dtype(dtype) or dtype) for dtype in plain)
    raise context.error(
        f"PyTorch recorded a result of dtype {wanted} from inputs of dtype {names}, but the op gives {gives} "
        "for those, and no cast of its floating-point inputs explains the difference. torch.export records such "
        "ops when it runs under torch.autocast with a policy the exporter cannot reproduce: export without "
        "autocast, with the model cast to the dtype it trains in (model.to(torch.bfloat16)) or explicit "
        ".to(dtype) casts in the forward")


#: Ops whose kernels take floating-point operands of one dtype only (autocast casts them to its dtype).
ONE_DTYPE = {torch.ops.aten.linear, torch.ops.aten.matmul, torch.ops.aten.mm, torch.ops.aten.bmm,
             torch.ops.aten.addmm, torch.ops.aten.baddbmm, torch.ops.aten.einsum, torch.ops.aten.conv1d,
             torch.ops.aten.conv2d, torch.ops.aten.convolution, torch.ops.aten.scaled_dot_product_attention}


def _autocast_enabled() -> bool:
    """Whether the export runs under torch.autocast (on the CPU, or on CUDA where PyTorch has it)."""
    return torch.is_autocast_enabled("cpu") or (torch.cuda.is_available() and torch.is_autocast_enabled("cuda"))


def _dtypes(value: Any) -> list[torch.dtype] | None:
    if isinstance(value, torch.Tensor):
        return [value.dtype]
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, torch.Tensor) for item in value):
        return [item.dtype for item in value]
    return None


def _input_dtypes(node: torch.fx.Node) -> list[torch.dtype]:
    return [argument.meta["val"].dtype for argument in node.all_input_nodes
            if isinstance(argument.meta.get("val"), torch.Tensor)]


def _rerun(node: torch.fx.Node, casts: Mapping[torch.fx.Node, torch.dtype]) -> list[torch.dtype] | None:
    """The result dtypes of the node's op on meta tensors shaped as its inputs (those in `casts` in their
    dtype there), outside any autocast; None when the op cannot run so (an input is no tensor, no meta kernel)."""
    def meta(argument: torch.fx.Node) -> torch.Tensor:
        value = argument.meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{argument.name} is no tensor")
        return torch.empty_strided(tuple(value.shape), tuple(value.stride()), dtype=casts.get(argument, value.dtype),
                                   device="meta")
    try:
        arguments = torch.fx.node.map_arg(node.args, meta)
        keywords = torch.fx.node.map_arg(node.kwargs, meta)
        if "device" in keywords:
            keywords = {**keywords, "device": "meta"}
        with torch.autocast("cpu", enabled=False), torch.no_grad():
            return _dtypes(node.target(*arguments, **keywords))
    except Exception:  # no meta kernel, a symbolic size: nothing to compare
        return None


def _cast_value(context: NodeContext, value: Any, dtype: torch.dtype) -> Any:
    """`value` (a graph tensor's name or a constant) as `dtype`: a `cast` op named `<module or op>.autocast`, or for a
    constant the constant of that dtype (folded, as every value computed from constants)."""
    name = context.graph_dtype(dtype)
    if isinstance(value, Constant):
        values = value.values.to(dtype) if value.values is not None else None
        return Constant(value.shape, name, f"{value.source}.to_{name}", values)
    shape, current = context.type(value)
    if current == name:
        return value
    # Named after the op that reads it (`fc.autocast`, `matmul.autocast`), not `cast.autocast`.
    scope = context.scope
    base = scope if context._leaf and scope else ".".join(part for part in (scope, aten_op(context.node)) if part)
    return context.builder.add_op(f"{base}.autocast", "cast", [value], shape, name, context.layer, {"dtype": name})


def _fold(node: torch.fx.Node, inputs: list[Any]) -> Any:
    """A node computed from constants only: a constant too, with PyTorch's value when one can be had."""
    sources = [value.source for value in inputs if isinstance(value, Constant)]
    source = f"{sources[0]}.{aten_op(node)}" if sources else aten_op(node)
    computed = _evaluate(node, inputs)
    meta = node.meta.get("val")
    if isinstance(meta, (list, tuple)):
        tensors = computed if isinstance(computed, (list, tuple)) else [None] * len(meta)
        return [Constant(static_shape(m.shape), spec_dtype(m.dtype), f"{source}.{i}", t)
                for i, (m, t) in enumerate(zip(meta, tensors))]
    if not isinstance(meta, torch.Tensor):
        raise ExportError(f'node "{node.name}" ({qualified_name(node)}) in {module_scope(node)[0] or "the top-level forward"} '
                          "computes a non-tensor value from constants; the graph format has tensors only")
    if not isinstance(computed, torch.Tensor):
        computed = _filled(node, meta)
    return Constant(static_shape(meta.shape), spec_dtype(meta.dtype), source, computed)


def _filled(node: torch.fx.Node, meta: torch.Tensor) -> torch.Tensor | None:
    """The value of a fill whose argument is an activation (`zeros_like(x)`, `x.zero_()`), which depends only on
    its shape: one element expanded to it (nothing allocated), or None for other ops."""
    aten = torch.ops.aten
    packet = getattr(node.target, "overloadpacket", None)
    fills = {aten.zeros_like: 0, aten.new_zeros: 0, aten.zero: 0, aten.zero_: 0, aten.ones_like: 1, aten.new_ones: 1}
    position = {aten.full_like: 1, aten.new_full: 2}.get(packet)
    if packet in fills:
        value = fills[packet]
    elif position is not None and position < len(node.args) and isinstance(node.args[position], (bool, int, float)):
        value = node.args[position]
    else:
        return None
    return torch.full((), value, dtype=meta.dtype).expand(static_shape(meta.shape))


def _evaluate(node: torch.fx.Node, inputs: list[Any]) -> Any:
    """Run the op on the constants' real tensors (none on the meta device); None when that is not possible."""
    tensors = {argument: value.values for argument, value in zip(node.all_input_nodes, inputs)
               if isinstance(value, Constant)}
    if any(t is None or t.device.type == "meta" for t in tensors.values()) or len(tensors) != len(node.all_input_nodes):
        return None
    if written_argument(node.target) is not None:
        # An in-place op folded on a buffer (BatchNorm's num_batches_tracked += 1) runs on a copy: exporting
        # must not change the module's own tensors.
        tensors = {argument: tensor.clone() for argument, tensor in tensors.items()}
    arguments = torch.fx.node.map_arg(node.args, lambda n: tensors[n])
    keywords = torch.fx.node.map_arg(node.kwargs, lambda n: tensors[n])
    if "device" in keywords:
        keywords = {**keywords, "device": "cpu"}
    try:
        with torch.no_grad():
            return node.target(*arguments, **keywords)
    except Exception:  # the value is a courtesy (uniform constants); its shape comes from PyTorch's metadata
        return None


def _rename_outputs(builder: GraphBuilder, outputs: list[str], names: list[str]) -> list[str]:
    if len(names) != len(outputs):
        raise ExportError(f"output_names has {len(names)} names for {len(outputs)} outputs")
    produced = {op["name"] for op in builder.ops}
    renames: dict[str, str] = {}
    for old, new in zip(outputs, names):
        if old not in produced:
            raise ExportError(f"output {old!r} is an input or a parameter, not a result of the forward")
        if new != old:
            builder.reserve(new)
            renames[old] = new
            builder.types[new] = builder.types[old]
    for op in builder.ops:
        op["name"] = renames.get(op["name"], op["name"])
        if "inputs" in op:
            op["inputs"] = [renames.get(n, n) for n in op["inputs"]]
    return [renames.get(n, n) for n in outputs]
