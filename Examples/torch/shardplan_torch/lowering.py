"""ATen ops of a `torch.export` program, lowered to the op catalog of `shardplan.graph/1`.

One function per ATen op (or family), registered in `LOWERINGS` under the op's overload packet, so that
`aten.add.Tensor` and `aten.add.Scalar` share one. A lowering reads its node through a `NodeContext` and
returns what the node's result is in the graph: a tensor's name (an op it emitted, or its input's name when
the op moves no data, such as `contiguous`), or a list of names for multi-result ops (`unbind`).

Docs/torch.md lists the mapping as a table. An ATen op that is not here, or an argument a lowering cannot
express (a strided slice, an attention mask, a weighted loss), raises `ExportError` naming the op, the node
and its module: nothing is dropped or approximated without saying so.
"""

from __future__ import annotations

import math
import string
from typing import Any, Callable, Sequence

import torch

from .graph_builder import Constant, NodeContext, static_shape
from .dtypes import is_float

aten = torch.ops.aten

Lowering = Callable[[NodeContext], Any]
LOWERINGS: dict[Any, Lowering] = {}

#: Ops that only check shapes or values at run time; they produce nothing the graph needs.
ASSERTIONS = {aten._assert_tensor_metadata, aten._assert_scalar, aten._assert_async,
              aten.sym_constrain_range_for_size, aten.sym_constrain_range, aten._functional_assert_async}

#: Ops whose result depends only on the shape of their tensor arguments: constants even when their
#: argument is computed from the inputs. (Creation ops with no tensor argument, `arange`, `full`, `ones`,
#: `randn`, are constants anyway: every input they have is constant.) Random tensors shaped like an activation
#: (`randn_like(x)`, noise added in a denoising objective) are constants as `randn(...)` is: no gradient flows
#: into them, and the planner reads a constant's shape and dtype, not its elements.
SHAPE_ONLY = {aten.zeros_like, aten.ones_like, aten.full_like, aten.empty_like, aten.new_zeros,
              aten.new_ones, aten.new_full, aten.new_empty, aten.zero, aten.randn_like, aten.rand_like,
              aten.randint_like}


def lowers(*packets: Any) -> Callable[[Lowering], Lowering]:
    def register(function: Lowering) -> Lowering:
        for packet in packets:
            LOWERINGS[packet] = function
        return function
    return register


