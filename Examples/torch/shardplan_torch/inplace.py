"""In-place ATen ops (`relu_`, `add_`, `masked_fill_`, and the `fill_` or `copy_` of `h[:, 0] = 0`), written
as the values they leave behind: the graph has no mutable state, so a mutation is a new tensor that replaces
the old one from then on.

`torch.export`'s training IR keeps a module's in-place ops. An op that writes its argument (`x.relu_()`) is
lowered as its out-of-place form (`relu`), whose arguments are the same, and the result becomes the written
tensor's value for every later op. A write through a view (`h[:, 0] = 0` is a `select` of h and a `fill_` of
it) is carried back to the tensor the view was taken from, view by view, with catalog ops: a `slice` or
`select` by a `concat` of the untouched parts and the new part, a reshape by the reshape back, a transpose
by its inverse, a piece of a `split` by the `concat` of the pieces. Views of the same tensor taken before the
write and read after it are recomputed from the new value, as PyTorch's views see the write.

Which tensors alias is read from PyTorch itself: a view op's schema says its result may alias its input, and
the fake tensors `torch.export` traced with share their storage exactly when they do (a `reshape` that had to
copy does not alias). Writing to a user input or a parameter is an `ExportError`: the graph is a function of
its inputs and parameters. Writing to a buffer is allowed (BatchNorm's `num_batches_tracked += 1`): its new
value is used by the rest of the forward, and the update itself is state, not a graph output.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.fx

from .graph_builder import Constant, NodeContext, static_shape
from .lowering import normalised_axis, reshape, transpose, _bounds, _slice

aten = torch.ops.aten

#: View ops whose result is `self` reshaped: written back by the reshape to `self`'s shape.
RESHAPES = {aten.view, aten.reshape, aten._unsafe_view, aten.flatten, aten.unflatten, aten.squeeze, aten.unsqueeze,
            aten.view_as, aten.alias, aten.detach, aten.contiguous, aten.to, aten.expand, aten.expand_as,
            aten.broadcast_to}
TRANSPOSES = {aten.permute, aten.transpose, aten.swapaxes, aten.t, aten.numpy_T}
SLICES = {aten.slice, aten.narrow, aten.select}
SPLITS = {aten.split, aten.split_with_sizes, aten.chunk, aten.unbind}
#: View ops that always alias, for a tensor whose storage cannot be read.
ALWAYS_VIEWS = (RESHAPES | TRANSPOSES | SLICES | SPLITS) - {aten.reshape, aten.contiguous, aten.to, aten.flatten}


def written_argument(target: Any) -> tuple[int, str] | None:
    """The position and name of the argument an op writes (`self` for `relu_`), or None for an op that writes
    nothing."""
    schema = getattr(target, "_schema", None)
    if schema is None or not schema.is_mutable:
        return None
    for position, argument in enumerate(schema.arguments):
        if argument.alias_info is not None and argument.alias_info.is_write:
            return position, argument.name
    return None


def functional_overload(target: Any) -> Any:
    """The out-of-place form of an in-place op with the same overload (`aten.add.Tensor` for
    `aten.add_.Tensor`), or None when ATen has none."""
    name = getattr(target, "_opname", "")
    if not name.endswith("_") or name.startswith("_") and name.endswith("__"):
        return None
    packet = getattr(aten, name[:-1], None)
    return getattr(packet, target._overloadname, None) if packet is not None else None


def _storage(value: Any) -> int | None:
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if isinstance(v, torch.Tensor)), None)
    if not isinstance(value, torch.Tensor):
        return None
    try:
        return value.untyped_storage()._cdata
    except Exception:  # a tensor subclass without storage: fall back on the op's schema
        return None


def _packet(node: torch.fx.Node) -> Any:
    return getattr(node.target, "overloadpacket", None)


def aliased_source(node: torch.fx.Node) -> torch.fx.Node | None:
    """The tensor `node` is a view of (its `self`), or None when `node` is a tensor of its own. In-place ops
    count as views of what they write; a piece of a `split` as a view of the split."""
    if node.target is operator.getitem:
        container = node.args[0]
        return container if isinstance(container, torch.fx.Node) and _packet(container) in SPLITS else None
    written = written_argument(node.target)
    if written is not None:
        position, name = written
        argument = node.args[position] if position < len(node.args) else node.kwargs.get(name)
        return argument if isinstance(argument, torch.fx.Node) else None
    schema = getattr(node.target, "_schema", None)
    if schema is None or not node.args or not isinstance(node.args[0], torch.fx.Node) or not schema.returns:
        return None
    alias = schema.returns[0].alias_info
    if alias is None or alias.is_write:
        return None
    source = node.args[0]
    mine, theirs = _storage(node.meta.get("val")), _storage(source.meta.get("val"))
    if mine is not None and theirs is not None:
        return source if mine == theirs else None
    return source if _packet(node) in ALWAYS_VIEWS else None


def _shape(context: NodeContext, value: Any) -> tuple[int, ...]:
    return value.shape if isinstance(value, Constant) else context.shape(value)


def _known(value: Constant) -> torch.Tensor | None:
    tensor = value.values
    return tensor if tensor is not None and tensor.device.type != "meta" else None


def _reshaped(context: NodeContext, value: Any, shape: tuple[int, ...]) -> Any:
    if tuple(_shape(context, value)) == tuple(shape):
        return value
    if isinstance(value, Constant):
        tensor = _known(value)
        return Constant(shape, value.dtype, value.source, None if tensor is None else tensor.reshape(shape))
    return reshape(context, value, shape, "write_back")


def _permuted(context: NodeContext, value: Any, perm: list[int]) -> Any:
    if isinstance(value, Constant):
        tensor = _known(value)
        shape = tuple(value.shape[p] for p in perm)
        return Constant(shape, value.dtype, value.source, None if tensor is None else tensor.permute(perm))
    return transpose(context, value, perm, "write_back")


def _part(context: NodeContext, value: Any, axis: int, start: int, end: int) -> Any:
    if isinstance(value, Constant):
        tensor = _known(value)
        shape = list(value.shape)
        shape[axis] = end - start
        return Constant(tuple(shape), value.dtype, value.source,
                        None if tensor is None else tensor.narrow(axis, start, end - start))
    return _slice(context, value, axis, start, end, role="kept")


def _joined(context: NodeContext, parts: list[Any], axis: int, dtype: str | None) -> Any:
    shape = list(_shape(context, parts[0]))
    shape[axis] = sum(_shape(context, part)[axis] for part in parts)
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(part, Constant) for part in parts):
        tensors = [_known(part) for part in parts]
        joined = None if any(t is None for t in tensors) else torch.cat(tensors, axis)
        return Constant(tuple(shape), parts[0].dtype, parts[0].source, joined)
    names = [context.tensor(part) for part in parts]
    return context.emit("concat", names, shape, dtype or context.dtype(names[0]), role="write_back", axis=axis)


def _arguments(node: torch.fx.Node) -> dict[str, Any]:
    """A node's arguments by their schema names, defaults included."""
    bound: dict[str, Any] = {}
    for position, argument in enumerate(node.target._schema.arguments):
        if position < len(node.args) and not argument.kwarg_only:
            bound[argument.name] = node.args[position]
        elif argument.name in node.kwargs:
            bound[argument.name] = node.kwargs[argument.name]
        elif argument.has_default_value():
            bound[argument.name] = argument.default_value
    return bound


