"""Interpret a `shardplan.graph/1` graph with `jax.numpy`.

`Interpreter(graph).run(env, ops)` evaluates ops in order on a dict of named values; it is traceable, so
`jax.jit`, `jax.value_and_grad` and `jax.vjp` work through it. A `constrain(name, value)` hook lets the
runner pin op outputs to shardings, and a `read(name, operand, value)` hook the layout an op reads each
operand in. Semantics follow SPEC section 1; where SPEC leaves a choice open:

- `gelu` is the tanh approximation unless the op says `"approximate": "none"`;
- `layer_norm` uses `epsilon` 1e-5 and `rms_norm` 1e-6 unless the op gives `epsilon`;
- `dropout` is the identity (the check compares deterministic steps);
- `attention` scales by 1/sqrt(head_dim) unless the op gives `scale`; causal masks align the last query
  with the last key; grouped-query attention maps query head h to kv head h // (heads / kv_heads); an attention
  with a sliding `window` or `sinks` is refused (`InterpretError`), not evaluated without them;
- `cross_entropy` is the mean over all label positions, an f32 scalar computed in f32 whatever the logits' dtype;
- `constant` takes `value` (one value everywhere) or `values` (row-major list); with neither it is zeros;
  +-1e308 in a floating constant is +-inf (JSON has no infinity; f32 and narrower round it to inf);
- `pool2d` `avg` divides by the window size (padding counted); `batch_norm` normalises with the batch
  statistics (training mode) over every axis but `axis`;
- `pow` by a constant with an integral value runs as `lax.integer_pow` (what `x ** 3` traces to).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import nn
from .dtypes import FLOAT_DTYPES, numpy_dtype

Constrain = Callable[[str, jax.Array], jax.Array]
ReadOperand = Callable[[str, int, jax.Array], jax.Array]


class InterpretError(ValueError):
    """An op that cannot be evaluated; the message names the op and its JSON path."""


def _pair(value: Any, default: int) -> tuple[int, int]:
    if value is None:
        return (default, default)
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ValueError(f"expected an integer or a pair of integers, got {value!r}")


def _const_scalar(value: Any) -> Any:
    if isinstance(value, str):
        return float(value)  # "inf", "-inf", "nan"
    return value


class Interpreter:
    """Evaluates the ops of one graph. `compute_dtype` (e.g. "f32") replaces every floating dtype."""

    def __init__(self, graph: Mapping[str, Any], compute_dtype: str | None = None) -> None:
        self.graph = graph
        self.compute_dtype = compute_dtype
        self.ops: list[dict[str, Any]] = list(graph["ops"])
        self.index = {op["name"]: i for i, op in enumerate(self.ops)}
        self.integer_constants: dict[str, int] = {}
        for op in self.ops:
            if op["op"] == "constant" and "value" in op and not isinstance(op["value"], (str, bool)):
                value = float(op["value"])
                if value.is_integer() and abs(value) <= 1024 and op["shape"] == []:
                    self.integer_constants[op["name"]] = int(value)

    # ------------------------------------------------------------------ dtypes
    def dtype(self, spec: str) -> np.dtype:
        """NumPy dtype that runs SPEC dtype `spec` here, after the compute-dtype override."""
        if self.compute_dtype is not None and spec in FLOAT_DTYPES:
            return numpy_dtype(self.compute_dtype)
        return numpy_dtype(spec)

    # ------------------------------------------------------------------ running
    def run(self, env: dict[str, jax.Array], ops: Iterable[str] | None = None,
            constrain: Constrain | None = None, read: ReadOperand | None = None) -> dict[str, jax.Array]:
        """Evaluate `ops` (names, default all) in graph order into `env` and return it. `read(op name,
        operand index, value)` gives the value the op computes with (the runner's operand layouts);
        `constrain(op name, value)` the value stored as the op's result."""
        selected = self.ops if ops is None else [self.ops[self.index[n]] for n in ops]
        for op in selected:
            missing = [n for n in op["inputs"] if n not in env]
            if missing:
                raise InterpretError(f'{self.where(op)}: inputs {missing} have no value here')
            # The op's name scopes its HLO (metadata op_name), so each collective names the graph op it serves.
            with jax.named_scope(op["name"]):
                args = [env[n] for n in op["inputs"]]
                if read is not None:
                    args = [read(op["name"], k, a) for k, a in enumerate(args)]
                try:
                    value = self.eval_op(op, args)
                except InterpretError:
                    raise
                except Exception as err:  # jnp raises TypeError/ValueError with its own wording
                    shapes = [list(np.shape(a)) for a in args]
                    raise InterpretError(f"{self.where(op)}: op {op['op']} failed on input shapes {shapes}: {err}") from err
                self.check(op, value)
                if constrain is not None:
                    value = constrain(op["name"], value)
            env[op["name"]] = value
        return env

    def where(self, op: Mapping[str, Any]) -> str:
        return f'ops[{self.index[op["name"]]}] "{op["name"]}"'

    def check(self, op: Mapping[str, Any], value: jax.Array) -> None:
        if "shape" in op and list(value.shape) != list(op["shape"]):
            raise InterpretError(f"{self.where(op)}: op {op['op']} gives shape {list(value.shape)}, "
                                 f"the graph states {op['shape']}")
        if "dtype" in op and np.dtype(value.dtype) != self.dtype(op["dtype"]):
            raise InterpretError(f"{self.where(op)}: op {op['op']} gives dtype {np.dtype(value.dtype).name}, "
                                 f"the graph states {op['dtype']}")

    # ------------------------------------------------------------------ one op
    def eval_op(self, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
        kind = op["op"]
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise InterpretError(f"{self.where(op)}: the interpreter has no rule for op {kind!r} "
                                 f"(known: {', '.join(sorted(_HANDLERS))})")
        return handler(self, op, args)


# ---------------------------------------------------------------------- op rules
def _einsum(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    out = it.dtype(op["dtype"]) if "dtype" in op else None
    return jnp.einsum(op["equation"], *args, preferred_element_type=out)


def _unary(fn: Callable[[jax.Array], jax.Array]) -> Callable[..., jax.Array]:
    return lambda it, op, args: fn(args[0])


def _binary(fn: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable[..., jax.Array]:
    return lambda it, op, args: fn(args[0], args[1])


def _pow(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    exponent = it.integer_constants.get(op["inputs"][1])
    if exponent is not None:
        return lax.integer_pow(args[0], exponent)
    return jnp.power(args[0], args[1])


def _reduce(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    fn = {"sum": jnp.sum, "mean": jnp.mean, "max": jnp.max, "min": jnp.min}[op["kind"]]
    return fn(args[0], axis=tuple(op["axes"]), keepdims=bool(op.get("keepdims", False)))


def _attention(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    # A sliding window's band mask and a sink's learned logit are not evaluated here (the sinks' logits are not in
    # the graph at all): refused rather than computed as plain softmax attention.
    for member in ("window", "sinks"):
        if op.get(member):
            raise InterpretError(f"{it.where(op)}: attention with {member} is not interpreted")
    return nn.attention_impl(*args, causal=bool(op.get("causal", False)), scale=op.get("scale"))


def _constant(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    dtype = it.dtype(op.get("dtype", "f32"))
    shape = tuple(op["shape"])
    if "value" in op:
        values = [_const_scalar(op["value"])]
    elif "values" in op:
        values = [_const_scalar(v) for v in op["values"]]
    else:
        return jnp.zeros(shape, dtype=dtype)
    with np.errstate(over="ignore"):  # +-1e308 stands for +-inf and overflows on purpose
        array = np.asarray(values, dtype=np.float64 if dtype.kind == "f" else None).astype(dtype)
    if "value" in op:
        return jnp.full(shape, array[0], dtype=dtype)
    return jnp.asarray(array.reshape(shape))


def _conv2d(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    x, w = args
    stride = _pair(op.get("stride"), 1)
    padding = op.get("padding", 0)
    if isinstance(padding, str):
        pads: Any = padding.upper()
    else:
        ph, pw = _pair(padding, 0)
        pads = [(ph, ph), (pw, pw)]
    return lax.conv_general_dilated(x, w, window_strides=stride, padding=pads,
                                    feature_group_count=int(op.get("groups", 1)),
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"))


def _pool2d(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    x = args[0]
    kh, kw = _pair(op["window"], 1)
    sh, sw = _pair(op.get("stride"), 0) if op.get("stride") is not None else (kh, kw)
    ph, pw = _pair(op.get("padding"), 0)
    dims, strides = (1, 1, kh, kw), (1, 1, sh, sw)
    pads = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    if op["kind"] == "max":
        return lax.reduce_window(x, -jnp.inf, lax.max, dims, strides, pads)
    if op["kind"] == "avg":
        return lax.reduce_window(x, 0.0, lax.add, dims, strides, pads) / (kh * kw)
    raise InterpretError(f"{it.where(op)}: pool2d kind {op['kind']!r} is not max or avg")


def _batch_norm(it: Interpreter, op: Mapping[str, Any], args: Sequence[jax.Array]) -> jax.Array:
    x, gamma, beta = args
    axis = op["axis"] % x.ndim
    others = tuple(a for a in range(x.ndim) if a != axis)
    mean = jnp.mean(x, axis=others, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=others, keepdims=True)
    normed = (x - mean) * lax.rsqrt(var + float(op.get("epsilon", 1e-5)))
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return normed * gamma.reshape(shape) + beta.reshape(shape)


_HANDLERS: dict[str, Callable[[Interpreter, Mapping[str, Any], Sequence[jax.Array]], jax.Array]] = {
    "einsum": _einsum,
    "matmul": _binary(jnp.matmul),
    "identity": _unary(lambda x: x),
    "neg": _unary(jnp.negative),
    "abs": _unary(jnp.abs),
    "exp": _unary(jnp.exp),
    "log": _unary(jnp.log),
    "sqrt": _unary(jnp.sqrt),
    "rsqrt": _unary(lax.rsqrt),
    "square": _unary(jnp.square),
    "tanh": _unary(jnp.tanh),
    "sigmoid": _unary(jax.nn.sigmoid),
    "relu": _unary(jax.nn.relu),
    "gelu": lambda it, op, args: nn.gelu_impl(args[0], op.get("approximate", "tanh")),
    "silu": _unary(lambda x: x * jax.nn.sigmoid(x)),
    "erf": _unary(lax.erf),
    "cast": lambda it, op, args: args[0].astype(it.dtype(op["dtype"])),
    "dropout": lambda it, op, args: nn.dropout_identity_impl(args[0], float(op["rate"])),
    "scale": lambda it, op, args: args[0] * jnp.asarray(float(op["factor"]), dtype=args[0].dtype),
    "stop_gradient": _unary(lax.stop_gradient),
    "add": _binary(jnp.add),
    "sub": _binary(jnp.subtract),
    "mul": _binary(jnp.multiply),
    "div": _binary(jnp.divide),
    "max": _binary(jnp.maximum),
    "min": _binary(jnp.minimum),
    "pow": _pow,
    "eq": _binary(jnp.equal),
    "ne": _binary(jnp.not_equal),
    "lt": _binary(jnp.less),
    "le": _binary(jnp.less_equal),
    "gt": _binary(jnp.greater),
    "ge": _binary(jnp.greater_equal),
    "and": _binary(jnp.logical_and),
    "or": _binary(jnp.logical_or),
    "where": lambda it, op, args: jnp.where(args[0], args[1], args[2]),
    "reduce": _reduce,
    "softmax": lambda it, op, args: nn.softmax_impl(args[0], axis=op["axis"] % args[0].ndim),
    "log_softmax": lambda it, op, args: nn.log_softmax_impl(args[0], axis=op["axis"] % args[0].ndim),
    "layer_norm": lambda it, op, args: nn.layer_norm_impl(*args, axis=op["axis"] % args[0].ndim,
                                                          epsilon=float(op.get("epsilon", 1e-5))),
    "rms_norm": lambda it, op, args: nn.rms_norm_impl(*args, axis=op["axis"] % args[0].ndim,
                                                      epsilon=float(op.get("epsilon", 1e-6))),
    "reshape": lambda it, op, args: jnp.reshape(args[0], tuple(op["shape"])),
    "transpose": lambda it, op, args: jnp.transpose(args[0], tuple(op["perm"])),
    "broadcast": lambda it, op, args: lax.broadcast_in_dim(args[0], tuple(op["shape"]), tuple(op["dims"])),
    "concat": lambda it, op, args: jnp.concatenate(args, axis=op["axis"]),
    "slice": lambda it, op, args: lax.slice_in_dim(args[0], op["start"], op["end"], axis=op["axis"]),
    "iota": lambda it, op, args: lax.broadcasted_iota(it.dtype(op.get("dtype", "i32")), tuple(op["shape"]),
                                                      op["dim"]),
    "constant": _constant,
    "embedding": lambda it, op, args: nn.embedding_impl(args[0], args[1]),
    "cross_entropy": lambda it, op, args: nn.cross_entropy_impl(args[0], args[1]).astype(it.dtype("f32")),
    "attention": _attention,
    "conv2d": _conv2d,
    "pool2d": _pool2d,
    "batch_norm": _batch_norm,
}


def known_ops() -> list[str]:
    """Ops the interpreter evaluates."""
    return sorted(_HANDLERS)


def forward_fn(graph: Mapping[str, Any], compute_dtype: str | None = None,
               constrain: Constrain | None = None) -> Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]],
                                                               list[jax.Array]]:
    """`f(params, inputs) -> [outputs...]` for the whole graph (params and inputs keyed by graph name)."""
    interp = Interpreter(graph, compute_dtype)

    def forward(params: Mapping[str, jax.Array], inputs: Mapping[str, jax.Array]) -> list[jax.Array]:
        env: dict[str, jax.Array] = {**params, **inputs}
        interp.run(env, constrain=constrain)
        return [env[n] for n in graph["outputs"]]

    return forward


def with_inferred_shapes(graph: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `graph` in which every op states `shape` and `dtype` (inferred by tracing the
    interpreter with `jax.eval_shape`; stated ones are checked on the way)."""
    from .dtypes import spec_dtype

    interp = Interpreter(graph)
    leaves = {t["name"]: jax.ShapeDtypeStruct(tuple(t["shape"]), numpy_dtype(t["dtype"]))
              for t in [*graph.get("inputs", []), *graph.get("parameters", [])]}
    out = jax.eval_shape(lambda env: interp.run(dict(env)), leaves)
    ops = []
    for op in graph["ops"]:
        entry = dict(op)
        aval = out[op["name"]]
        entry.setdefault("shape", [int(d) for d in aval.shape])
        entry.setdefault("dtype", spec_dtype(aval.dtype))
        ops.append(entry)
    return {**graph, "ops": ops}