def normalised_axis(axis: int, rank: int, context: NodeContext) -> int:
    if not -max(rank, 1) <= axis < max(rank, 1):
        raise context.error(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def named_arguments(context: NodeContext) -> dict[str, Any]:
    """The node's arguments by their names in the overload's schema, defaults included: for op families whose
    overloads put the same argument in different positions (`var(x, unbiased)`, `var.dim(x, dim, unbiased)`)."""
    bound: dict[str, Any] = {}
    for position, argument in enumerate(context.target._schema.arguments):
        if position < len(context.node.args) and not argument.kwarg_only:
            bound[argument.name] = context.node.args[position]
        elif argument.name in context.node.kwargs:
            bound[argument.name] = context.node.kwargs[argument.name]
        elif argument.has_default_value():
            bound[argument.name] = argument.default_value
    return bound


def letters(count: int, avoid: str = "") -> str:
    pool = [c for c in string.ascii_lowercase + string.ascii_uppercase if c not in avoid]
    return "".join(pool[:count])


# Elementwise ------------------------------------------------------------------------------------------

UNARY = {aten.neg: "neg", aten.exp: "exp", aten.log: "log", aten.sqrt: "sqrt", aten.rsqrt: "rsqrt",
         aten.tanh: "tanh", aten.sigmoid: "sigmoid", aten.relu: "relu", aten.silu: "silu", aten.erf: "erf",
         aten.abs: "abs", aten.square: "square"}


def _unary(op: str) -> Lowering:
    def lower(context: NodeContext) -> str:
        x = context.cast(context.tensor(context.arg(0, "self")), context.out_dtype)
        return context.emit(op, [x], context.out_shape, context.out_dtype)
    return lower


for _packet, _op in UNARY.items():
    LOWERINGS[_packet] = _unary(_op)


@lowers(aten.gelu)
def _gelu(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    approximate = context.arg(1, "approximate", "none")
    # The catalog's gelu is the tanh form GPT-2 and Megatron-LM use; the exact erf form is marked, as the
    # JAX exporter marks it (its FLOP count is the same 9 per element in ShardPlan's model).
    attributes = {} if approximate == "tanh" else {"approximate": "none"}
    return context.emit("gelu", [x], context.out_shape, context.out_dtype, **attributes)


ARITHMETIC = {aten.add: "add", aten.sub: "sub", aten.mul: "mul", aten.div: "div", aten.maximum: "max",
              aten.minimum: "min", aten.pow: "pow"}
COMPARISON = {aten.eq: "eq", aten.ne: "ne", aten.lt: "lt", aten.le: "le", aten.gt: "gt", aten.ge: "ge"}
LOGICAL = {aten.logical_and: "and", aten.logical_or: "or", aten.bitwise_and: "and", aten.bitwise_or: "or"}


def _operand_dtype(context: NodeContext, a: Any, b: Any) -> str:
    """The dtype both operands of a comparison or logical op are brought to, as PyTorch promotes: a float
    tensor over an integer one, and a float scalar makes an integer tensor f32."""
    tensors = [context.tensor_dtype(x) for x in (a, b) if context.is_tensor(x)]
    floats = [d for d in tensors if is_float(d)]
    if floats:
        return floats[0]
    if any(isinstance(context.value(x), float) for x in (a, b)):
        return "f32"
    return tensors[0]


def _binary(op: str) -> Lowering:
    def lower(context: NodeContext) -> str:
        a, b = context.arg(0, "self"), context.arg(1, "other")
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "and", "or"):
            dtype = _operand_dtype(context, a, b)
        else:
            dtype = context.out_dtype
        alpha = context.arg(2, "alpha", 1)
        if op in ("add", "sub") and alpha != 1:
            scaled = context.cast(context.tensor(b, dtype), dtype)
            b = context.emit("scale", [scaled], context.shape(scaled), dtype, role="alpha", factor=float(alpha))
        if op == "div" and context.arg(2, "rounding_mode") is not None:
            raise context.error("division with a rounding mode (floor or trunc) has no catalog op")
        scalar = context.value(b)
        if op in ("mul", "div") and isinstance(scalar, (int, float)) and not isinstance(scalar, bool) \
                and is_float(context.out_dtype) and context.is_tensor(a):
            factor = float(scalar) if op == "mul" else 1.0 / float(scalar)
            x = context.cast(context.tensor(a), dtype)
            return context.emit("scale", [x], context.out_shape, context.out_dtype, factor=factor)
        if op == "pow" and isinstance(scalar, (int, float)) and context.is_tensor(a):
            return _power(context, context.cast(context.tensor(a), dtype), float(scalar))
        x = context.cast(context.tensor(a, dtype), dtype)
        y = context.cast(context.tensor(b, dtype), dtype)
        return context.emit(op, [x, y], context.out_shape, context.out_dtype)
    return lower


def _power(context: NodeContext, x: str, exponent: float) -> str:
    shape, dtype = context.out_shape, context.out_dtype
    if exponent == 1:
        return x
    named = {2.0: "square", 0.5: "sqrt", -0.5: "rsqrt"}
    if exponent in named:
        return context.emit(named[exponent], [x], shape, dtype)
    power = context.tensor(exponent, dtype)
    return context.emit("pow", [x, power], shape, dtype)


for _table in (ARITHMETIC, COMPARISON, LOGICAL):
    for _packet, _op in _table.items():
        LOWERINGS[_packet] = _binary(_op)


@lowers(aten.rsub)
def _rsub(context: NodeContext) -> str:
    """`other - alpha * self`."""
    dtype = context.out_dtype
    x = context.cast(context.tensor(context.arg(0, "self"), dtype), dtype)
    alpha = context.arg(2, "alpha", 1)
    if alpha != 1:
        x = context.emit("scale", [x], context.shape(x), dtype, role="alpha", factor=float(alpha))
    other = context.tensor(context.arg(1, "other"), dtype)
    return context.emit("sub", [other, x], context.out_shape, dtype)


@lowers(aten.reciprocal)
def _reciprocal(context: NodeContext) -> str:
    dtype = context.out_dtype
    x = context.cast(context.tensor(context.arg(0, "self")), dtype)
    return context.emit("div", [context.tensor(1.0, dtype), x], context.out_shape, dtype)


@lowers(aten.log1p, aten.expm1)
def _log1p_expm1(context: NodeContext) -> str:
    dtype, shape = context.out_dtype, context.out_shape
    x = context.cast(context.tensor(context.arg(0, "self")), dtype)
    one = context.tensor(1.0, dtype)
    if context.target.overloadpacket is aten.log1p:
        return context.emit("log", [context.emit("add", [x, one], shape, dtype, role="plus_one")], shape, dtype)
    return context.emit("sub", [context.emit("exp", [x], shape, dtype), one], shape, dtype, role="minus_one")


@lowers(aten.clamp, aten.clamp_min, aten.clamp_max)
def _clamp(context: NodeContext) -> str:
    dtype, shape = context.out_dtype, context.out_shape
    packet = context.target.overloadpacket
    x = context.cast(context.tensor(context.arg(0, "self")), dtype)
    low = context.arg(1, "min") if packet is not aten.clamp_max else None
    high = context.arg(2, "max") if packet is aten.clamp else context.arg(1, "max") if packet is aten.clamp_max else None
    if low is not None:
        x = context.emit("max", [x, context.cast(context.tensor(low, dtype), dtype)], shape, dtype, role="min")
    if high is not None:
        x = context.emit("min", [x, context.cast(context.tensor(high, dtype), dtype)], shape, dtype, role="max")
    return x


@lowers(aten.logical_not)
def _logical_not(context: NodeContext) -> str:
    x = context.cast(context.tensor(context.arg(0, "self")), "bool")
    return context.emit("eq", [x, context.tensor(False, "bool")], context.out_shape, "bool")


@lowers(aten.bitwise_not)
def _bitwise_not(context: NodeContext) -> str:
    """`~mask` on booleans is logical_not; on integers it flips bits, which no catalog op does."""
    dtype = context.tensor_dtype(context.arg(0, "self"))
    if dtype != "bool":
        raise context.error(f"bitwise_not of {dtype} flips bits, which no catalog op does; on booleans (~mask) it "
                            "is supported as logical_not")
    return _logical_not(context)


@lowers(aten.where)
def _where(context: NodeContext) -> str:
    if len(context.node.args) < 3:
        raise context.error("where(condition) with one argument returns indices; only where(c, a, b) is supported")
    dtype = context.out_dtype
    condition = context.cast(context.tensor(context.arg(0, "condition")), "bool")
    a = context.cast(context.tensor(context.arg(1, "self"), dtype), dtype)
    b = context.cast(context.tensor(context.arg(2, "other"), dtype), dtype)
    return context.emit("where", [condition, a, b], context.out_shape, dtype)


@lowers(aten.masked_fill)
def _masked_fill(context: NodeContext) -> str:
    dtype = context.out_dtype
    x = context.tensor(context.arg(0, "self"))
    mask = context.cast(context.tensor(context.arg(1, "mask")), "bool")
    fill = context.cast(context.tensor(context.arg(2, "value"), dtype), dtype)
    return context.emit("where", [mask, fill, x], context.out_shape, dtype)


@lowers(aten.dropout)
def _dropout(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "input"))
    rate, train = float(context.arg(1, "p")), bool(context.arg(2, "train"))
    if not train or rate == 0:
        return x
    if not 0 < rate < 1:
        raise context.error(f"dropout rate {rate} is outside (0, 1)")
    return context.emit("dropout", [x], context.out_shape, context.out_dtype, rate=rate)


