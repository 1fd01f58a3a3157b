"""Check a plan on simulated CPU devices: `python -m shardplan_jax.run GRAPH PLAN`.

Runs one training step (loss and the gradient of every parameter) of GRAPH twice, unsharded on one
device and sharded as PLAN says on simulated CPU devices, and compares the two (relative tolerance
`--rtol`, f32 compute). Then lists the collectives XLA compiled into each stage's step, totals their
bytes per mesh axis, and compares them with the plan's `communication_by_axis` and
`pipeline_send_bytes` predictions when the plan has them (`--comm-rtol`). Exit status: 0 all checks
pass; 1 a mismatch or bad input (graph, plan); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .xla_env import configure_cpu_devices


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m shardplan_jax.run",
        description="Run one training step of a shardplan.graph/1 graph unsharded and sharded per a "
                    "shardplan.plan/1 plan; compare results and collectives.")
    parser.add_argument("graph", help="graph JSON file (- for standard input)")
    parser.add_argument("plan", help="plan JSON file")
    parser.add_argument("--rtol", type=float, default=1e-4,
                        help="relative tolerance for the loss and each gradient (L2 norm), default 1e-4")
    parser.add_argument("--comm-rtol", type=float, default=0.0,
                        help="relative tolerance for predicted vs observed collective bytes, default 0 (exact)")
    parser.add_argument("--no-comm-check", action="store_true",
                        help="report collectives but do not fail on a mismatch with the plan's prediction")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameters and inputs, default 0")
    parser.add_argument("--devices", type=int, default=8, help="simulated CPU devices, default 8")
    parser.add_argument("--int-range", action="append", default=[], metavar="NAME=LOW:HIGH",
                        help="value range of an integer input (default: from the ops that read it)")
    parser.add_argument("--compute-dtype", default="f32", choices=["f32", "native"],
                        help="f32 (default) runs every floating tensor in f32; native keeps graph dtypes")
    parser.add_argument("--hlo-dir", help="write each stage's compiled HLO text here")
    parser.add_argument("--report", help="write a JSON report (observed communication per stage) here")
    parser.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    return parser.parse_args(argv)


def _int_ranges(items: list[str]) -> dict[str, tuple[int, int]]:
    out = {}
    for item in items:
        name, _, rng = item.partition("=")
        low, _, high = rng.partition(":")
        try:
            out[name] = (int(low), int(high))
        except ValueError:
            raise SystemExit(f"error: --int-range expects NAME=LOW:HIGH, got {item!r}") from None
    return out


def _relative_error(a: Any, b: Any) -> float:
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = float(np.linalg.norm(b))
    diff = float(np.linalg.norm(a - b))
    if denom == 0.0:
        return 0.0 if diff == 0.0 else float("inf")
    return diff / denom


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        configure_cpu_devices(args.devices)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    import jax
    import numpy as np

    from .collectives import (bytes_by_axis, compare, find_collectives, format_collectives,
                              format_comparison)
    from .data import make_inputs, make_parameters
    from .graph_io import GraphError, load_graph
    from .interpret import InterpretError, forward_fn, with_inferred_shapes
    from .plan_io import PIPELINE_KEYS, PlanError, check_plan, load_plan_json
    from .rewrites import RewriteError, apply_rewrites, derive_parameters, plan_rewrites
    from .sharded import ShardedStep

    say = (lambda *a: None) if args.quiet else print
    compute = None if args.compute_dtype == "native" else args.compute_dtype
    try:
        # A plan of a rewritten graph (`rewrites` in its stages) runs the rewritten graph; the reference and
        # the parameters stay the original model's.
        original = with_inferred_shapes(load_graph(args.graph))
        document = load_plan_json(args.plan)
        records = plan_rewrites(document)
        graph = with_inferred_shapes(apply_rewrites(original, records)) if records else original
        plan = check_plan(document, graph)
    except (GraphError, PlanError, InterpretError, RewriteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    devices = jax.devices()
    if plan.devices > len(devices):
        print(f"error: the plan uses {plan.devices} devices but JAX has {len(devices)}; run with "
              f"--devices {plan.devices}", file=sys.stderr)
        return 1
    loss_name = graph["outputs"][0]
    loss_op = next((op for op in graph["ops"] if op["name"] == loss_name), None)
    if loss_op is not None and loss_op.get("shape", []) != []:
        print(f"error: the graph's first output {loss_name!r} must be a scalar loss, it has shape "
              f"{loss_op['shape']}", file=sys.stderr)
        return 1

    params = make_parameters(original, args.seed, compute)
    inputs = make_inputs(original, args.seed, compute, _int_ranges(args.int_range))
    batch = [t["shape"][t.get("batch_dim", 0)] for t in graph.get("inputs", []) if t["shape"]]
    say(f"graph {graph.get('name', '?')}: {len(graph['ops'])} ops, {len(params)} parameters; "
        f"plan: {len(plan.stages)} stage(s) on {plan.devices} devices"
        + (f"; {len(records)} graph rewrite(s), the rewritten graph has {len(graph['ops'])} ops "
           f"(the model {len(original['ops'])})" if records else ""))
    if plan.global_batch is not None and batch and plan.global_batch != batch[0]:
        say(f"note: the plan's global_batch {plan.global_batch} differs from the graph's batch {batch[0]}; "
            "the check runs the graph's batch")
    frozen = [p["name"] for p in original.get("parameters", []) if p.get("trainable") is False]
    if frozen:
        say(f"note: the graph freezes {len(frozen)} parameter(s); the check compares the gradients of every parameter, "
            "frozen ones included")
    if plan.microbatches not in (None, 1):
        say(f"note: the plan has {plan.microbatches} microbatches; the check runs the whole batch as one")

    # Reference: the original graph on one device, no sharding.
    forward = forward_fn(original, compute)
    try:
        ref_loss, ref_grads = jax.jit(jax.value_and_grad(lambda p, i: forward(p, i)[0]))(
            jax.device_put(params, devices[0]), jax.device_put(inputs, devices[0]))
    except InterpretError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    ref_loss = float(ref_loss)

    # Sharded per the plan, on the rewritten graph's parameters computed from the original ones; their
    # gradients are carried back to the original parameters through that computation (a VJP).
    try:
        step = ShardedStep(graph, plan, devices, compute)
        if records:
            def derive(p):
                return derive_parameters(p, original, records, compute)

            derived, pull_back = jax.vjp(derive, {n: jax.device_put(v, devices[0]) for n, v in params.items()})
            result = step.run({n: np.asarray(v) for n, v in derived.items()}, inputs)
            cotangent = {n: np.asarray(result.grads[n]) if n in result.grads else np.zeros(np.shape(v), np.asarray(v).dtype)
                         for n, v in derived.items()}
            result.grads = {n: np.asarray(g) for n, g in pull_back(cotangent)[0].items()}
        else:
            result = step.run(params, inputs)
    except (InterpretError, ValueError) as err:
        print(f"error: the sharded step failed: {err}", file=sys.stderr)
        return 1

    failures: list[str] = []
    loss_err = abs(result.loss - ref_loss) / max(abs(ref_loss), 1e-30)
    say(f"\nloss: unsharded {ref_loss:.8g}, sharded {result.loss:.8g}, relative error {loss_err:.2e}")
    if not loss_err <= args.rtol:
        failures.append(f"loss differs: unsharded {ref_loss:.8g}, sharded {result.loss:.8g} "
                        f"(relative error {loss_err:.2e} > {args.rtol:g})")
    grad_errors = {n: _relative_error(result.grads[n], ref_grads[n]) for n in ref_grads if n in result.grads}
    missing = sorted(set(ref_grads) - set(result.grads))
    unused = [n for n in missing if float(np.linalg.norm(np.asarray(ref_grads[n]))) == 0.0]
    for n in missing:
        if n not in unused:
            failures.append(f"no sharded gradient for parameter {n!r}")
    worst = sorted(grad_errors.items(), key=lambda kv: -kv[1])
    if worst:
        say(f"gradients: {len(grad_errors)} compared, worst relative error {worst[0][1]:.2e} ({worst[0][0]})")
    for n, e in worst:
        if not e <= args.rtol:
            failures.append(f"gradient of {n!r} differs: relative error {e:.2e} > {args.rtol:g}")

    report: dict[str, Any] = {"graph": graph.get("name"), "loss": {"unsharded": ref_loss, "sharded": result.loss},
                              "gradient_relative_errors": dict(sorted(grad_errors.items())), "stages": []}
    for prog, hlo, sends in zip(step.programs, result.stage_hlo, result.pipeline_send_bytes):
        st = prog.stage
        if args.hlo_dir:
            Path(args.hlo_dir).mkdir(parents=True, exist_ok=True)
            Path(args.hlo_dir, f"stage{st.index}.hlo.txt").write_text(hlo)
        colls = find_collectives(hlo, st.mesh, st.axes)
        observed = bytes_by_axis(colls)
        mesh = " x ".join(f"{a}={n}" for a, n in zip(st.axes, st.mesh))
        say(f"\nstage {st.index}: {len(st.ops)} ops on devices {st.devices} (mesh {mesh}); "
            f"{len(colls)} collectives in its training step")
        if colls:
            say(format_collectives(colls))
        if st.communication_by_axis is not None:
            rows = compare(st.communication_by_axis, observed, args.comm_rtol)
            say("  predicted vs observed bytes per training step:")
            say(format_comparison(rows, args.comm_rtol))
            for r in rows:
                if not r.ok and not args.no_comm_check:
                    failures.append(f"stage {st.index}: {r.key} on {r.axes}: predicted "
                                    f"{0 if r.predicted is None else r.predicted:.0f}, observed {r.observed}")
        else:
            for axes, row in observed.items():
                parts = ", ".join(f"{k}={v}" for k, v in row.items() if v)
                say(f"  observed on {axes}: {parts}")
        if len(step.programs) > 1:
            say("  pipeline sends: " + ", ".join(f"{k}={v}" for k, v in sends.items()))
            if st.pipeline_send_bytes is not None:
                for key in PIPELINE_KEYS:
                    pred = st.pipeline_send_bytes.get(key, 0.0)
                    obs = sends[key]
                    ok = abs(obs - pred) <= args.comm_rtol * pred if pred > 0 else obs == 0
                    say(f"  {key:<26} predicted {pred:>10.0f} observed {obs:>10} {'ok' if ok else 'MISMATCH'}")
                    if not ok and not args.no_comm_check:
                        failures.append(f"stage {st.index}: pipeline {key}: predicted {pred:.0f}, observed {obs}")
        report["stages"].append({
            "index": st.index, "communication_by_axis": observed, "pipeline_send_bytes": sends,
            "collectives": [c.__dict__ for c in colls]})
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1) + "\n")
    if failures:
        print("\nFAIL: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"OK: {Path(args.plan).name}: loss and {len(grad_errors)} gradients match within rtol {args.rtol:g}"
          + ("" if all(s.communication_by_axis is None for s in plan.stages)
             else "; collective bytes reported, not checked (--no-comm-check)" if args.no_comm_check
             else f"; collective bytes match the plan within rtol {args.comm_rtol:g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
