"""Exporter: primitive -> catalog op mapping, naming, inlining, dead code, errors."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.ad_checkpoint import checkpoint_name

from shardplan_jax import nn
from shardplan_jax.export import ExportError, export_graph
from shardplan_jax.graph_io import GraphError, dumps_graph, load_graph, validate_graph
from shardplan_jax.interpret import forward_fn


def f32(*shape):
    return jax.ShapeDtypeStruct(shape, jnp.float32)


def export(fn, params, inputs, **kw):
    graph = export_graph(fn, params, inputs, **kw)
    validate_graph(graph)
    return graph


def ops_of(graph):
    return [op["op"] for op in graph["ops"]]


def by_op(graph, kind):
    return [op for op in graph["ops"] if op["op"] == kind]


def test_matmul_becomes_einsum_with_parameters_and_inputs():
    g = export(lambda p, x: x["x"] @ p["w"], {"w": f32(4, 3)}, {"x": f32(2, 4)}, name="mm")
    assert g["format"] == "shardplan.graph/1" and g["name"] == "mm"
    assert g["inputs"] == [{"name": "x", "shape": [2, 4], "dtype": "f32", "batch_dim": 0}]
    assert g["parameters"] == [{"name": "w", "shape": [4, 3], "dtype": "f32"}]
    (op,) = g["ops"]
    assert op["op"] == "einsum" and op["equation"] == "ab,bc->ac" and op["inputs"] == ["x", "w"]
    assert op["shape"] == [2, 3] and g["outputs"] == [op["name"]] == ["output"]


def test_batched_dot_general_equation():
    g = export(lambda p, x: jnp.einsum("bij,bjk->bik", x, p), f32(5, 3, 4), f32(5, 2, 3))
    (op,) = by_op(g, "einsum")
    assert op["equation"] == "abc,acd->abd"


def test_dot_general_of_mixed_dtypes_casts_to_its_result():
    # jnp.matmul(f16, f32) is a dot_general of an f16 and an f32 operand with an f32 result; the einsum read
    # both as they were, which shardplan refuses ("einsum needs operands of one dtype").
    g = export(lambda p, x: jnp.mean(x["x"] @ p["w"]), {"w": f32(4, 3)},
               {"x": jax.ShapeDtypeStruct((2, 4), jnp.float16)}, name="mixed")
    (cast,) = by_op(g, "cast")
    (einsum,) = by_op(g, "einsum")
    assert cast["inputs"] == ["x"] and cast["dtype"] == "f32" and cast["shape"] == [2, 4]
    assert einsum["inputs"] == [cast["name"], "w"] and einsum["dtype"] == "f32"

def test_elementwise_reduce_and_shape_ops():
    def fn(p, x):
        y = jnp.exp(x) + jnp.log(x) - jnp.tanh(x) * jax.nn.sigmoid(x) / lax.rsqrt(x)
        y = jnp.maximum(y, jnp.sqrt(x)) + jnp.minimum(-x, lax.erf(x)) + x ** 2 + jnp.abs(x) ** 3
        y = jnp.transpose(y.reshape(2, 3, 4), (2, 0, 1))
        return jnp.sum(y, axis=0) + jnp.max(y, axis=0) - jnp.min(y, axis=0) + p[None, :]
    g = export(fn, f32(3), f32(6, 4))
    kinds = set(ops_of(g))
    assert {"exp", "log", "tanh", "sigmoid", "rsqrt", "sqrt", "neg", "erf", "square", "abs", "pow", "max",
            "min", "mul", "div", "add", "sub", "reshape", "transpose", "reduce", "broadcast"} <= kinds
    assert sorted(op["kind"] for op in by_op(g, "reduce")) == ["max", "min", "sum"]
    (pw,) = by_op(g, "pow")
    exponent = next(op for op in g["ops"] if op["name"] == pw["inputs"][1])
    assert exponent["op"] == "constant" and exponent["value"] == 3.0


def test_cast_compare_where_concat_slice_iota_constant():
    def fn(p, x):
        mask = lax.broadcasted_iota(jnp.int32, (4, 6), 1) >= 2
        y = jnp.where(mask, x, 0.5)
        z = jnp.concatenate([y, x], axis=1)[1:3, 2:5]
        return z.astype(jnp.bfloat16)
    g = export(fn, {}, f32(4, 6))
    assert {"iota", "ge", "where", "concat", "slice", "cast", "constant"} <= set(ops_of(g))
    slices = by_op(g, "slice")
    assert [(s["axis"], s["start"], s["end"]) for s in slices] == [(0, 1, 3), (1, 2, 5)]
    assert by_op(g, "cast")[0]["dtype"] == "bf16" and g["ops"][-1]["dtype"] == "bf16"
    assert by_op(g, "iota")[0]["dim"] == 1 and by_op(g, "iota")[0]["dtype"] == "i32"
    assert any(op.get("value") == 0.5 for op in by_op(g, "constant"))


def test_scalar_multiply_is_scale_and_stop_gradient_kept():
    g = export(lambda p, x: lax.stop_gradient(x) * 0.125, {}, f32(3))
    assert ops_of(g) == ["stop_gradient", "scale"] and g["ops"][1]["factor"] == 0.125


def test_named_scope_layers_and_checkpoint_names():
    def fn(p, x):
        with jax.named_scope("h0"):
            with jax.named_scope("mlp"):
                h = checkpoint_name(x @ p["w"], "up")
                return jnp.tanh(h)
    g = export(fn, {"w": f32(4, 4)}, f32(2, 4))
    names = [op["name"] for op in g["ops"]]
    assert names == ["h0.mlp.up", "output"]
    assert all(op["layer"] == "h0" for op in g["ops"])
    g2 = export(fn, {"w": f32(4, 4)}, f32(2, 4), layer_depth=2)
    assert g2["ops"][0]["layer"] == "h0/mlp"


def test_auto_names_are_unique_and_scoped():
    def fn(p, x):
        with jax.named_scope("blk"):
            return jnp.exp(x) + jnp.exp(x * 2.0)
    g = export(fn, {}, f32(3))
    names = [op["name"] for op in g["ops"]]
    assert len(set(names)) == len(names)
    assert "blk.exp" in names and "blk.exp_1" in names


def test_inlines_jit_custom_jvp_custom_vjp_and_remat():
    @jax.custom_vjp
    def tripled(x):
        return x * 3.0
    tripled.defvjp(lambda x: (tripled(x), None), lambda r, t: (3.0 * t,))

    @jax.jit
    def inner(x):
        return jax.nn.relu(x) + 1.0

    def fn(p, x):
        return jax.checkpoint(lambda y: jnp.exp(y))(inner(tripled(x)))
    g = export(fn, {}, f32(3))
    assert ops_of(g) == ["scale", "relu", "constant", "add", "exp"]


def test_dead_code_is_dropped_even_if_unsupported():
    def fn(p, x):
        dead = [jnp.sign(x), jnp.exp(x)]  # sign has no catalog op, but neither value reaches the output
        del dead
        return x + 1.0
    g = export(fn, {}, f32(3))
    assert ops_of(g) == ["constant", "add"]



def test_captured_constants_are_copied_into_each_scope_that_reads_them():
    """A NumPy table the model closes over (precomputed RoPE, say) is one constant per scope that reads it, with that
    scope's layer: shared at top level, pipeline stages passed it to each other (Docs/jax.md)."""
    table = np.arange(12, dtype=np.float32).reshape(3, 4) / 7

    def fn(p, x):
        h = x
        for i in range(2):
            with jax.named_scope(f"h{i}"):
                h = (h * jnp.asarray(table)) @ p[i]
        return h
    g = export(fn, [f32(4, 4), f32(4, 4)], f32(3, 4))
    tables = [op for op in by_op(g, "constant") if op["shape"] == [3, 4]]
    assert [(op["name"], op["layer"]) for op in tables] == [("h0.constant", "h0"), ("h1.constant", "h1")]
    assert all(op["values"] == [float(v) for v in table.reshape(-1)] for op in tables)