@lowers(aten.detach)
def _detach(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    return context.emit("stop_gradient", [x], context.out_shape, context.out_dtype)


@lowers(aten.contiguous, aten.clone, aten.alias, aten.lift_fresh_copy)
def _same_value(context: NodeContext) -> Any:
    return context.value(context.arg(0, "self"))


@lowers(aten.to, aten._to_copy, aten.type_as)
def _convert(context: NodeContext) -> str:
    # Devices and memory formats do not exist in the graph; only the dtype can change.
    return context.cast(context.tensor(context.arg(0, "self")), context.out_dtype)


# Contractions -----------------------------------------------------------------------------------------

def _add_bias(context: NodeContext, y: str, bias_argument: Any) -> str:
    if bias_argument is None:
        return y
    bias = context.cast(context.tensor(bias_argument), context.dtype(y))
    return context.emit("add", [y, bias], context.shape(y), context.dtype(y), role="add_bias")


@lowers(aten.linear)
def _linear(context: NodeContext) -> str:
    """`x @ w.T + b`: one einsum over w's own `[out, in]` layout (no transpose op), then the bias."""
    x = context.tensor(context.arg(0, "input"))
    w = context.tensor(context.arg(1, "weight"))
    rank = len(context.shape(x))
    if len(context.shape(w)) != 2:
        raise context.error(f"linear needs a 2-D weight, found shape {list(context.shape(w))}")
    batch = letters(rank - 1, avoid="kn")
    equation = f"{batch}k,nk->{batch}n"
    y = context.emit("einsum", [x, w], context.out_shape, context.out_dtype, equation=equation)
    return _add_bias(context, y, context.arg(2, "bias"))


@lowers(aten.matmul, aten.mm, aten.bmm)
def _matmul(context: NodeContext) -> str:
    a = context.tensor(context.arg(0, "self"))
    b = context.tensor(context.arg(1, "other"))
    return context.emit("matmul", [a, b], context.out_shape, context.out_dtype)


@lowers(aten.addmm, aten.baddbmm)
def _addmm(context: NodeContext) -> str:
    """`beta * input + alpha * (a @ b)`."""
    beta, alpha = context.arg(3, "beta", 1), context.arg(4, "alpha", 1)
    shape, dtype = context.out_shape, context.out_dtype
    a = context.tensor(context.arg(1, "mat1" if context.target.overloadpacket is aten.addmm else "batch1"))
    b = context.tensor(context.arg(2, "mat2" if context.target.overloadpacket is aten.addmm else "batch2"))
    product = context.emit("matmul", [a, b], shape, dtype)
    if alpha != 1:
        product = context.emit("scale", [product], shape, dtype, role="alpha", factor=float(alpha))
    if beta == 0:
        return product
    bias = context.tensor(context.arg(0, "self"), dtype)
    if beta != 1:
        bias = context.emit("scale", [bias], context.shape(bias), dtype, role="beta", factor=float(beta))
    return context.emit("add", [product, bias], shape, dtype, role="add_bias")


@lowers(aten.einsum)
def _einsum(context: NodeContext) -> str:
    equation = str(context.arg(0, "equation")).replace(" ", "")
    operands = [context.tensor(x) for x in context.arg(1, "tensors")]
    return context.emit("einsum", operands, context.out_shape, context.out_dtype, equation=equation)


# Reductions and normalisations -------------------------------------------------------------------------

def reduced_axes(dims: int | Sequence[int] | None, rank: int, context: NodeContext) -> list[int]:
    """The sorted axes a `dim` argument names; none or an empty list is every axis, as PyTorch reads it."""
    if isinstance(dims, int):
        dims = [dims]
    return list(range(rank)) if not dims else sorted(normalised_axis(d, rank, context) for d in dims)


def _reduce(kind: str, all_axes: bool) -> Lowering:
    def lower(context: NodeContext) -> str:
        x = context.tensor(context.arg(0, "self"))
        rank = len(context.shape(x))
        if all_axes:
            axes, keepdims = list(range(rank)), False
        else:
            axes = reduced_axes(context.arg(1, "dim"), rank, context)
            keepdims = bool(context.arg(2, "keepdim", False))
        dtype = context.arg(3 if not all_axes else 1, "dtype")
        if dtype is not None:
            x = context.cast(x, context.graph_dtype(dtype))
        # PyTorch sums booleans and narrower integers as int64 (`mask.sum(1)` counts): the catalog's reduce keeps
        # its input's dtype and takes no booleans, so the input is cast to the result's dtype first.
        x = context.cast(x, context.out_dtype)
        attributes: dict[str, Any] = {"kind": kind, "axes": axes}
        if keepdims:
            attributes["keepdims"] = True
        if context.out_dtype == "bool":
            # amax/amin of booleans (any/all): the reduce runs on i8, and its result is cast back.
            y = context.emit("reduce", [context.cast(x, "i8")], context.out_shape, "i8", **attributes)
            return context.cast(y, "bool")
        return context.emit("reduce", [x], context.out_shape, context.out_dtype, **attributes)
    return lower


LOWERINGS[aten.sum] = lambda context: _reduce("sum", context.target._overloadname == "default")(context)
LOWERINGS[aten.mean] = lambda context: _reduce("mean", context.target._overloadname == "default")(context)
LOWERINGS[aten.amax] = _reduce("max", False)
LOWERINGS[aten.amin] = _reduce("min", False)


@lowers(aten.var, aten.std, aten.var_mean, aten.std_mean)
def _variance(context: NodeContext) -> str | list[str]:
    """var and std (and their `_mean` forms, which also return the mean) over `dim`: the mean kept in place,
    the centred squares, then their mean (`correction` 0) or their sum over n - correction (1, Bessel's, is
    `unbiased=True` and the default); std is its square root."""
    arguments = named_arguments(context)
    x = context.tensor(arguments["self"])
    shape, dtype = context.shape(x), context.dtype(x)
    axes = reduced_axes(arguments.get("dim"), len(shape), context)
    correction = arguments.get("correction")
    if correction is None:
        correction = 1 if arguments.get("unbiased", True) else 0
    keepdims = {"keepdims": True} if arguments.get("keepdim", False) else {}
    packet = context.target.overloadpacket
    results = context.node.meta.get("val")
    results = results if isinstance(results, (list, tuple)) else [results]
    result_shapes = [static_shape(r.shape, context) for r in results]
    kept = [1 if axis in axes else size for axis, size in enumerate(shape)]
    mean = context.emit("reduce", [x], kept, dtype, role="mean", kind="mean", axes=axes, keepdims=True)
    centred = context.emit("sub", [x, mean], shape, dtype, role="centred")
    squares = context.emit("square", [centred], shape, dtype, role="squares")
    count = math.prod(shape[axis] for axis in axes)
    if correction == 0:
        spread = context.emit("reduce", [squares], result_shapes[0], dtype, kind="mean", axes=axes, **keepdims)
    else:
        if count <= correction:
            raise context.error(f"correction {correction} leaves no degrees of freedom over {count} elements")
        total = context.emit("reduce", [squares], result_shapes[0], dtype, role="sum", kind="sum", axes=axes, **keepdims)
        spread = context.emit("scale", [total], result_shapes[0], dtype, role="correction",
                              factor=1.0 / (count - float(correction)))
    if packet in (aten.std, aten.std_mean):
        spread = context.emit("sqrt", [spread], result_shapes[0], dtype)
    if packet in (aten.var, aten.std):
        return spread
    return [spread, reshape(context, mean, result_shapes[1], "mean_squeezed")]


@lowers(aten.max, aten.min)
def _extremum(context: NodeContext) -> str:
    kind = "max" if context.target.overloadpacket is aten.max else "min"
    overload = context.target._overloadname
    if overload == "default":
        return _reduce(kind, True)(context)
    if overload == "other":
        return _binary(kind)(context)
    raise context.error(f"{kind} over a dimension also returns indices, which the graph cannot hold; use amax/amin")


@lowers(aten.softmax, aten._softmax, aten.log_softmax, aten._log_softmax)
def _softmax(context: NodeContext) -> str:
    packet = context.target.overloadpacket
    op = "log_softmax" if packet in (aten.log_softmax, aten._log_softmax) else "softmax"
    x = context.tensor(context.arg(0, "self"))
    axis = normalised_axis(int(context.arg(1, "dim")), len(context.shape(x)), context)
    x = context.cast(x, context.out_dtype)
    return context.emit(op, [x], context.out_shape, context.out_dtype, axis=axis)


def _norm_axes(context: NodeContext, x: str, normalized_shape: Sequence[int]) -> int | list[int]:
    rank = len(context.shape(x))
    count = len(normalized_shape)
    if tuple(context.shape(x)[rank - count:]) != tuple(normalized_shape):
        raise context.error(f"normalized_shape {list(normalized_shape)} is not the trailing shape of {list(context.shape(x))}")
    axes = list(range(rank - count, rank))
    return axes[0] if count == 1 else axes


@lowers(aten.layer_norm)
def _layer_norm(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "input"))
    axis = _norm_axes(context, x, context.arg(1, "normalized_shape"))
    weight, bias = context.arg(2, "weight"), context.arg(3, "bias")
    if weight is None and bias is not None:
        raise context.error("layer_norm with a bias but no weight has no catalog form (gamma comes before beta)")
    inputs = [x] + [context.tensor(t) for t in (weight, bias) if t is not None]
    epsilon = float(context.arg(4, "eps", 1e-5))
    return context.emit("layer_norm", inputs, context.out_shape, context.out_dtype, axis=axis, epsilon=epsilon)


