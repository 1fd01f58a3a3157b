"""Interpreter: an exported graph computes what the original JAX function computes."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from examples import gpt2
from shardplan_jax import nn
from shardplan_jax.data import integer_range, make_inputs, make_parameters
from shardplan_jax.export import export_graph
from shardplan_jax.graph_io import load_graph
from shardplan_jax.interpret import Interpreter, InterpretError, forward_fn


def flat(tree, default):
    """Graph names of a pytree's leaves (the exporter's naming: path joined by dots, or `default`)."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {".".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path) or default: v for path, v in leaves}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def check_equal(fn, params, inputs, grads=True, tol=1e-5):
    graph = load_graph(json.loads(json.dumps(export_graph(fn, params, inputs, output_names=["out"]))))
    forward = jax.jit(forward_fn(graph))
    want = jax.jit(fn)(params, inputs)
    got = forward(flat(params, "param"), flat(inputs, "input"))[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    assert rel(got, want) <= tol
    if grads:
        gw = flat(jax.jit(jax.grad(lambda p: jnp.sum(fn(p, inputs))))(params), "param")
        gg = jax.jit(jax.grad(lambda p: jnp.sum(forward(p, flat(inputs, "input"))[0])))(flat(params, "param"))
        for name in gw:
            assert rel(gg[name], gw[name]) <= tol, name
    return graph


def rand(*shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def test_mlp_with_gelu_softmax_and_mean():
    def fn(p, x):
        h = jax.nn.gelu(x @ p["w1"] + p["b1"])
        return jnp.mean(jax.nn.softmax(h @ p["w2"], axis=-1) ** 2, axis=0)
    params = {"w1": rand(8, 16), "b1": rand(16, seed=1), "w2": rand(16, 4, seed=2)}
    check_equal(fn, params, rand(5, 8, seed=3))


def test_masking_slicing_concat_and_logsumexp():
    def fn(p, x):
        mask = lax.broadcasted_iota(jnp.int32, x.shape, 1) > lax.broadcasted_iota(jnp.int32, x.shape, 0)
        y = jnp.where(mask, x * p, -1e9)
        z = jnp.concatenate([y[:, :3], jnp.tanh(y[:, 2:])], axis=1)
        return jax.nn.logsumexp(z, axis=1) + jnp.clip(x, -0.5, 0.5).sum(axis=1) + jnp.log1p(x * x).sum(axis=1)
    check_equal(fn, rand(6, 6, seed=4), rand(6, 6, seed=5))


def test_composites_and_integer_inputs():
    def fn(p, b):
        x = nn.embedding(b["ids"], p["emb"])
        x = nn.rms_norm(nn.layer_norm(x, p["g"], p["b"]), p["g"])
        q = x.reshape(2, 5, 4, 2)
        kv = x[..., :4].reshape(2, 5, 2, 2)
        a = nn.attention(q, kv, kv, causal=True).reshape(2, 5, 8)
        return nn.cross_entropy(nn.gelu(a) @ p["out"], b["labels"])
    params = {"emb": rand(11, 8), "g": rand(8, seed=1) + 1.0, "b": rand(8, seed=2), "out": rand(8, 7, seed=3)}
    rng = np.random.default_rng(0)
    inputs = {"ids": jnp.asarray(rng.integers(0, 11, (2, 5)), jnp.int32),
              "labels": jnp.asarray(rng.integers(0, 7, (2, 5)), jnp.int32)}
    graph = check_equal(fn, params, inputs)
    assert integer_range(graph, "ids") == (0, 11) and integer_range(graph, "labels") == (0, 7)


@pytest.mark.parametrize("config", ["tiny", "tiny-untied", "fused"])
def test_gpt2_loss_and_gradients(config):
    cfg = gpt2.CONFIGS["tiny"] if config == "fused" else gpt2.CONFIGS[config]
    if config == "fused":
        cfg = dataclasses.replace(cfg, fused_attention=True)
    cfg = dataclasses.replace(cfg, layers=1, batch=2, seq=8)
    params = gpt2.init_params(cfg)
    rng = np.random.default_rng(1)
    batch = {k: jnp.asarray(rng.integers(0, cfg.vocab, (cfg.batch, cfg.seq)), jnp.int32) for k in ("ids", "labels")}
    check_equal(lambda p, b: gpt2.loss_fn(cfg, p, b), params, batch, tol=2e-5)


def test_hand_written_conv_pool_batch_norm_matmul_graph():
    graph = {
        "format": "shardplan.graph/1", "name": "cnn",
        "inputs": [{"name": "x", "shape": [2, 3, 8, 8], "dtype": "f32", "batch_dim": 0}],
        "parameters": [{"name": "w", "shape": [4, 3, 3, 3], "dtype": "f32"},
                       {"name": "g", "shape": [4], "dtype": "f32"}, {"name": "b", "shape": [4], "dtype": "f32"},
                       {"name": "fc", "shape": [64, 5], "dtype": "f32"}],
        "ops": [
            {"name": "c", "op": "conv2d", "inputs": ["x", "w"], "stride": 1, "padding": 1},
            {"name": "n", "op": "batch_norm", "axis": 1, "inputs": ["c", "g", "b"]},
            {"name": "r", "op": "relu", "inputs": ["n"]},
            {"name": "p", "op": "pool2d", "kind": "max", "window": 2, "inputs": ["r"]},
            {"name": "a", "op": "pool2d", "kind": "avg", "window": [1, 1], "inputs": ["p"]},
            {"name": "f", "op": "reshape", "shape": [2, 64], "inputs": ["a"]},
            {"name": "y", "op": "matmul", "inputs": ["f", "fc"], "shape": [2, 5], "dtype": "f32"},
            {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["y"]},
        ],
        "outputs": ["loss"],
    }
    load_graph(graph)
    params = make_parameters(graph, seed=3)
    inputs = make_inputs(graph, seed=3)
    got = forward_fn(graph)(params, inputs)[0]
    c = lax.conv_general_dilated(inputs["x"], params["w"], (1, 1), [(1, 1), (1, 1)],
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"))
    mean = c.mean(axis=(0, 2, 3), keepdims=True)
    var = ((c - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    n = (c - mean) / jnp.sqrt(var + 1e-5) * params["g"].reshape(1, 4, 1, 1) + params["b"].reshape(1, 4, 1, 1)
    p = jnp.maximum(n, 0).reshape(2, 4, 4, 2, 4, 2).max(axis=(3, 5))
    want = jnp.mean(p.reshape(2, 64) @ params["fc"])
    assert rel(got, want) < 1e-5


def test_stated_shape_mismatch_is_reported():
    graph = {"format": "shardplan.graph/1", "name": "bad",
             "inputs": [{"name": "x", "shape": [2, 3], "dtype": "f32"}], "parameters": [],
             "ops": [{"name": "t", "op": "transpose", "perm": [1, 0], "inputs": ["x"], "shape": [2, 3]}],
             "outputs": ["t"]}
    with pytest.raises(InterpretError, match=r'ops\[0\] "t".*\[3, 2\].*\[2, 3\]'):
        forward_fn(load_graph(graph))({}, {"x": jnp.zeros((2, 3))})


@pytest.mark.parametrize("member", [{"window": 2}, {"sinks": True}])
def test_attention_with_a_window_or_sinks_is_refused(member):
    q = {"name": "q", "shape": [1, 4, 2, 8], "dtype": "f32"}
    graph = {"format": "shardplan.graph/1", "name": "windowed", "inputs": [q], "parameters": [],
             "ops": [{"name": "attn", "op": "attention", "causal": True, "inputs": ["q", "q", "q"], **member}],
             "outputs": ["attn"]}
    with pytest.raises(InterpretError, match=rf'ops\[0\] "attn": attention with {next(iter(member))} is not interpreted'):
        forward_fn(load_graph(graph))({}, {"q": jnp.zeros((1, 4, 2, 8))})


def test_compute_dtype_override_runs_bf16_graph_in_f32():
    graph = export_graph(lambda p, x: jnp.tanh(x @ p), jax.ShapeDtypeStruct((4, 4), jnp.bfloat16),
                         jax.ShapeDtypeStruct((2, 4), jnp.bfloat16))
    interp = Interpreter(graph, compute_dtype="f32")
    env = interp.run({"param": jnp.ones((4, 4)), "input": jnp.ones((2, 4))})
    assert env[graph["outputs"][0]].dtype == jnp.float32


def test_cross_entropy_of_bf16_logits_is_f32():
    """Docs/graph-format.md: `cross_entropy` gives `f32[]`. bf16 logits used to export a bf16 loss, which the planner
    refuses; the op, the function and the interpreter (native dtypes) now all give f32."""
    def fn(p, b):
        return nn.cross_entropy((b["x"] @ p).astype(jnp.bfloat16), b["y"])
    params, inputs = rand(6, 5), {"x": rand(4, 6, seed=1), "y": jnp.arange(4, dtype=jnp.int32) % 5}
    graph = load_graph(json.loads(json.dumps(export_graph(fn, params, inputs, output_names=["loss"]))))
    (op,) = [op for op in graph["ops"] if op["op"] == "cross_entropy"]
    assert op["dtype"] == "f32" and op["shape"] == [] and graph["inputs"][0]["dtype"] == "f32"
    got = forward_fn(graph)({"param": params}, inputs)[0]
    want = fn(params, inputs)
    assert got.dtype == want.dtype == jnp.float32 and rel(got, want) == 0.0