def write_back(context: NodeContext, view: torch.fx.Node, source: Any, new: Any) -> Any:
    """The value of the tensor `view` was taken from, `source`, once the view holds `new`."""
    if written_argument(view.target) is not None:
        return new  # an in-place op's result is the tensor it wrote
    if view.target is operator.getitem:
        pieces = list(source)
        pieces[view.args[1]] = new
        return pieces
    packet = _packet(view)
    parent = view.args[0]
    parent_shape = static_shape(parent.meta["val"].shape)
    rank = len(parent_shape)
    dtype = source.dtype if isinstance(source, Constant) else context.dtype(source)
    if packet in RESHAPES:
        if packet in (aten.expand, aten.expand_as, aten.broadcast_to) and tuple(_shape(context, new)) != parent_shape:
            raise context.error(f"it writes through {view.name!r}, an expanded view in which several elements are "
                                "one memory location; write to the tensor itself")
        return _reshaped(context, new, parent_shape)
    if packet in TRANSPOSES:
        if packet is aten.permute:
            perm = [normalised_axis(int(d), rank, context) for d in view.args[1]]
        elif packet in (aten.t, aten.numpy_T):
            perm = list(reversed(range(rank)))
        else:
            a, b = (normalised_axis(int(d), rank, context) for d in view.args[1:3])
            perm = list(range(rank))
            perm[a], perm[b] = perm[b], perm[a]
        inverse = [perm.index(i) for i in range(rank)]
        return _permuted(context, new, inverse)
    arguments = _arguments(view)
    if packet in SLICES:
        axis = normalised_axis(int(arguments["dim"]), rank, context)
        size = parent_shape[axis]
        if packet is aten.select:
            index = int(arguments["index"])
            start = index + size if index < 0 else index
            end = start + 1
            shape = list(parent_shape)
            shape[axis] = 1
            new = _reshaped(context, new, tuple(shape))
        elif packet is aten.narrow:
            start = int(arguments["start"])
            start = start + size if start < 0 else start
            end = start + int(arguments["length"])
        else:
            if arguments.get("step", 1) not in (None, 1):
                raise context.error(f"it writes through {view.name!r}, a strided slice, which has no catalog form")
            start, end = _bounds(arguments.get("start"), arguments.get("end"), size)
        parts = [_part(context, source, axis, 0, start) if start > 0 else None, new,
                 _part(context, source, axis, end, size) if end < size else None]
        return _joined(context, [part for part in parts if part is not None], axis, dtype)
    if packet in SPLITS:
        axis = normalised_axis(int(arguments["dim"]), rank, context)
        pieces = list(new)  # every piece, the written one new
        if packet is aten.unbind:
            shape = list(parent_shape)
            shape[axis] = 1
            pieces = [_reshaped(context, piece, tuple(shape)) for piece in pieces]
        return _joined(context, pieces, axis, dtype)
    raise context.error(f"it writes through {view.name!r}, a view made by {view.target}, which the exporter cannot "
                        "carry back to the tensor it views; write to that tensor with an out-of-place op")