@lowers(aten.rms_norm)
def _rms_norm(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "input"))
    axis = _norm_axes(context, x, context.arg(1, "normalized_shape"))
    weight = context.arg(2, "weight")
    inputs = [x] + ([context.tensor(weight)] if weight is not None else [])
    epsilon = context.arg(3, "eps")
    if epsilon is None:  # PyTorch's default: the machine epsilon of the input's dtype
        epsilon = torch.finfo(context.result.dtype).eps
    return context.emit("rms_norm", inputs, context.out_shape, context.out_dtype, axis=axis, epsilon=float(epsilon))


@lowers(aten.batch_norm)
def _batch_norm(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "input"))
    weight, bias = context.arg(1, "weight"), context.arg(2, "bias")
    if not context.arg(5, "training"):
        # Eval mode (module.eval(), a frozen BatchNorm): PyTorch normalises with the running statistics.
        return _frozen_batch_norm(context, x, weight, bias)
    if weight is None or bias is None:
        raise context.error("batch_norm without affine weight and bias has no catalog form")
    inputs = [x, context.tensor(weight), context.tensor(bias)]
    return context.emit("batch_norm", inputs, context.out_shape, context.out_dtype, axis=1,
                        epsilon=float(context.arg(7, "eps", 1e-5)))


def _frozen_batch_norm(context: NodeContext, x: str, weight: Any, bias: Any) -> str:
    """BatchNorm with the running statistics (`training=False`): a per-channel affine map, which couples no
    two samples. `scale = weight * rsqrt(running_var + eps)` and `shift = bias - running_mean * scale` are
    `[C]` tensors (the weight and bias stay the model's parameters, trainable or not as there; the running
    statistics are buffers, so constants, and what depends on them alone is folded), reshaped to
    `[C, 1, ...]` to broadcast along axis 1; then `x * scale + shift`."""
    mean, var = context.arg(3, "running_mean"), context.arg(4, "running_var")
    if mean is None or var is None:
        raise context.error("batch_norm in eval mode (training=False) without running statistics normalises "
                            "nothing PyTorch can compute")
    shape, dtype = context.out_shape, context.out_dtype
    if len(shape) < 2:
        raise context.error(f"batch_norm needs a [N, C, ...] input, found shape {list(shape)}")
    channels = (shape[1],)
    epsilon = float(context.arg(7, "eps", 1e-5))

    def channel(op: str, operands: list[Any], role: str) -> Any:
        """`op` over per-channel operands: a constant when every operand is one, else an op."""
        values = [_as_dtype(context, context.value(v), dtype) for v in operands]
        if all(isinstance(v, (Constant, float)) for v in values):
            tensors = [v.values if isinstance(v, Constant) else v for v in values]
            computed = None
            if all(t is not None and (not isinstance(t, torch.Tensor) or t.device.type != "meta") for t in tensors):
                computed = _CHANNEL_OPS[op](*tensors).to(context.result.dtype).expand(channels)
            source = next(v.source for v in values if isinstance(v, Constant))  # `bn.running_var`
            return Constant(channels, dtype, f"{source.rpartition('.')[0] or source}.{role}", computed)
        names = [context.cast(context.tensor(v, dtype), dtype) for v in values]
        return context.emit(op, names, channels, dtype, role=role)

    inverse_std = channel("rsqrt", [channel("add", [var, epsilon], "var_eps")], "inverse_std")
    scale = inverse_std if weight is None else channel("mul", [weight, inverse_std], "scale")
    centre = channel("mul", [mean, scale], "mean_scaled")
    shift = channel("neg", [centre], "shift") if bias is None else channel("sub", [bias, centre], "shift")
    broadcastable = [channels[0]] + [1] * (len(shape) - 2)
    scale, shift = (_channels_first(context, v, broadcastable, role)
                    for v, role in ((scale, "scale_channels"), (shift, "shift_channels")))
    scaled = context.emit("mul", [context.cast(x, dtype), scale], shape, dtype, role="scaled")
    return context.emit("add", [scaled, shift], shape, dtype)


_CHANNEL_OPS: dict[str, Callable[..., torch.Tensor]] = {
    "add": lambda a, b: torch.as_tensor(a) + b, "mul": lambda a, b: torch.as_tensor(a) * b,
    "sub": lambda a, b: torch.as_tensor(a) - b, "neg": lambda a: -torch.as_tensor(a),
    "rsqrt": lambda a: torch.rsqrt(torch.as_tensor(a)),
}


def _as_dtype(context: NodeContext, value: Any, dtype: str) -> Any:
    """A constant converted to `dtype` (its values too); a Python number as a float; a graph tensor as is."""
    if isinstance(value, Constant):
        if value.dtype == dtype:
            return value
        values = None if value.values is None else value.values.to(context.result.dtype)
        return Constant(value.shape, dtype, value.source, values)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _channels_first(context: NodeContext, value: Any, shape: list[int], role: str) -> str:
    """A `[C]` tensor as `shape` (`[C, 1, 1]` for an NCHW input): a reshaped constant or a `reshape` op."""
    if isinstance(value, Constant):
        values = None if value.values is None else value.values.reshape(shape)
        return context.tensor(Constant(tuple(shape), value.dtype, value.source, values))
    return reshape(context, value, shape, role)


# Neural-network ops ------------------------------------------------------------------------------------

@lowers(aten.embedding)
def _embedding(context: NodeContext) -> str:
    table = context.tensor(context.arg(0, "weight"))
    ids = context.tensor(context.arg(1, "indices"))
    return context.emit("embedding", [ids, table], context.out_shape, context.out_dtype)


@lowers(aten.index_select)
def _index_select(context: NodeContext) -> str:
    table = context.tensor(context.arg(0, "self"))
    if len(context.shape(table)) != 2 or normalised_axis(int(context.arg(1, "dim")), 2, context) != 0:
        raise context.error("index_select is supported only as a row lookup of a 2-D table (dim 0): an embedding")
    ids = context.tensor(context.arg(2, "index"))
    return context.emit("embedding", [ids, table], context.out_shape, context.out_dtype)