@pytest.mark.parametrize("key", [jax.random.PRNGKey(0), jax.random.key(0)], ids=["raw", "typed"])
def test_dropout_with_a_key_raises_export_error(key):
    """nn.dropout with a key draws random bits, which are not a graph op: an ExportError naming them (it was a
    TypeError about the key<fry> dtype)."""
    def fn(p, b):
        return jnp.mean(nn.dropout(b["x"] @ p["w"], 0.1, key=key) ** 2)
    with pytest.raises(ExportError, match=r"random bits \(jax.random"):
        export_graph(fn, {"w": f32(16, 16)}, {"x": f32(8, 16)})


def test_dead_random_bits_are_dropped():
    def fn(p, x):
        noise = jax.random.normal(jax.random.PRNGKey(0), x.shape)
        del noise
        return x @ p
    assert ops_of(export(fn, f32(4, 4), f32(2, 4))) == ["einsum"]

def test_unsupported_primitive_is_named():
    with pytest.raises(ExportError, match="cumsum"):
        export_graph(lambda p, x: jnp.cumsum(x), {}, f32(3))
    with pytest.raises(ExportError, match="sort"):
        export_graph(lambda p, x: jnp.sort(x), {}, f32(3))


def test_dynamic_slice_and_update_with_constant_starts_are_slices_and_concats():
    def fn(p, x):
        window = lax.dynamic_slice(x, (0, 2, 0), (4, 3, 6))          # one axis cut: one slice
        clamped = lax.dynamic_slice_in_dim(x, 7, 3, axis=1)          # start 7 clamped to 5, as XLA does
        updated = lax.dynamic_update_slice(x, p, (1, 2, 0))          # [2, 3, 6] into rows 1-2, columns 2-4
        return jnp.sum(window * clamped) + jnp.sum(updated * x)
    g = export(fn, f32(2, 3, 6), f32(4, 8, 6))
    assert "dynamic_slice" not in ops_of(g) and ops_of(g).count("concat") == 2
    window, clamped = by_op(g, "slice")[:2]
    assert (window["axis"], window["start"], window["end"]) == (1, 2, 5)
    assert (clamped["axis"], clamped["start"], clamped["end"]) == (1, 5, 8)
    outer, inner = by_op(g, "concat")[::-1]
    assert (outer["axis"], outer["shape"], inner["axis"], inner["shape"]) == (0, [4, 8, 6], 1, [2, 8, 6])
    key = jax.random.PRNGKey(0)
    params, x = jax.random.normal(key, (2, 3, 6)), jax.random.normal(jax.random.split(key)[0], (4, 8, 6))
    (got,) = forward_fn(g)({"param": params}, {"input": x})
    np.testing.assert_allclose(got, fn(params, x), rtol=1e-6)


