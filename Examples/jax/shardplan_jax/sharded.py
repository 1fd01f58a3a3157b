"""Run one training step of a graph under a plan: one `jax.sharding.Mesh` per stage.

A stage's step is one jitted function, `(params, inputs, boundary_in, cotangents) -> (outputs,
param_grads, boundary_grads)`, that runs the stage's ops forward (each output the plan names pinned with
`with_sharding_constraint`) and then its backward with `jax.vjp`. Parameters, inputs and everything
the stage returns take the plan's shardings (replicated where the plan names none). A single-stage plan
is that one function with the loss cotangent 1. With several stages the step is

    forward  stage 0 .. n-2  (a jitted forward-only function each; activations move with device_put)
    step     stage n-1       (forward + loss + backward)
    step     stage n-2 .. 0  (forward recomputed, backward; cotangents move back with device_put)

so each stage's step compiles the stage's forward and backward collectives exactly once, which is what
`shardplan_jax.collectives` counts. A parameter used by several stages (tied embeddings) lives on each
stage's mesh; its gradients are moved to the first stage that uses it and added. Only boundary values that
carry a gradient (`carrying_gradient`: computed from a parameter, not through `stop_gradient`) get a cotangent
sent back; a constant, or a value computed from constants and inputs alone, gets none, as the plan predicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .dtypes import FLOAT_DTYPES
from .interpret import Interpreter
from .plan_io import Plan, Spec, Stage


@dataclass
class StageProgram:
    """What one stage reads, computes and hands on."""

    stage: Stage
    mesh: Mesh
    params: list[str]
    inputs: list[str]
    boundary_in: list[str]          # values produced by earlier stages
    outputs: list[str]              # values later stages or the graph's outputs need
    diff_in: list[str] = field(default_factory=list)    # boundary inputs that carry a gradient (differentiated)
    diff_out: list[str] = field(default_factory=list)   # float outputs (get cotangents)
    step_compiled: Any = None
    forward_compiled: Any = None


@dataclass
class StepResult:
    """Loss, gradients by parameter name, HLO text of each stage's step, bytes moved between stages."""

    loss: float
    grads: dict[str, np.ndarray]
    stage_hlo: list[str]
    pipeline_send_bytes: list[dict[str, int]]


def spec_to_partition(spec: Spec | None, rank: int) -> PartitionSpec:
    """A plan sharding entry (one item per dim) as a `PartitionSpec`; None means replicated."""
    if spec is None:
        return PartitionSpec(*([None] * rank))
    return PartitionSpec(*[None if e is None else (e[0] if len(e) == 1 else tuple(e)) for e in spec])


def carrying_gradient(graph: Mapping[str, Any]) -> set[str]:
    """Names of the values that carry a gradient, as shardplan counts them (its `GradientFlow`): floating parameters,
    and floating op results with an input that carries one, except through `stop_gradient`. Frozen parameters count
    too (the check compares their gradients as well)."""
    carries = {p["name"] for p in graph.get("parameters", []) if p.get("dtype", "f32") in FLOAT_DTYPES}
    for op in graph["ops"]:
        if op.get("dtype", "f32") in FLOAT_DTYPES and op["op"] != "stop_gradient" \
                and any(name in carries for name in op["inputs"]):
            carries.add(op["name"])
    return carries


def _nbytes(shape: tuple[int, ...], dtype: Any) -> int:
    return int(math.prod(shape)) * np.dtype(dtype).itemsize