@lowers(aten.index)
def _index(context: NodeContext) -> str:
    table = context.tensor(context.arg(0, "self"))
    indices = context.arg(1, "indices")
    if len(context.shape(table)) != 2 or len(indices) != 1 or indices[0] is None:
        raise context.error("indexing is supported only as table[ids] on a 2-D table (an embedding lookup)")
    ids = context.tensor(indices[0])
    if is_float(context.dtype(ids)) or context.dtype(ids) == "bool":
        raise context.error("indexing with a boolean or float index (a mask) has no catalog op")
    return context.emit("embedding", [ids, table], context.out_shape, context.out_dtype)


@lowers(aten.scaled_dot_product_attention)
def _attention(context: NodeContext) -> str:
    """PyTorch's `[batch, heads, seq, head_dim]` to the catalog's `[batch, seq, heads, head_dim]` and back."""
    q, k, v = (context.tensor(context.arg(i, name)) for i, name in enumerate(("query", "key", "value")))
    if context.arg(3, "attn_mask") is not None:
        raise context.error("an explicit attn_mask has no place in the catalog's attention op; use is_causal=True "
                            "for a causal mask, or write the scores, mask and softmax as separate ops")
    if float(context.arg(4, "dropout_p", 0.0)) != 0:
        raise context.error("attention dropout (dropout_p > 0) has no place in the catalog's attention op; "
                            "use dropout_p=0, or write the scores, softmax and dropout as separate ops")
    causal = bool(context.arg(5, "is_causal", False))
    for name in (q, k, v):
        if len(context.shape(name)) != 4:
            raise context.error(f"attention needs 4-D [batch, heads, seq, head_dim] tensors, found {list(context.shape(name))}")
    qs, ks = context.shape(q), context.shape(k)
    if ks[1] != qs[1] and not context.arg(7, "enable_gqa", False):
        raise context.error("key/value heads differ from query heads without enable_gqa=True")
    if qs[1] % ks[1]:
        raise context.error(f"query heads {qs[1]} are not a multiple of key/value heads {ks[1]}")
    if causal and qs[2] != ks[2]:
        raise context.error(f"causal attention with {qs[2]} queries and {ks[2]} keys: the catalog's causal mask needs equal lengths")
    scale = context.arg(6, "scale")
    if scale is not None and not math.isclose(float(scale), 1 / math.sqrt(qs[3]), rel_tol=1e-12):
        # The catalog's attention scales by 1/sqrt(head_dim); another scale is the same as scaling q first.
        q = context.emit("scale", [q], qs, context.dtype(q), role="query_scale",
                         factor=float(scale) * math.sqrt(qs[3]))
    perm = [0, 2, 1, 3]
    q, k, v = (transpose(context, x, perm, role) for x, role in ((q, "q"), (k, "k"), (v, "v")))
    b, s, h, _ = context.shape(q)
    dv = context.shape(v)[3]
    attributes = {"causal": True} if causal else {}
    out = context.emit("attention", [q, k, v], [b, s, h, dv], context.dtype(q), **attributes)
    return transpose(context, out, perm, "context")


@lowers(aten.cross_entropy_loss)
def _cross_entropy(context: NodeContext) -> str:
    logits = context.tensor(context.arg(0, "self"))
    labels = context.tensor(context.arg(1, "target"))
    if context.arg(2, "weight") is not None:
        raise context.error("cross_entropy with class weights has no catalog form")
    if int(context.arg(3, "reduction", 1)) != 1:
        raise context.error("cross_entropy is supported with reduction='mean' only (the catalog's loss is the mean); "
                            "for a masked mean, set the masked labels to ignore_index (-100) instead, which averages "
                            "over the others")
    if float(context.arg(5, "label_smoothing", 0.0)) != 0:
        raise context.error("cross_entropy with label smoothing has no catalog form")
    # ignore_index (default -100) only masks positions by their label's value; the cost is the same.
    if is_float(context.dtype(labels)) or context.dtype(labels) == "bool":
        raise context.error("cross_entropy with class probabilities as targets has no catalog form; use class indices")
    return _mean_cross_entropy(context, logits, labels)


@lowers(aten.nll_loss_nd, aten.nll_loss, aten.nll_loss_forward)
def _nll_loss(context: NodeContext) -> Any:
    """`nll_loss(log_softmax(x, classes), labels)`, the classic classification loss, is what `cross_entropy(x, labels)`
    computes and how PyTorch runs it (`cross_entropy` is `log_softmax` then `nll_loss`): the catalog's
    `cross_entropy` of x. `nll_loss` of anything else picks one element per row, which no catalog op does."""
    log_probabilities = context.tensor(context.arg(0, "self"))
    labels = context.tensor(context.arg(1, "target"))
    if context.arg(2, "weight") is not None:
        raise context.error("nll_loss with class weights has no catalog form")
    if int(context.arg(3, "reduction", 1)) != 1:
        raise context.error("nll_loss is supported with reduction='mean' only (the catalog's loss is the mean); for a "
                            "masked mean, set the masked labels to ignore_index (-100) instead")
    producer = context.builder.producers.get(log_probabilities)
    shape = context.shape(log_probabilities)
    classes = 1 if len(shape) > 1 else 0
    if producer is None or producer["op"] != "log_softmax" or producer["axis"] != classes:
        raise context.error("nll_loss is supported only of log_softmax over the classes (dimension 1, as "
                            "F.log_softmax(x, -1) of [N, C] logits gives), which is cross_entropy of the logits: "
                            "picking one element per row of other scores has no catalog op")
    return _mean_cross_entropy(context, producer["inputs"][0], labels)


def _mean_cross_entropy(context: NodeContext, logits: str, labels: str) -> str:
    shape = context.shape(logits)
    if len(shape) > 2:
        # PyTorch puts the classes in dimension 1 ([N, C, d1, ...]); the catalog's last.
        perm = [0, *range(2, len(shape)), 1]
        logits = transpose(context, logits, perm, "classes_last")
    loss = context.emit("cross_entropy", [logits, labels], [], "f32")
    return context.cast(loss, context.out_dtype)


@lowers(aten.mse_loss)
def _mse_loss(context: NodeContext) -> str:
    """`(x - target)^2`, then its mean (the default), its sum, or nothing (`reduction='none'`)."""
    dtype = context.out_dtype
    x = context.cast(context.tensor(context.arg(0, "self")), dtype)
    target = context.cast(context.tensor(context.arg(1, "target"), dtype), dtype)
    shape = tuple(torch.broadcast_shapes(context.shape(x), context.shape(target)))
    squares = context.emit("square", [context.emit("sub", [x, target], shape, dtype, role="error")], shape, dtype,
                           role="squared_error")
    reduction = int(context.arg(2, "reduction", 1))  # 0 none, 1 mean, 2 sum (ATen's Reduction enum)
    if reduction == 0:
        return squares
    kind = "mean" if reduction == 1 else "sum"
    return context.emit("reduce", [squares], context.out_shape, dtype, kind=kind, axes=list(range(len(shape))))