def test_dynamic_index_and_update_index_in_dim_at_an_int_are_slices_and_concats():
    # lax's *_index_in_dim wrap a negative index inside the traced call (lt, add, select_n on the literal): the
    # start is still a constant after tracing.
    def fn(p, x):
        last = lax.dynamic_index_in_dim(x, -1, axis=0, keepdims=False)          # x[3]
        written = lax.dynamic_update_index_in_dim(x, p, 2, axis=1)             # column 2 of 8 replaced
        return jnp.sum(last * last) + jnp.sum(written * x)
    g = export(fn, f32(4, 6), f32(4, 8, 6))
    assert "dynamic_slice" not in ops_of(g) and "where" not in ops_of(g) and ops_of(g).count("concat") == 1
    key = jax.random.PRNGKey(1)
    params, x = jax.random.normal(key, (4, 6)), jax.random.normal(jax.random.split(key)[0], (4, 8, 6))
    (got,) = forward_fn(g)({"param": params}, {"input": x})
    np.testing.assert_allclose(got, fn(params, x), rtol=1e-6)


def test_dynamic_slice_at_a_computed_start_is_refused_naming_the_primitive():
    def fn(p, x):
        start = x[0, 0].astype(jnp.int32)
        return jnp.sum(lax.dynamic_slice_in_dim(x, start, 2, axis=1))
    with pytest.raises(ExportError, match="'dynamic_slice' at top level \\(start indices computed at run time"):
        export_graph(fn, {}, f32(4, 8))
    update = lambda p, x: jnp.sum(lax.dynamic_update_slice_in_dim(x, p, x[0, 0].astype(jnp.int32), axis=1))  # noqa: E731
    with pytest.raises(ExportError, match="'dynamic_update_slice'"):
        export_graph(update, f32(4, 2), f32(4, 8))


