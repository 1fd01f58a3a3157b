"""Neural-network building blocks that export as one `shardplan.graph/1` op each.

Each public function computes its result in plain `jax.numpy` and can be used in any JAX program
(jit, grad, vmap, sharding). It is wrapped in a `jax.jit` whose name encodes the catalog op and its
attributes (`shardplan__layer_norm__axis=2__epsilon=1e-05`); `shardplan_jax.export` recognises the
name and writes one catalog op instead of the dozen primitives inside. The graph interpreter
(`shardplan_jax.interpret`) runs the same `*_impl` functions, so an exported graph computes exactly
what the original function computed.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import lax

COMPOSITE_PREFIX = "shardplan__"


# --------------------------------------------------------------------------- implementations
def gelu_impl(x: jax.Array, approximate: str = "tanh") -> jax.Array:
    """GELU. `approximate="tanh"` (the default, GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)));
    `approximate="none"`: 0.5 x (1 + erf(x / sqrt(2)))."""
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + jnp.tanh(inner))
    if approximate == "none":
        return 0.5 * x * (1.0 + lax.erf(x / math.sqrt(2.0)))
    raise ValueError(f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}")


def softmax_impl(x: jax.Array, axis: int) -> jax.Array:
    """Numerically stable softmax along `axis`."""
    shifted = x - lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    e = jnp.exp(shifted)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def log_softmax_impl(x: jax.Array, axis: int) -> jax.Array:
    """Numerically stable log-softmax along `axis`."""
    shifted = x - lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


def _along(param: jax.Array, ndim: int, axis: int) -> jax.Array:
    """Reshape a 1-D parameter of length x.shape[axis] so that it broadcasts along `axis`."""
    shape = [1] * ndim
    shape[axis] = param.shape[0]
    return param.reshape(shape)


def layer_norm_impl(x: jax.Array, gamma: jax.Array, beta: jax.Array, axis: int, epsilon: float = 1e-5) -> jax.Array:
    """LayerNorm over one axis: (x - mean) / sqrt(var + epsilon) * gamma + beta (biased variance)."""
    mean = jnp.mean(x, axis=axis, keepdims=True)
    centered = x - mean
    var = jnp.mean(centered * centered, axis=axis, keepdims=True)
    normed = centered * lax.rsqrt(var + epsilon)
    return normed * _along(gamma, x.ndim, axis) + _along(beta, x.ndim, axis)


def rms_norm_impl(x: jax.Array, gamma: jax.Array, axis: int, epsilon: float = 1e-6) -> jax.Array:
    """RMSNorm over one axis: x / sqrt(mean(x^2) + epsilon) * gamma."""
    ms = jnp.mean(x * x, axis=axis, keepdims=True)
    return x * lax.rsqrt(ms + epsilon) * _along(gamma, x.ndim, axis)


def embedding_impl(ids: jax.Array, table: jax.Array) -> jax.Array:
    """Row lookup: result[..., :] = table[ids[...], :]."""
    return jnp.take(table, ids, axis=0)


def cross_entropy_impl(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean over all label positions of -log softmax(logits)[label]: an f32 scalar whatever the logits' float
    type (Docs/graph-format.md: `cross_entropy` gives `f32[]`), computed in f32."""
    logits = logits.astype(jnp.float32)
    logp = log_softmax_impl(logits, axis=logits.ndim - 1)
    picked = jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return -jnp.mean(picked)


def attention_impl(q: jax.Array, k: jax.Array, v: jax.Array, causal: bool = False,
                   scale: float | None = None) -> jax.Array:
    """Scaled dot-product attention. q: [batch, q_seq, heads, head_dim]; k, v: [batch, kv_seq, kv_heads,
    head_dim] with heads % kv_heads == 0 (grouped-query attention: query head h reads kv head
    h // (heads // kv_heads)). `scale` defaults to 1/sqrt(head_dim). Causal masking aligns the last
    query with the last key. Returns [batch, q_seq, heads, head_dim]."""
    b, sq, h, d = q.shape
    sk, hk = k.shape[1], k.shape[2]
    if h % hk != 0:
        raise ValueError(f"attention: {h} query heads are not a multiple of {hk} key/value heads")
    group = h // hk
    qg = q.reshape(b, sq, hk, group, d)
    s = jnp.einsum("bqhgd,bkhd->bhgqk", qg, k) * (scale if scale is not None else 1.0 / math.sqrt(d))
    if causal:
        row = lax.broadcasted_iota(jnp.int32, (sq, sk), 0) + (sk - sq)
        col = lax.broadcasted_iota(jnp.int32, (sq, sk), 1)
        s = jnp.where(row >= col, s, jnp.asarray(jnp.finfo(s.dtype).min, s.dtype))
    p = softmax_impl(s, axis=4)
    o = jnp.einsum("bhgqk,bkhd->bqhgd", p, v)
    return o.reshape(b, sq, h, d)