class ShardedStep:
    """Builds and runs the per-stage programs of a plan."""

    def __init__(self, graph: Mapping[str, Any], plan: Plan, devices: list[Any],
                 compute_dtype: str | None = "f32") -> None:
        self.graph = graph
        self.plan = plan
        self.interp = Interpreter(graph, compute_dtype)
        self.param_names = [p["name"] for p in graph.get("parameters", [])]
        self.input_names = [p["name"] for p in graph.get("inputs", [])]
        self.loss_name = graph["outputs"][0]
        self.rank = {t["name"]: len(t["shape"]) for t in [*graph.get("inputs", []), *graph.get("parameters", [])]}
        self.rank.update({op["name"]: len(op["shape"]) for op in graph["ops"] if "shape" in op})
        self.carrying_gradient = carrying_gradient(graph)
        self.programs = self._build(devices)

    # ------------------------------------------------------------------ structure
    def _build(self, devices: list[Any]) -> list[StageProgram]:
        ops_by_name = {op["name"]: op for op in self.graph["ops"]}
        stage_of = {name: st.index for st in self.plan.stages for name in st.ops}
        params, inputs = set(self.param_names), set(self.input_names)
        programs = []
        for st in self.plan.stages:
            produced = set(st.ops)
            consumed: list[str] = []
            for name in st.ops:
                for inp in ops_by_name[name]["inputs"]:
                    if inp not in produced and inp not in consumed:
                        consumed.append(inp)
            needed_later = []
            for name in st.ops:
                later = any(stage_of[op["name"]] > st.index and name in op["inputs"] for op in self.graph["ops"])
                if later or name in self.graph["outputs"]:
                    needed_later.append(name)
            mesh_devices = np.array([devices[d] for d in st.devices]).reshape(st.mesh)
            programs.append(StageProgram(
                stage=st, mesh=Mesh(mesh_devices, tuple(st.axes)),
                params=[n for n in self.param_names if n in consumed],
                inputs=[n for n in self.input_names if n in consumed],
                boundary_in=[n for n in consumed if n not in params and n not in inputs],
                outputs=needed_later))
        return programs

    def sharding(self, prog: StageProgram, name: str) -> NamedSharding:
        """The sharding of `name` on `prog`'s mesh: the stage's own entry, else the producing stage's
        entry when its axes exist here, else replicated."""
        spec = prog.stage.shardings.get(name)
        if spec is None:
            for other in self.plan.stages:
                cand = other.shardings.get(name)
                if cand is not None and all(e is None or all(a in prog.stage.axes for a in e) for e in cand):
                    spec = cand
                    break
        return NamedSharding(prog.mesh, spec_to_partition(spec, self.rank[name]))

    def _constrain(self, prog: StageProgram):
        specs = {name: NamedSharding(prog.mesh, spec_to_partition(spec, self.rank[name]))
                 for name, spec in prog.stage.shardings.items() if name in set(prog.stage.ops)}

        def constrain(name: str, value: jax.Array) -> jax.Array:
            sharding = specs.get(name)
            return value if sharding is None else jax.lax.with_sharding_constraint(value, sharding)

        return constrain

    def _read(self, prog: StageProgram):
        """The hook that gives each op its operands in the layout the plan's `operand_shardings` says the
        op reads them in, so that XLA partitions the op the way the plan priced it (a value's own layout
        alone leaves XLA free to, say, gather one operand where the plan slices the other)."""
        inputs_of = {op["name"]: op["inputs"] for op in self.graph["ops"]}
        specs = {name: [None if spec is None else
                        NamedSharding(prog.mesh, spec_to_partition(spec, self.rank[inputs_of[name][k]]))
                        for k, spec in enumerate(entries)]
                 for name, entries in prog.stage.operand_shardings.items()}

        def read(name: str, operand: int, value: jax.Array) -> jax.Array:
            entries = specs.get(name)
            sharding = None if entries is None else entries[operand]
            return value if sharding is None else jax.lax.with_sharding_constraint(value, sharding)

        return read

    # ------------------------------------------------------------------ functions
    def _stage_fn(self, prog: StageProgram):
        constrain = self._constrain(prog)
        read = self._read(prog)
        interp = self.interp
        ops = prog.stage.ops

        def forward(params: dict[str, jax.Array], inputs: dict[str, jax.Array],
                    boundary: dict[str, jax.Array]) -> dict[str, jax.Array]:
            env = {**params, **inputs, **boundary}
            interp.run(env, ops, constrain, read)
            return {n: env[n] for n in prog.outputs}

        return forward

    def _is_float(self, value: Any) -> bool:
        return jnp.issubdtype(value.dtype, jnp.floating)

    # ------------------------------------------------------------------ running
    def run(self, params: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> StepResult:
        """One training step; returns the loss and the gradient of every parameter."""
        acts: dict[str, jax.Array] = {}            # boundary values, on their producer's mesh
        placed: list[tuple[dict, dict, dict]] = []
        sends = [{"activations": 0, "gradients": 0, "tied_parameter_gradients": 0} for _ in self.programs]
        last = len(self.programs) - 1
        # Forward through all but the last stage.
        for s, prog in enumerate(self.programs):
            p = {n: jax.device_put(params[n], self.sharding(prog, n)) for n in prog.params}
            i = {n: jax.device_put(inputs[n], self.sharding(prog, n)) for n in prog.inputs}
            b = {}
            for n in prog.boundary_in:
                b[n] = jax.device_put(acts[n], self.sharding(prog, n))
                producer = self._producer_stage(n)
                sends[producer]["activations"] += _nbytes(acts[n].shape, acts[n].dtype)
            placed.append((p, i, b))
            if s == last:
                break
            forward = self._stage_fn(prog)
            out_sh = {n: self.sharding(prog, n) for n in prog.outputs}
            in_sh = ({n: self.sharding(prog, n) for n in p}, {n: self.sharding(prog, n) for n in i},
                     {n: self.sharding(prog, n) for n in b})
            compiled = jax.jit(forward, in_shardings=in_sh, out_shardings=out_sh).lower(p, i, b).compile()
            prog.forward_compiled = compiled
            acts.update(compiled(p, i, b))
        # Backward, last stage first.
        cot: dict[str, jax.Array] = {}
        grads: dict[str, jax.Array] = {}
        hlo: list[str] = [""] * len(self.programs)
        loss_value: float | None = None
        for s in range(last, -1, -1):
            prog = self.programs[s]
            p, i, b = placed[s]
            forward = self._stage_fn(prog)
            diff_in = [n for n in prog.boundary_in if self._is_float(b[n]) and n in self.carrying_gradient]
            nondiff_in = [n for n in prog.boundary_in if n not in diff_in]
            out_avals = jax.eval_shape(forward, p, i, b)
            diff_out = [n for n in prog.outputs if jnp.issubdtype(out_avals[n].dtype, jnp.floating)]
            prog.diff_in, prog.diff_out = diff_in, diff_out

            def step(p, i, bd, bn, ct, forward=forward, diff_out=diff_out):
                def f(p, bd):
                    out = forward(p, i, {**bd, **bn})
                    return {n: out[n] for n in diff_out}, out
                _, vjp, out = jax.vjp(f, p, bd, has_aux=True)
                gp, gb = vjp(ct)
                return out, gp, gb

            ct = {}
            for n in diff_out:
                if n == self.loss_name:
                    ct[n] = jnp.ones(out_avals[n].shape, out_avals[n].dtype)
                elif n in cot:
                    ct[n] = cot[n]
                else:
                    ct[n] = jnp.zeros(out_avals[n].shape, out_avals[n].dtype)
            ct = {n: jax.device_put(v, self.sharding(prog, n)) for n, v in ct.items()}
            bd = {n: b[n] for n in diff_in}
            bn = {n: b[n] for n in nondiff_in}
            sh = lambda names: {n: self.sharding(prog, n) for n in names}  # noqa: E731
            in_sh = (sh(p), sh(i), sh(bd), sh(bn), sh(ct))
            out_sh = (sh(prog.outputs), sh(p), sh(bd))
            lowered = jax.jit(step, in_shardings=in_sh, out_shardings=out_sh).lower(p, i, bd, bn, ct)
            compiled = lowered.compile()
            prog.step_compiled = compiled
            hlo[s] = compiled.as_text()
            out, gp, gb = compiled(p, i, bd, bn, ct)
            if self.loss_name in out:
                loss_value = float(np.asarray(out[self.loss_name]))
            for n, g in gb.items():
                producer = self._producer_stage(n)
                target = self.sharding(self.programs[producer], n)
                moved = jax.device_put(g, target)
                sends[s]["gradients"] += _nbytes(g.shape, g.dtype)
                cot[n] = cot[n] + moved if n in cot else moved
            for n, g in gp.items():
                first = min(k for k, pr in enumerate(self.programs) if n in pr.params)
                if s != first:
                    g = jax.device_put(g, self.sharding(self.programs[first], n))
                    sends[s]["tied_parameter_gradients"] += _nbytes(g.shape, g.dtype)
                grads[n] = grads[n] + g if n in grads else g
        if loss_value is None:
            raise RuntimeError(f"no stage produced the loss {self.loss_name!r}")
        return StepResult(loss=loss_value, grads={n: np.asarray(g) for n, g in grads.items()},
                          stage_hlo=hlo, pipeline_send_bytes=sends)

    def _producer_stage(self, name: str) -> int:
        for st in self.plan.stages:
            if name in st.ops:
                return st.index
        raise KeyError(name)