def test_stack_is_a_reshape_of_each_part_and_one_concat():
    g = export(lambda p, b: jnp.sum(jnp.stack([b["x"] * p, b["x"]], axis=1)), f32(3), {"x": f32(2, 3)})
    assert ops_of(g) == ["broadcast", "mul", "reshape", "reshape", "concat", "reduce"]
    reshapes = [op for op in g["ops"] if op["op"] == "reshape"]
    assert all(op["shape"] == [2, 1, 3] for op in reshapes)
    concat = next(op for op in g["ops"] if op["op"] == "concat")
    assert concat["axis"] == 1 and concat["inputs"] == [op["name"] for op in reshapes]


def test_scalar_input_is_refused_at_export():
    # A 0-D input has no dimension to carry the batch: shardplan would refuse the graph, so the exporter does.
    with pytest.raises(ExportError, match="input t is a scalar"):
        export_graph(lambda p, b: jnp.mean(b["x"]) * b["t"], {}, {"x": f32(4, 3), "t": jax.ShapeDtypeStruct((), jnp.float32)})


def test_dtypes_map_to_spec_names():
    g = export(lambda p, x: (x["a"].astype(jnp.float32) + p) .astype(jnp.float16),
               jax.ShapeDtypeStruct((2,), jnp.float32),
               {"a": jax.ShapeDtypeStruct((2,), jnp.bfloat16)})
    assert g["inputs"][0]["dtype"] == "bf16" and g["ops"][-1]["dtype"] == "f16"
    with pytest.raises(ExportError, match="uint32"):
        export_graph(lambda p, x: x + 1, {}, jax.ShapeDtypeStruct((2,), jnp.uint32))


def test_composites_export_as_one_op():
    def fn(p, b):
        x = nn.embedding(b["ids"], p["emb"])
        x = nn.layer_norm(x, p["g"], p["b"])
        x = nn.rms_norm(x, p["g"])
        x = nn.gelu(x)
        q = x.reshape(2, 3, 2, 4)
        a = nn.attention(q, q, q, causal=True).reshape(2, 3, 8)
        s = nn.softmax(a, axis=1) + nn.log_softmax(a) + nn.dropout(a, 0.1)
        return nn.cross_entropy(s, b["labels"])
    params = {"emb": f32(10, 8), "g": f32(8), "b": f32(8)}
    inputs = {"ids": jax.ShapeDtypeStruct((2, 3), jnp.int32), "labels": jax.ShapeDtypeStruct((2, 3), jnp.int32)}
    g = export(fn, params, inputs)
    assert {"embedding", "layer_norm", "rms_norm", "gelu", "attention", "softmax", "log_softmax", "dropout",
            "cross_entropy"} <= set(ops_of(g))
    assert by_op(g, "softmax")[0]["axis"] == 1 and by_op(g, "log_softmax")[0]["axis"] == 2
    assert by_op(g, "attention")[0]["causal"] is True and by_op(g, "dropout")[0]["rate"] == 0.1
    assert by_op(g, "layer_norm")[0]["epsilon"] == 1e-5 and g["ops"][-1]["shape"] == []


def test_jax_nn_named_functions_and_gather_embedding():
    """jax.nn.relu, silu (swish) and log_softmax are one op each."""
    g = export(lambda p, x: jax.nn.log_softmax(jax.nn.swish(jax.nn.relu(p[x["ids"]])), axis=-1), f32(10, 4),
               {"ids": jax.ShapeDtypeStruct((3,), jnp.int32)})
    assert {"embedding", "relu", "silu", "log_softmax"} <= set(ops_of(g))
    assert not {"logistic", "sigmoid", "exp"} & set(ops_of(g))



@jax.jit
def relu(v):
    """A user's leaky ReLU that happens to be named like jax.nn.relu."""
    return jnp.where(v > 0, v, 0.1 * v)


@jax.jit
def softmax(v):
    """A user's tempered softmax named like jax.nn.softmax."""
    return jax.nn.softmax(v / 2.0, axis=-1)


@jax.jit
def log_softmax(v):
    """A user's tempered log-softmax whose body calls jax.nn.log_softmax."""
    return jax.nn.log_softmax(v / 2.0, axis=-1)


@jax.jit
def silu(v):
    """A user's SiLU with another slope."""
    return v * jax.nn.sigmoid(2.0 * v)