def per_axis(value: int | Sequence[int], count: int) -> list[int]:
    """A window argument (stride, padding, size) as one integer per spatial axis."""
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(value) == count else [int(value[0])] * count
    return [int(value)] * count


@lowers(aten.conv1d, aten.conv2d)
def _conv(context: NodeContext) -> str:
    spatial = 1 if context.target.overloadpacket is aten.conv1d else 2
    return _convolution(context, spatial, context.arg(3, "stride", 1), context.arg(4, "padding", 0),
                        context.arg(5, "dilation", 1), int(context.arg(6, "groups", 1)))


@lowers(aten.convolution)
def _convolution_op(context: NodeContext) -> str:
    if context.arg(6, "transposed"):
        raise context.error("transposed convolution has no catalog form")
    spatial = len(context.shape(context.tensor(context.arg(1, "weight")))) - 2
    if spatial not in (1, 2):
        raise context.error(f"a convolution over {spatial} spatial dimensions has no catalog form (1 or 2 only)")
    return _convolution(context, spatial, context.arg(3, "stride"), context.arg(4, "padding"),
                        context.arg(5, "dilation"), int(context.arg(8, "groups")))


def _convolution(context: NodeContext, spatial: int, stride: Any, padding: Any, dilation: Any, groups: int) -> str:
    """The catalog's `conv2d`. A 1-D convolution is a conv2d of height 1 (`[N, C, L]` as `[N, C, 1, L]`, the
    weight `[O, C/groups, k]` as `[O, C/groups, 1, k]`, and the result back to `[N, O, L']`); an unbatched
    input gains a batch of 1 the same way. The bias is a `reshape` to `[O, 1, 1]` and an `add`."""
    x = context.tensor(context.arg(0, "input"))
    w = context.tensor(context.arg(1, "weight"))
    if isinstance(padding, str):
        if padding != "valid":
            raise context.error(f"padding={padding!r} is not supported; give the padding as numbers")
        padding = 0
    if any(d != 1 for d in per_axis(dilation, spatial)):
        raise context.error("dilated convolution has no catalog form")
    stride, padding = per_axis(stride, spatial), per_axis(padding, spatial)
    out_shape, x_shape, w_shape = context.out_shape, context.shape(x), context.shape(w)
    height = [1] * (2 - spatial)
    batch = [] if len(x_shape) == spatial + 2 else [1]
    x = reshape(context, x, [*batch, *x_shape[:-spatial], *height, *x_shape[-spatial:]], "input_2d")
    w = reshape(context, w, [*w_shape[:2], *height, *w_shape[2:]], "weight_2d")
    shape = [*batch, *out_shape[:-spatial], *height, *out_shape[-spatial:]]
    y = context.emit("conv2d", [x, w], shape, context.out_dtype, stride=height + stride,
                     padding=[0] * len(height) + padding, groups=groups)
    bias = context.arg(2, "bias")
    if bias is not None:
        b = reshape(context, context.tensor(bias), [shape[1], 1, 1], "bias_channels")
        y = context.emit("add", [y, b], shape, context.out_dtype, role="add_bias")
    return reshape(context, y, out_shape, "output")


def _pool(kind: str) -> Lowering:
    def lower(context: NodeContext) -> str:
        x = context.tensor(context.arg(0, "self"))
        window = context.arg(1, "kernel_size")
        stride = context.arg(2, "stride") or window
        padding = context.arg(3, "padding", 0)
        if kind == "max":
            dilation, ceil_mode = context.arg(4, "dilation", 1), context.arg(5, "ceil_mode", False)
            if any(d != 1 for d in (dilation if isinstance(dilation, (list, tuple)) else [dilation])):
                raise context.error("dilated pooling has no catalog form")
        else:
            ceil_mode = context.arg(4, "ceil_mode", False)
            if context.arg(6, "divisor_override") is not None:
                raise context.error("avg_pool2d with divisor_override has no catalog form")
        if ceil_mode:
            raise context.error("pooling with ceil_mode=True has no catalog form")
        return context.emit("pool2d", [x], context.out_shape, context.out_dtype, kind=kind, window=per_axis(window, 2),
                            stride=per_axis(stride, 2), padding=per_axis(padding, 2))
    return lower


LOWERINGS[aten.max_pool2d] = _pool("max")
LOWERINGS[aten.avg_pool2d] = _pool("avg")


