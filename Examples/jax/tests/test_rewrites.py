"""Every ShardPlan rewrite rule preserves what the graph computes.

For each rule, on random small graphs (`rewrite_instances.INSTANCES`): `shardplan rewrite` applies the
rule; replaying its records (`shardplan_jax.rewrites`) must give the graph Swift wrote, and the rewritten
graph, run on parameters derived from the original ones, must give the same outputs and the same
gradients with respect to the original parameters (f32, relative 1e-5 and 1e-4).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewrite_instances import INSTANCES, towers_of
from shardplan_jax.data import make_inputs, make_parameters
from shardplan_jax.graph_io import write_graph
from shardplan_jax.interpret import forward_fn, with_inferred_shapes
from shardplan_jax.rewrites import RewriteError, apply_rewrites, derive_parameters
from shardplan_jax.run import main as run_plan

REPO = Path(__file__).resolve().parents[3]
CLUSTER = Path(__file__).resolve().parents[1] / "clusters" / "cpu-sim-8.json"


@pytest.fixture(scope="session")
def shardplan() -> str:
    """The `shardplan` binary: $SHARDPLAN (check.sh sets it), else the debug build of this checkout."""
    path = os.environ.get("SHARDPLAN") or str(REPO / ".build" / "debug" / "shardplan")
    if not Path(path).is_file():
        pytest.fail(f"no shardplan binary at {path}: run `swift build` (or Examples/jax/check.sh) first")
    return path


def rewrite(shardplan: str, graph: dict, rules: list[str], tmp_path: Path) -> dict:
    path = tmp_path / f"{graph['name']}.json"
    write_graph(graph, path)
    command = [shardplan, "rewrite", str(path), "--format", "json"]
    for rule in rules:
        command += ["--rule", rule]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def check_equivalent(graph: dict, rewritten: dict, records: list[dict], seed: int) -> None:
    """Same outputs, and the same gradients of a random projection of them with respect to the original
    parameters (one VJP of each graph)."""
    graph, rewritten = with_inferred_shapes(graph), with_inferred_shapes(rewritten)
    params = make_parameters(graph, seed)
    inputs = make_inputs(graph, seed)
    original, changed = forward_fn(graph, "f32"), forward_fn(rewritten, "f32")
    want, want_vjp = jax.vjp(lambda p: original(p, inputs), params)
    got, got_vjp = jax.vjp(lambda p: changed(derive_parameters(p, graph, records), inputs), params)
    assert len(want) == len(got)
    for name, a, b in zip(graph["outputs"], got, want):
        assert a.shape == b.shape and a.dtype == b.dtype, name
        assert rel(a, b) <= 1e-5, f"output {name}: relative error {rel(a, b):.2e}"
    rng = np.random.default_rng(seed)
    cotangents = [rng.normal(size=np.shape(w)).astype(w.dtype) if jnp.issubdtype(w.dtype, jnp.floating)
                  else np.zeros(np.shape(w), jax.dtypes.float0) for w in want]
    want_grads, = want_vjp(cotangents)
    got_grads, = got_vjp(cotangents)
    for name in want_grads:
        assert rel(got_grads[name], want_grads[name]) <= 1e-4, \
            f"gradient of {name}: relative error {rel(got_grads[name], want_grads[name]):.2e}"


@pytest.mark.parametrize("rule,alternative,build", INSTANCES,
                         ids=[f"{r}{'' if a is None else ':' + str(a)}-{i}" for i, (r, a, _) in enumerate(INSTANCES)])
def test_rule_preserves_outputs_and_gradients(rule, alternative, build, shardplan, tmp_path):
    seed = sum(map(ord, rule)) + (alternative or 0)
    graph = build(np.random.default_rng(seed))
    document = rewrite(shardplan, graph, [rule if alternative is None else f"{rule}:{alternative}"], tmp_path)
    records = document["rewrites"]
    assert records, f"{rule} did not apply to {graph['name']}"
    assert {r["rule"] for r in records} == {rule}
    rewritten = apply_rewrites(graph, records)
    swift = document["rewritten_graph"]
    assert [(op["name"], op["op"], op["inputs"]) for op in rewritten["ops"]] \
        == [(op["name"], op["op"], op["inputs"]) for op in swift["ops"]]
    assert sorted((p["name"], p["shape"]) for p in rewritten["parameters"]) \
        == sorted((p["name"], p["shape"]) for p in swift["parameters"])
    check_equivalent(graph, rewritten, records, seed)


def test_rules_compose(shardplan, tmp_path):
    """Rules applied one after another replay in order: merge Q/K/V, then split them again."""
    graph = INSTANCES[1][2](np.random.default_rng(7))
    document = rewrite(shardplan, graph, ["merge-parallel-contractions", "split-contraction"], tmp_path)
    assert [r["rule"] for r in document["rewrites"]] == ["merge-parallel-contractions", "split-contraction"]
    check_equivalent(graph, apply_rewrites(graph, document["rewrites"]), document["rewrites"], 7)


def test_frozen_weights_stay_frozen_when_merged(shardplan, tmp_path):
    """Q, K and V weights all frozen (`"trainable": false`): Swift's merged weight is frozen, and the replayed
    graph marks it so too."""
    graph = INSTANCES[1][2](np.random.default_rng(7))
    for parameter in graph["parameters"]:
        parameter["trainable"] = False
    document = rewrite(shardplan, graph, ["merge-parallel-contractions"], tmp_path)
    swift = {p["name"]: p.get("trainable", True) for p in document["rewritten_graph"]["parameters"]}
    replayed = {p["name"]: p.get("trainable", True) for p in apply_rewrites(graph, document["rewrites"])["parameters"]}
    assert swift == replayed and not any(swift.values())


def test_a_record_that_does_not_fit_is_reported(shardplan, tmp_path):
    graph = INSTANCES[0][2](np.random.default_rng(3))
    records = rewrite(shardplan, graph, ["merge-parallel-contractions"], tmp_path)["rewrites"]
    broken = json.loads(json.dumps(records))
    broken[0]["remove"].append("nonexistent")
    with pytest.raises(RewriteError, match="removes 'nonexistent'"):
        apply_rewrites(graph, broken)


def test_a_rewritten_plan_runs_sharded(shardplan, tmp_path):
    """Eight towers that the planner batches (`plan --rewrites all`): XLA compiles the rewritten graph on 8
    simulated devices, loss and gradients match the unrewritten model and the collectives the plan predicts."""
    path, plan = tmp_path / "towers.json", tmp_path / "plan.json"
    write_graph(towers_of(8, 8, 16, 32, loss=True), path)
    done = subprocess.run([shardplan, "plan", str(path), "--cluster", str(CLUSTER), "--stages", "1", "--microbatches", "1",
                           "--rewrites", "all", "--format", "json", "-o", str(plan)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(plan.read_text())
    rules = [r["rule"] for stage in document["stages"] for r in stage.get("rewrites", [])]
    assert "batch-parallel-branches" in rules, rules
    # `score --plan` replays the records on the graph as given and re-scores the rewritten graph alike.
    scored = subprocess.run([shardplan, "score", str(path), "--cluster", str(CLUSTER), "--plan", str(plan), "--format", "json"],
                            capture_output=True, text=True)
    assert scored.returncode == 0, scored.stderr
    rescored = json.loads(scored.stdout)
    assert rescored["predicted"]["iteration_seconds"] == document["predicted"]["iteration_seconds"]
    assert [r for stage in rescored["stages"] for r in stage.get("rewrites", [])] == \
        [r for stage in document["stages"] for r in stage.get("rewrites", [])]
    assert run_plan([str(path), str(plan), "--quiet", "--comm-rtol", "0.02"]) == 0