@pytest.mark.parametrize("fn, inlined", [(relu, {"where", "gt"}), (softmax, {"exp", "div"}),
                                         (silu, {"sigmoid", "mul"})])
def test_user_jit_named_like_jax_nn_is_inlined(fn, inlined):
    """A jit named relu/softmax/silu that is not jax.nn's function keeps its own body (it used to export as the
    catalog op, dropping the user's leak, temperature or slope)."""
    params, x = {"w": jnp.eye(4) + 0.5}, {"x": jnp.linspace(-2.0, 2.0, 12).reshape(3, 4)}
    model = lambda p, b: jnp.mean(fn(b["x"] @ p["w"]) ** 2)  # noqa: E731
    g = export(model, params, x)
    assert not {"relu", "softmax", "silu"} & set(ops_of(g)) and inlined <= set(ops_of(g))
    forward = forward_fn(g)
    want, want_grad = jax.value_and_grad(lambda p: model(p, x))(params)
    got, got_grad = jax.value_and_grad(lambda p: forward(p, x)[0])(params)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(got_grad["w"], want_grad["w"], rtol=1e-5, atol=1e-8)


def test_user_jit_wrapping_jax_nn_exports_the_inner_op():
    """A user's jit named log_softmax around jax.nn.log_softmax of something else is inlined, and jax.nn's own
    log_softmax inside it is one op."""
    g = export(lambda p, x: log_softmax(x @ p), f32(4, 4), f32(3, 4))
    assert ops_of(g) == ["einsum", "constant", "div", "log_softmax"]
    assert by_op(g, "log_softmax")[0]["axis"] == 1


def test_jax_nn_softmax_with_custom_jvp_is_one_op():
    """Under jax_softmax_custom_jvp, jax.nn.softmax is a custom_jvp_call of `_softmax`: one softmax op."""
    previous = jax.config.jax_softmax_custom_jvp
    jax.config.update("jax_softmax_custom_jvp", True)
    try:
        g = export(lambda p, x: jax.nn.softmax(x @ p, axis=0), f32(4, 4), f32(3, 4))
    finally:
        jax.config.update("jax_softmax_custom_jvp", previous)
    assert ops_of(g) == ["einsum", "softmax"] and by_op(g, "softmax")[0]["axis"] == 0


def test_graph_json_layout_round_trips():
    g = export(lambda p, x: jnp.tanh(x @ p), f32(4, 4), f32(2, 4))
    text = dumps_graph(g)
    assert text.splitlines()[1].strip().startswith('"format"')
    assert all(line.strip().startswith('{"name"') for line in text.splitlines() if '"op":' in line)
    assert load_graph(json.loads(text)) == g


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g["ops"][0].__setitem__("op", "conv3d"), "unknown op 'conv3d'"),
    (lambda g: g["ops"][0].__setitem__("inputs", ["nope", "param"]), "not defined above"),
    (lambda g: g["ops"].append(dict(g["ops"][0])), "duplicate name"),
    (lambda g: g.__setitem__("format", "shardplan.graph/9"), "format"),
    (lambda g: g["parameters"][0].__setitem__("shape", [4, 0]), "must be positive"),
])
def test_validation_errors_name_the_problem(mutate, message):
    g = export(lambda p, x: x @ p, f32(4, 4), f32(2, 4))
    mutate(g)
    with pytest.raises(GraphError, match=message):
        validate_graph(g)


def test_deterministic_output():
    fn = lambda p, x: jnp.tanh(x @ p["w"] + p["b"])  # noqa: E731
    a = dumps_graph(export(fn, {"w": f32(4, 4), "b": f32(4)}, f32(2, 4)))
    b = dumps_graph(export(fn, {"w": f32(4, 4), "b": f32(4)}, f32(2, 4)))
    assert a == b and np.isfinite(len(a))


@pytest.mark.parametrize("argument", [["--seq", "0"], ["--batch", "-2"], ["--layers", "two"]])
def test_example_export_refuses_counts_below_one(argument, capsys):
    """The example's `export` takes whole counts of at least 1 for its overrides: a usage error (exit 2)."""
    from examples import gpt2

    with pytest.raises(SystemExit) as exit_info:
        gpt2.main(["export", "--config", "tiny", *argument])
    assert exit_info.value.code == 2
    assert "expected a" in capsys.readouterr().err