def dropout_identity_impl(x: jax.Array, rate: float) -> jax.Array:
    """Dropout without a random key: the identity (evaluation semantics)."""
    del rate
    return x


# --------------------------------------------------------------------------- composite marking
def composite_name(op: str, attrs: dict[str, Any]) -> str:
    """The jit name that marks a composite: `shardplan__OP__k=v...` with JSON-encoded values."""
    parts = [COMPOSITE_PREFIX + op]
    parts += [f"{k}={json.dumps(v)}" for k, v in sorted(attrs.items())]
    return "__".join(parts)


def parse_composite_name(name: str) -> tuple[str, dict[str, Any]] | None:
    """Invert `composite_name`; None when `name` is not a composite marker."""
    if not name.startswith(COMPOSITE_PREFIX):
        return None
    head, *rest = name[len(COMPOSITE_PREFIX):].split("__")
    attrs: dict[str, Any] = {}
    for part in rest:
        key, _, value = part.partition("=")
        attrs[key] = json.loads(value)
    return head, attrs


@functools.lru_cache(maxsize=None)
def _marked(op: str, impl: Callable[..., jax.Array], frozen: tuple[tuple[str, Any], ...]) -> Callable[..., jax.Array]:
    attrs = dict(frozen)

    def call(*args: jax.Array) -> jax.Array:
        return impl(*args, **attrs)

    call.__name__ = call.__qualname__ = composite_name(op, attrs)
    return jax.jit(call)


def _call(op: str, impl: Callable[..., jax.Array], args: tuple[jax.Array, ...], **attrs: Any) -> jax.Array:
    return _marked(op, impl, tuple(sorted(attrs.items())))(*args)


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for rank {ndim}")
    return axis % ndim


# --------------------------------------------------------------------------- public API
def gelu(x: jax.Array, approximate: bool = True) -> jax.Array:
    """GELU, tanh approximation by default (exports as `gelu`; exact form adds `"approximate": "none"`)."""
    if approximate:
        return _call("gelu", gelu_impl, (x,))
    return _call("gelu", gelu_impl, (x,), approximate="none")


def softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    """Softmax along `axis` (exports as `softmax`)."""
    return _call("softmax", softmax_impl, (x,), axis=_axis(axis, x.ndim))


def log_softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    """Log-softmax along `axis` (exports as `log_softmax`)."""
    return _call("log_softmax", log_softmax_impl, (x,), axis=_axis(axis, x.ndim))


def layer_norm(x: jax.Array, gamma: jax.Array, beta: jax.Array, axis: int = -1, epsilon: float = 1e-5) -> jax.Array:
    """LayerNorm over `axis` (exports as `layer_norm` with `axis` and `epsilon`)."""
    return _call("layer_norm", layer_norm_impl, (x, gamma, beta), axis=_axis(axis, x.ndim), epsilon=float(epsilon))


def rms_norm(x: jax.Array, gamma: jax.Array, axis: int = -1, epsilon: float = 1e-6) -> jax.Array:
    """RMSNorm over `axis` (exports as `rms_norm` with `axis` and `epsilon`)."""
    return _call("rms_norm", rms_norm_impl, (x, gamma), axis=_axis(axis, x.ndim), epsilon=float(epsilon))


def embedding(ids: jax.Array, table: jax.Array) -> jax.Array:
    """`table[ids]` (exports as `embedding`)."""
    return _call("embedding", embedding_impl, (ids, table))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy with integer labels, an f32 scalar computed in f32 (exports as `cross_entropy`)."""
    return _call("cross_entropy", cross_entropy_impl, (logits, labels))


def attention(q: jax.Array, k: jax.Array, v: jax.Array, causal: bool = False) -> jax.Array:
    """Multi-head / grouped-query attention on [batch, seq, heads, head_dim] (exports as `attention`)."""
    return _call("attention", attention_impl, (q, k, v), causal=bool(causal))


def dropout(x: jax.Array, rate: float, key: jax.Array | None = None) -> jax.Array:
    """Dropout. Without `key` it is the identity and exports as `dropout` with `rate` (the planner
    counts its cost; the check runs it as the identity). With `key` it drops for real with
    `jax.random.bernoulli`, which the exporter refuses with an `ExportError` (random bits are not a graph op).
    A rate of 0 is no op at all."""
    if rate == 0.0:
        return x
    if key is None:
        return _call("dropout", dropout_identity_impl, (x,), rate=float(rate))
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))