@lowers(aten.adaptive_avg_pool2d)
def _adaptive_avg_pool(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    _, _, height, width = context.shape(x)
    out_h, out_w = context.out_shape[2:]
    if height % out_h or width % out_w:
        raise context.error(f"adaptive pooling from {height}x{width} to {out_h}x{out_w} has uneven windows")
    window = [height // out_h, width // out_w]
    return context.emit("pool2d", [x], context.out_shape, context.out_dtype, kind="avg", window=window,
                        stride=window, padding=[0, 0])


# Layout -----------------------------------------------------------------------------------------------

@lowers(aten.view, aten.reshape, aten._unsafe_view, aten.flatten, aten.unflatten, aten.squeeze,
        aten.unsqueeze, aten.view_as)
def _reshape(context: NodeContext) -> Any:
    return reshape(context, context.tensor(context.arg(0, "self")), context.out_shape)


def reshape(context: NodeContext, x: str, shape: Sequence[int], role: str | None = None) -> str:
    """`x` as `shape`: itself when it already has it. A reshape that merges an axis a `broadcast` grew with an axis
    of the data (`repeat_interleave`, `repeat`, Hugging Face's `repeat_kv`: `expand` then `reshape`) cannot be a
    view in PyTorch, which copies the expanded tensor first: an `identity` of the broadcast stands for that copy
    (one kernel writing every copy; its backward sums them), as the planner prices torchtitan's `repeat_kv`."""
    if tuple(context.shape(x)) == tuple(shape):
        return x
    if _merges_broadcast_axes(context, x, shape):
        x = context.emit("identity", [x], context.shape(x), context.dtype(x), role="copy")
    return context.emit("reshape", [x], shape, context.dtype(x), role=role, shape=list(shape))


def _merges_broadcast_axes(context: NodeContext, x: str, shape: Sequence[int]) -> bool:
    """Whether reshaping `x`, a `broadcast`'s result, to `shape` merges one of the axes the broadcast grew (stride 0
    in PyTorch) with an axis of size above 1 that it did not grow: a merge no strides can express."""
    producer = context.builder.producers.get(x)
    if producer is None or producer["op"] != "broadcast":
        return False
    source, dims = context.shape(producer["inputs"][0]), producer["dims"]
    old = list(context.shape(x))
    grown = [size > 1 and (axis not in dims or source[dims.index(axis)] == 1) for axis, size in enumerate(old)]
    # A group of axes merged or split together ends wherever the leading products of both shapes agree.
    boundaries = {math.prod(shape[:i]) for i in range(len(shape) + 1)}
    group = []
    for axis in range(len(old)):
        group.append(axis)
        if math.prod(old[: axis + 1]) in boundaries:
            if len({grown[a] for a in group if old[a] > 1}) == 2:
                return True
            group = []
    return False


def transpose(context: NodeContext, x: str, perm: list[int], role: str | None = None) -> str:
    """`x` with its dimensions permuted. A transpose of a transpose is one transpose of the first one's
    input (none when they cancel, as PyTorch's `[b, h, s, d]` attention layout and the catalog's
    `[b, s, h, d]` do); the first is then left without readers and out of the document."""
    producer = context.builder.producers.get(x)
    if producer is not None and producer["op"] == "transpose":
        inner = producer["perm"]
        x, perm = producer["inputs"][0], [inner[p] for p in perm]
    if perm == list(range(len(perm))):
        return x
    shape = [context.shape(x)[p] for p in perm]
    return context.emit("transpose", [x], shape, context.dtype(x), role=role, perm=perm)


@lowers(aten.permute)
def _permute(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    rank = len(context.shape(x))
    return transpose(context, x, [normalised_axis(int(d), rank, context) for d in context.arg(1, "dims")])


@lowers(aten.transpose, aten.swapaxes)
def _transpose(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    rank = len(context.shape(x))
    a, b = (normalised_axis(int(context.arg(i, name)), rank, context) for i, name in ((1, "dim0"), (2, "dim1")))
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(context, x, perm)


@lowers(aten.t, aten.numpy_T)
def _t(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    return transpose(context, x, list(reversed(range(len(context.shape(x))))))


@lowers(aten.expand, aten.expand_as, aten.broadcast_to)
def _expand(context: NodeContext) -> str:
    return broadcast_to(context, context.tensor(context.arg(0, "self")), context.out_shape)


def broadcast_to(context: NodeContext, x: str, shape: Sequence[int], role: str | None = None) -> str:
    """`x` broadcast to `shape` as NumPy aligns dimensions (from the right): itself when it has the shape."""
    rank = len(context.shape(x))
    if tuple(context.shape(x)) == tuple(shape):
        return x
    dims = list(range(len(shape) - rank, len(shape)))
    return context.emit("broadcast", [x], shape, context.dtype(x), role=role, shape=list(shape), dims=dims)


@lowers(aten.broadcast_tensors)
def _broadcast_tensors(context: NodeContext) -> list[str]:
    """Each tensor broadcast to the common shape (`F.mse_loss` calls it first): itself where it has that shape."""
    results = context.node.meta.get("val")
    return [broadcast_to(context, context.tensor(t), static_shape(r.shape, context), role=str(index))
            for index, (t, r) in enumerate(zip(context.arg(0, "tensors"), results))]


@lowers(aten.fill)
def _fill_value(context: NodeContext) -> Any:
    """Every element set to `value` (the out-of-place form of `fill_`, as `h[:, 0] = 0` writes): a constant,
    or a 0-d tensor computed from the inputs broadcast to the shape."""
    return _assigned(context, context.value(context.arg(1, "value")))


@lowers(aten.copy)
def _copy(context: NodeContext) -> Any:
    """`src` broadcast to `self`'s shape and cast to its dtype (the out-of-place form of `copy_`, as
    `h[:, 1] = x[:, 1]` writes)."""
    return _assigned(context, context.value(context.arg(1, "src")))


def _assigned(context: NodeContext, value: Any) -> Any:
    shape, dtype = context.out_shape, context.out_dtype
    if isinstance(value, (bool, int, float)):
        return Constant(shape, dtype, "fill", torch.full((), value, dtype=context.result.dtype).expand(shape))
    if isinstance(value, Constant):
        values = None
        if value.values is not None and value.values.device.type != "meta":
            values = value.values.to(context.result.dtype).expand(shape)
        return Constant(shape, dtype, value.source, values)
    return broadcast_to(context, context.cast(context.tensor(value), dtype), shape)


@lowers(aten.repeat)
def _repeat(context: NodeContext) -> str:
    """x tiled along each axis: every tiled axis gains a size-1 axis before it, which a `broadcast` grows to the
    count, and a `reshape` merges the pairs (leading axes PyTorch adds are size-1 axes from the start)."""
    x = context.tensor(context.arg(0, "self"))
    counts = [int(r) for r in context.arg(1, "repeats")]
    shape = [1] * (len(counts) - len(context.shape(x))) + list(context.shape(x))
    split, tiled = [], []
    for count, size in zip(counts, shape):
        split += [1, size] if count != 1 else [size]
        tiled += [count, size] if count != 1 else [size]
    x = reshape(context, x, split, "split")
    if tiled != split:
        x = context.emit("broadcast", [x], tiled, context.dtype(x), shape=tiled, dims=list(range(len(tiled))))
    return reshape(context, x, context.out_shape, "merge")


@lowers(aten.repeat_interleave)
def _repeat_interleave(context: NodeContext) -> str:
    """Each element repeated `repeats` times along `dim` (the flattened tensor without one): a size-1 axis
    after `dim`, a `broadcast` to the count, and a `reshape` merging the two."""
    if context.target._overloadname != "self_int":
        raise context.error("repeat_interleave with a tensor of counts has no catalog form; give one count as an int")
    x = context.tensor(context.arg(0, "self"))
    dim = context.arg(2, "dim")
    if dim is None:
        x = reshape(context, x, [math.prod(context.shape(x))], "flatten")
    axis = 0 if dim is None else normalised_axis(int(dim), len(context.shape(x)), context)
    shape = list(context.shape(x))
    single = shape[: axis + 1] + [1] + shape[axis + 1:]
    repeated = shape[: axis + 1] + [int(context.arg(1, "repeats"))] + shape[axis + 1:]
    x = reshape(context, x, single, "split")
    x = context.emit("broadcast", [x], repeated, context.dtype(x), shape=repeated, dims=list(range(len(repeated))))
    return reshape(context, x, context.out_shape, "merge")


@lowers(aten.pad, aten.constant_pad_nd)
def _pad(context: NodeContext) -> str:
    """Constant padding, from the last axis backwards: a negative amount crops (a `slice`), a positive one is
    a `constant` block of the fill value on that side, joined by a `concat`."""
    x = context.tensor(context.arg(0, "self"))
    if context.target.overloadpacket is aten.pad:
        mode = context.arg(2, "mode", "constant")
        if mode != "constant":
            raise context.error(f"{mode} padding has no catalog form; only constant padding is supported")
        value = context.arg(3, "value") or 0
    else:
        value = context.arg(2, "value", 0)
    amounts = [int(p) for p in context.arg(1, "pad")]
    for index in range(0, len(amounts), 2):
        axis = len(context.shape(x)) - 1 - index // 2
        before, after = amounts[index], amounts[index + 1]
        size = context.shape(x)[axis]
        x = _slice(context, x, axis, max(-before, 0), size - max(-after, 0), role="crop")
        parts = [_fill(context, x, axis, before, value), x, _fill(context, x, axis, after, value)]
        parts = [part for part in parts if part is not None]
        if len(parts) > 1:
            shape = list(context.shape(x))
            shape[axis] = sum(context.shape(part)[axis] for part in parts)
            x = context.emit("concat", parts, shape, context.dtype(x), axis=axis)
    return x


def _fill(context: NodeContext, x: str, axis: int, amount: int, value: float) -> str | None:
    """A constant block shaped like `x` but `amount` long along `axis`, every element `value`; None for none."""
    if amount <= 0:
        return None
    shape = list(context.shape(x))
    shape[axis] = amount
    block = torch.full((), value, dtype=context.result.dtype).expand(shape)
    return context.tensor(Constant(tuple(shape), context.dtype(x), "padding", block))


@lowers(aten.triu, aten.tril)
def _triangle(context: NodeContext) -> str:
    """x with the elements outside its upper (lower) triangle zeroed: a `where` with a constant mask over the
    last two axes."""
    x = context.tensor(context.arg(0, "self"))
    diagonal = int(context.arg(1, "diagonal", 0))
    rows, columns = context.shape(x)[-2:]
    keep = torch.ones(rows, columns, dtype=torch.bool)
    upper = context.target.overloadpacket is aten.triu
    keep = keep.triu(diagonal) if upper else keep.tril(diagonal)
    mask = context.tensor(Constant((rows, columns), "bool", "triu_mask" if upper else "tril_mask", keep))
    zero = context.tensor(0, context.dtype(x))
    return context.emit("where", [mask, x, zero], context.out_shape, context.out_dtype)


@lowers(aten.cat, aten.concat, aten.concatenate)
def _cat(context: NodeContext) -> str:
    tensors = [context.tensor(t) for t in context.arg(0, "tensors")]
    tensors = [t for t in tensors if math.prod(context.shape(t)) > 0]
    rank = len(context.out_shape)
    axis = normalised_axis(int(context.arg(1, "dim", 0)), rank, context)
    dtype = context.out_dtype
    return context.emit("concat", [context.cast(t, dtype) for t in tensors], context.out_shape, dtype, axis=axis)


@lowers(aten.stack)
def _stack(context: NodeContext) -> str:
    tensors = [context.tensor(t) for t in context.arg(0, "tensors")]
    rank = len(context.out_shape)
    axis = normalised_axis(int(context.arg(1, "dim", 0)), rank, context)
    dtype = context.out_dtype
    expanded = []
    for t in tensors:
        shape = list(context.shape(t))
        shape.insert(axis, 1)
        # As in cat, parts of different dtypes are promoted to the result's first (the catalog's concat
        # reads one dtype).
        t = context.cast(t, dtype)
        expanded.append(context.emit("reshape", [t], shape, dtype, role="expand_dims", shape=shape))
    return context.emit("concat", expanded, context.out_shape, dtype, axis=axis)


def _slice(context: NodeContext, x: str, axis: int, start: int, end: int, role: str | None = None) -> str:
    shape = list(context.shape(x))
    if start == 0 and end == shape[axis]:
        return x
    shape[axis] = end - start
    return context.emit("slice", [x], shape, context.dtype(x), role=role, axis=axis, start=start, end=end)


def _bounds(start: int | None, end: int | None, size: int) -> tuple[int, int]:
    """Python's slice bounds, clamped as PyTorch clamps them."""
    start, end = 0 if start is None else start, size if end is None else end
    start, end = start + size if start < 0 else start, end + size if end < 0 else end
    start, end = min(max(start, 0), size), min(max(end, 0), size)
    return start, max(start, end)


@lowers(aten.slice)
def _slice_op(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    rank = len(context.shape(x))
    axis = normalised_axis(int(context.arg(1, "dim", 0)), rank, context)
    if int(context.arg(4, "step", 1)) != 1:
        raise context.error("a strided slice (step != 1) has no catalog op")
    start, end = _bounds(context.arg(2, "start"), context.arg(3, "end"), context.shape(x)[axis])
    if start == end:
        raise context.error("an empty slice has no catalog op (dimensions are positive)")
    return _slice(context, x, axis, start, end)


@lowers(aten.narrow)
def _narrow(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    axis = normalised_axis(int(context.arg(1, "dim")), len(context.shape(x)), context)
    start = int(context.arg(2, "start"))
    start = start + context.shape(x)[axis] if start < 0 else start
    return _slice(context, x, axis, start, start + int(context.arg(3, "length")))


@lowers(aten.select)
def _select(context: NodeContext) -> str:
    x = context.tensor(context.arg(0, "self"))
    axis = normalised_axis(int(context.arg(1, "dim")), len(context.shape(x)), context)
    index = int(context.arg(2, "index"))
    index = index + context.shape(x)[axis] if index < 0 else index
    part = _slice(context, x, axis, index, index + 1, role="slice")
    return context.emit("reshape", [part], context.out_shape, context.dtype(x), shape=list(context.out_shape))


def _pieces(context: NodeContext, x: str, axis: int, sizes: Sequence[int], squeeze: bool) -> list[str]:
    pieces, start = [], 0
    for index, size in enumerate(sizes):
        piece = _slice(context, x, axis, start, start + size, role=str(index))
        if squeeze:
            shape = [d for i, d in enumerate(context.shape(piece)) if i != axis]
            piece = context.emit("reshape", [piece], shape, context.dtype(x), role=f"{index}.squeeze", shape=shape)
        pieces.append(piece)
        start += size
    return pieces


@lowers(aten.split, aten.split_with_sizes, aten.chunk, aten.unbind)
def _split(context: NodeContext) -> list[str]:
    x = context.tensor(context.arg(0, "self"))
    packet = context.target.overloadpacket
    results = context.node.meta.get("val")
    if packet is aten.unbind:
        axis = normalised_axis(int(context.arg(1, "dim", 0)), len(context.shape(x)), context)
        return _pieces(context, x, axis, [1] * context.shape(x)[axis], squeeze=True)
    axis = normalised_axis(int(context.arg(2, "dim", 0)), len(context.shape(x)), context)
    sizes = [int(r.shape[axis]) for r in results]
    return _pieces(context, x, axis, sizes, squeeze=False)


def supported_ops() -> list[str]:
    """The ATen op names the exporter lowers, sorted (any op whose inputs are all constants is folded
    instead, whatever it is)."""
    return sorted({str(packet).replace("aten.", "") for packet in LOWERINGS})
