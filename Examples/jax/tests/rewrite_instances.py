"""Random small graphs on which each ShardPlan rewrite rule applies, for the equivalence check.

`INSTANCES` lists (rule, alternative, builder); a builder takes a NumPy generator and returns a
`shardplan.graph/1` graph dict whose sizes it draws, so every run of the check sees a few shapes. Every
graph is f32 and small (a few thousand elements per tensor) so that each check runs in a fraction of a
second on CPU.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from examples import gpt2

Graph = dict[str, Any]


class GraphMaker:
    """Builds a graph dict one tensor at a time."""

    def __init__(self, name: str) -> None:
        self.graph: Graph = {"format": "shardplan.graph/1", "name": name, "inputs": [], "parameters": [], "ops": []}

    def input(self, name: str, shape: list[int], dtype: str = "f32") -> str:
        self.graph["inputs"].append({"name": name, "shape": list(shape), "dtype": dtype, "batch_dim": 0})
        return name

    def param(self, name: str, shape: list[int]) -> str:
        self.graph["parameters"].append({"name": name, "shape": list(shape), "dtype": "f32"})
        return name

    def op(self, name: str, op: str, inputs: list[str], **attributes: Any) -> str:
        self.graph["ops"].append({"name": name, "op": op, "inputs": list(inputs), **attributes})
        return name

    def done(self, *outputs: str) -> Graph:
        self.graph["outputs"] = list(outputs)
        return self.graph


def sizes(rng: np.random.Generator, count: int, low: int = 2, high: int = 7) -> list[int]:
    return [int(v) for v in rng.integers(low, high, count)]


def parallel_linears(rng: np.random.Generator, bias: bool) -> Graph:
    """Q, K, V projections of one input (head-aligned weights), optionally with biases."""
    b, s, d, h, k = sizes(rng, 5)
    g = GraphMaker("qkv")
    x = g.input("x", [b, s, d])
    outs = []
    for part in "qkv":
        y = g.op(f"{part}", "einsum", [x, g.param(f"{part}.w", [d, h, k])], equation="bsd,dhk->bshk")
        if bias:
            y = g.op(f"{part}.bias", "add", [y, g.param(f"{part}.b", [h, k])])
        outs.append(g.op(f"{part}.act", "tanh", [y]))
    scores = g.op("scores", "einsum", [outs[0], outs[1]], equation="bshk,bthk->bhst")
    context = g.op("context", "einsum", [g.op("probs", "softmax", [scores], axis=3), outs[2]], equation="bhst,bthk->bshk")
    return g.done(g.op("out", "reduce", [context], kind="sum", axes=[0, 1, 2, 3]))


def gated_mlp(rng: np.random.Generator) -> Graph:
    """A SwiGLU MLP: gate and up projections of one input, silu(gate) * up, down projection."""
    b, d, f = sizes(rng, 3, 2, 9)
    g = GraphMaker("swiglu")
    x = g.input("x", [b, d])
    gate = g.op("gate", "einsum", [x, g.param("gate.w", [d, f])], equation="bd,df->bf")
    up = g.op("up", "einsum", [x, g.param("up.w", [d, f])], equation="bd,df->bf")
    gated = g.op("gated", "mul", [g.op("silu", "silu", [gate]), up])
    return g.done(g.op("down", "einsum", [gated, g.param("down.w", [f, d])], equation="bf,fd->bd"))


def grouped_query_projections(rng: np.random.Generator) -> Graph:
    """Q with more heads than K and V (grouped-query attention), with biases."""
    b, d, kv, k = sizes(rng, 4)
    heads = kv * int(rng.integers(2, 4))
    g = GraphMaker("gqa")
    x = g.input("x", [b, d])
    outs = []
    for part, h in (("q", heads), ("k", kv), ("v", kv)):
        y = g.op(part, "einsum", [x, g.param(f"{part}.w", [d, h, k])], equation="bd,dhk->bhk")
        outs.append(g.op(f"{part}.bias", "add", [y, g.param(f"{part}.b", [h, k])]))
    return g.done(*[g.op(f"{name}.out", "sigmoid", [y]) for name, y in zip("qkv", outs)])


def fused_projection(rng: np.random.Generator) -> Graph:
    """A fused QKV projection with a bias, cut into q, k and v by slices (GPT's layout)."""
    b, s, d, h, k = sizes(rng, 5)
    g = GraphMaker("fused")
    x = g.input("x", [b, s, d])
    qkv = g.op("qkv", "einsum", [x, g.param("qkv.w", [d, 3, h, k])], equation="bsd,dthk->bsthk")
    qkv = g.op("qkv.bias", "add", [qkv, g.param("qkv.b", [3, h, k])])
    outs = []
    for i, part in enumerate("qkv"):
        sliced = g.op(f"{part}.slice", "slice", [qkv], axis=2, start=i, end=i + 1)
        outs.append(g.op(part, "reshape", [sliced], shape=[b, s, h, k]))
    return g.done(g.op("out", "einsum", [outs[0], outs[1], outs[2]], equation="bshk,bshk,bshk->bs"))


def exported_gpt(rng: np.random.Generator) -> Graph:
    """The tiny GPT-2 as the JAX exporter writes it (layer_norm epsilon, gelu approximation, masks)."""
    return gpt2.export(gpt2.CONFIGS["tiny"], "gpt2-tiny")


def low_rank_chain(rng: np.random.Generator) -> Graph:
    """x A B: a low-rank adapter's two products."""
    b, d, r, f = sizes(rng, 4)
    g = GraphMaker("lora")
    x = g.input("x", [b, d])
    h = g.op("down", "einsum", [x, g.param("a", [d, r])], equation="bd,dr->br")
    return g.done(g.op("up", "einsum", [h, g.param("b", [r, f])], equation="br,rf->bf"))


def towers(rng: np.random.Generator) -> Graph:
    """k towers (linear, bias, relu, linear) on one input, joined by a concat and a final linear."""
    b, d, f = sizes(rng, 3)
    return towers_of(int(rng.integers(2, 5)), b, d, f)


def towers_of(count: int, b: int, d: int, f: int, loss: bool = False) -> Graph:
    """`towers` with given sizes; with `loss`, the head's output is reduced to a scalar mean (a model the
    runner trains)."""
    g = GraphMaker("towers")
    x = g.input("x", [b, d])
    outs = []
    for t in range(count):
        h = g.op(f"t{t}.up", "einsum", [x, g.param(f"t{t}.w1", [d, f])], equation="bd,df->bf")
        h = g.op(f"t{t}.bias", "add", [h, g.param(f"t{t}.b1", [f])])
        h = g.op(f"t{t}.relu", "relu", [h])
        outs.append(g.op(f"t{t}.down", "einsum", [h, g.param(f"t{t}.w2", [f, d])], equation="bf,fd->bd"))
    joined = g.op("join", "concat", outs, axis=1)
    head = g.op("head", "einsum", [joined, g.param("head.w", [count * d, d])], equation="bc,cd->bd")
    if loss:
        return g.done(g.op("loss", "reduce", [g.op("head.sq", "square", [head])], kind="mean", axes=[0, 1]))
    return g.done(head)


def normalised_branches(rng: np.random.Generator) -> Graph:
    """Branches through layer_norm (a shared gain, epsilon 1e-3), softmax, reshape and transpose, read
    separately (no concat)."""
    b, s, h, k = sizes(rng, 4)
    g = GraphMaker("branches")
    x = g.input("x", [b, s, h * k])
    gamma, beta = g.param("gamma", [h * k]), g.param("beta", [h * k])
    outs = []
    for t in range(3):
        y = g.op(f"p{t}", "einsum", [x, g.param(f"p{t}.w", [h * k, h * k])], equation="bse,ef->bsf")
        y = g.op(f"p{t}.norm", "layer_norm", [y, gamma, beta], axis=2, epsilon=1e-3)
        y = g.op(f"p{t}.heads", "reshape", [y], shape=[b, s, h, k])
        y = g.op(f"p{t}.t", "transpose", [y], perm=[0, 2, 1, 3])
        outs.append(g.op(f"p{t}.probs", "softmax", [y], axis=3))
    return g.done(*outs)


def transposes(rng: np.random.Generator, cancel: bool) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("transposes")
    x = g.input("x", [a, b, c])
    t = g.op("t1", "transpose", [x], perm=[1, 2, 0])
    t = g.op("t2", "transpose", [t], perm=[2, 0, 1] if cancel else [1, 0, 2])
    return g.done(g.op("out", "tanh", [t]))


def reshapes(rng: np.random.Generator, cancel: bool) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("reshapes")
    x = g.input("x", [a, b, c])
    r = g.op("r1", "reshape", [x], shape=[a * b, c])
    r = g.op("r2", "reshape", [r], shape=[a, b, c] if cancel else [a, b * c])
    return g.done(g.op("out", "exp", [r]))


def transpose_into_einsum(rng: np.random.Generator) -> Graph:
    b, d, f = sizes(rng, 3)
    g = GraphMaker("fold-in")
    x = g.input("x", [d, b])
    t = g.op("xt", "transpose", [x], perm=[1, 0])
    return g.done(g.op("y", "einsum", [t, g.param("w", [d, f])], equation="bd,df->bf"))


def transpose_of_einsum(rng: np.random.Generator) -> Graph:
    b, d, f = sizes(rng, 3)
    g = GraphMaker("fold-out")
    y = g.op("y", "einsum", [g.input("x", [b, d]), g.param("w", [d, f])], equation="bd,df->bf")
    return g.done(g.op("yt", "transpose", [y], perm=[1, 0]))


def elementwise_after_layout(rng: np.random.Generator, kind: str) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("sink")
    x, y = g.input("x", [a, b, c]), g.input("y", [a, b, c])
    if kind == "transpose":
        lx, ly = (g.op(n, "transpose", [v], perm=[2, 0, 1]) for n, v in (("tx", x), ("ty", y)))
    else:
        lx, ly = (g.op(n, "reshape", [v], shape=[a * b, c]) for n, v in (("rx", x), ("ry", y)))
    two = g.op("two", "constant", [], shape=[], dtype="f32", value=2.0)
    summed = g.op("sum", "add", [lx, ly])
    scaled = g.op("scaled", "mul", [g.op("act", "gelu", [summed], approximate="none"), two])
    return g.done(scaled)


def layout_after_elementwise(rng: np.random.Generator, kind: str) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("hoist")
    x, y = g.input("x", [a, b, c]), g.input("y", [a, b, c])
    act = g.op("act", "gelu", [g.op("sum", "add", [x, y])], approximate="none")
    if kind == "transpose":
        out = g.op("t", "transpose", [act], perm=[1, 2, 0])
    else:
        out = g.op("r", "reshape", [act], shape=[a, b * c])
    return g.done(out)


def slice_of_concat(rng: np.random.Generator) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("slice-concat")
    x, y = g.input("x", [a, b]), g.input("y", [a, c])
    joined = g.op("joined", "concat", [x, y], axis=1)
    return g.done(g.op("out", "exp", [g.op("back", "slice", [joined], axis=1, start=b, end=b + c)]))


def concat_of_slices(rng: np.random.Generator) -> Graph:
    a, b, c = sizes(rng, 3)
    g = GraphMaker("concat-slices")
    x = g.input("x", [a, b + c])
    left = g.op("left", "slice", [x], axis=1, start=0, end=b)
    right = g.op("right", "slice", [x], axis=1, start=b, end=b + c)
    return g.done(g.op("whole", "sigmoid", [g.op("joined", "concat", [left, right], axis=1)]))


def shared_id_embeddings(rng: np.random.Generator) -> Graph:
    b, s, v, h1, h2 = sizes(rng, 5)
    g = GraphMaker("embeddings")
    ids = g.input("ids", [b, s], dtype="i32")
    e1 = g.op("e1", "embedding", [ids, g.param("t1", [v, h1])])
    e2 = g.op("e2", "embedding", [ids, g.param("t2", [v, h2])])
    return g.done(g.op("joined", "concat", [e1, e2], axis=2))


def sliced_embedding(rng: np.random.Generator) -> Graph:
    b, v, h1, h2 = sizes(rng, 4)
    g = GraphMaker("embedding-slices")
    ids = g.input("ids", [b], dtype="i32")
    e = g.op("e", "embedding", [ids, g.param("t", [v, h1 + h2])])
    first = g.op("first", "slice", [e], axis=1, start=0, end=h1)
    second = g.op("second", "slice", [e], axis=1, start=h1, end=h1 + h2)
    return g.done(g.op("prod", "einsum", [first, g.op("second.sq", "square", [second])], equation="bi,bj->bij"))


def two_tables(rng: np.random.Generator) -> Graph:
    b, s, v1, v2, h = sizes(rng, 5)
    g = GraphMaker("tables")
    words = g.op("words", "embedding", [g.input("tokens", [b, s], dtype="i32"), g.param("word.table", [v1, h])])
    kinds = g.op("kinds", "embedding", [g.input("types", [b, s], dtype="i32"), g.param("type.table", [v2, h])])
    return g.done(g.op("sum", "add", [words, kinds]))


def identities(rng: np.random.Generator) -> Graph:
    a, b = sizes(rng, 2)
    g = GraphMaker("identities")
    x = g.input("x", [a, b])
    y = g.op("copy", "identity", [x])
    y = g.op("drop", "dropout", [g.op("act", "tanh", [y])], rate=0.0)
    return g.done(g.op("out", "exp", [g.op("one", "scale", [y], factor=1.0)]))


def scales(rng: np.random.Generator) -> Graph:
    a, b = sizes(rng, 2)
    g = GraphMaker("scales")
    x = g.input("x", [a, b])
    return g.done(g.op("out", "scale", [g.op("half", "scale", [x], factor=0.5)], factor=3.0))


def scaled_scores(rng: np.random.Generator) -> Graph:
    """Attention scores scaled after the product: the scale can move onto q or k (longer sequence than
    head size, so both are smaller than the scores)."""
    b, h, k = sizes(rng, 3)
    s = k + int(rng.integers(1, 4))
    g = GraphMaker("scores")
    q, key = g.input("q", [b, s, h, k]), g.input("k", [b, s, h, k])
    scores = g.op("scores", "einsum", [q, key], equation="bshk,bthk->bhst")
    return g.done(g.op("probs", "softmax", [g.op("scaled", "scale", [scores], factor=0.25)], axis=3))


def scaled_operand(rng: np.random.Generator) -> Graph:
    b, d, f = sizes(rng, 3)
    g = GraphMaker("scaled-operand")
    x = g.op("xs", "scale", [g.input("x", [b, d])], factor=-1.5)
    return g.done(g.op("y", "einsum", [x, g.param("w", [d, f])], equation="bd,df->bf"))


Builder = Callable[[np.random.Generator], Graph]

#: (rule, alternative or None, builder): every rule of `shardplan rewrite` at least once.
INSTANCES: list[tuple[str, int | None, Builder]] = [
    ("merge-parallel-contractions", None, lambda rng: parallel_linears(rng, bias=False)),
    ("merge-parallel-contractions", None, lambda rng: parallel_linears(rng, bias=True)),
    ("merge-parallel-contractions", None, gated_mlp),
    ("concatenate-parallel-contractions", None, grouped_query_projections),
    ("split-contraction", None, fused_projection),
    ("split-contraction", None, exported_gpt),
    ("reassociate-contraction", 0, low_rank_chain),
    ("reassociate-contraction", 1, low_rank_chain),
    ("batch-parallel-branches", None, towers),
    ("batch-parallel-branches", None, normalised_branches),
    ("compose-transposes", None, lambda rng: transposes(rng, cancel=False)),
    ("compose-transposes", None, lambda rng: transposes(rng, cancel=True)),
    ("compose-reshapes", None, lambda rng: reshapes(rng, cancel=False)),
    ("compose-reshapes", None, lambda rng: reshapes(rng, cancel=True)),
    ("fold-transpose-into-contraction", None, transpose_into_einsum),
    ("fold-transpose-of-contraction", None, transpose_of_einsum),
    ("sink-transpose", None, lambda rng: elementwise_after_layout(rng, "transpose")),
    ("hoist-transpose", None, lambda rng: layout_after_elementwise(rng, "transpose")),
    ("sink-reshape", None, lambda rng: elementwise_after_layout(rng, "reshape")),
    ("hoist-reshape", None, lambda rng: layout_after_elementwise(rng, "reshape")),
    ("cancel-slice-of-concat", None, slice_of_concat),
    ("cancel-concat-of-slices", None, concat_of_slices),
    ("merge-shared-id-embeddings", None, shared_id_embeddings),
    ("split-embedding-by-hidden", None, sliced_embedding),
    ("merge-embedding-tables", None, two_tables),
    ("remove-identity", None, identities),
    ("merge-scales", None, scales),
    ("move-scale-into-contraction", 0, scaled_scores),
    ("move-scale-into-contraction", 1, scaled_scores),
    ("hoist-scale-out-of-contraction", None, scaled_operand),
]
