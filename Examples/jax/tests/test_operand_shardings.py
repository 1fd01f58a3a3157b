"""`operand_shardings`: the runner gives each op its operands in the layout the plan says the op reads them in."""

from __future__ import annotations

import json

import pytest

from shardplan_jax.plan_io import PlanError, check_plan
from shardplan_jax.run import main

# x [8, 16] @ w [16, 32] -> out [8, 32]; loss = sum(out). x arrives split on the contracted dimension over y.
GRAPH = {
    "format": "shardplan.graph/1", "name": "matmul",
    "inputs": [{"name": "x", "shape": [8, 16], "dtype": "f32"}],
    "parameters": [{"name": "w", "shape": [16, 32], "dtype": "f32"}],
    "ops": [
        {"name": "out", "op": "einsum", "equation": "ab,bc->ac", "inputs": ["x", "w"], "shape": [8, 32], "dtype": "f32"},
        {"name": "loss", "op": "reduce", "kind": "sum", "axes": [0, 1], "inputs": ["out"], "shape": [], "dtype": "f32"},
    ],
    "outputs": ["loss"],
}


def plan(reads: dict | None) -> dict:
    stage = {"ops": ["out", "loss"], "devices": list(range(8)), "mesh": [2, 4], "axes": ["x", "y"],
             "shardings": {"x": [None, ["y"]], "w": [None, None], "out": [None, None], "loss": []}}
    if reads is not None:
        stage["operand_shardings"] = reads
    return {"format": "shardplan.plan/1", "devices": 8, "stages": [stage]}


def forward_collectives(tmp_path, reads: dict | None) -> list[tuple[str, str, int]]:
    graph_path, plan_path, report = tmp_path / "graph.json", tmp_path / "plan.json", tmp_path / "report.json"
    graph_path.write_text(json.dumps(GRAPH))
    plan_path.write_text(json.dumps(plan(reads)))
    assert main([str(graph_path), str(plan_path), "--quiet", "--report", str(report)]) == 0
    collectives = json.loads(report.read_text())["stages"][0]["collectives"]
    return sorted((c["kind"], c["axes"], c["bytes"]) for c in collectives
                  if "jvp(out)" in c["op_name"] and "transpose" not in c["op_name"])


def test_reading_the_weight_split_makes_xla_reduce_the_output(tmp_path):
    # The plan's pricing: slice w on the contracted dimension (free), multiply, all-reduce out [8, 32] f32 over y.
    assert forward_collectives(tmp_path, {"out": [None, [["y"], None]]}) == [("all-reduce", "y", 1024)]


def test_reading_the_input_whole_makes_xla_gather_it(tmp_path):
    # The other pricing of the same layouts: all-gather x [8, 16] f32 over y, multiply by the whole w.
    assert forward_collectives(tmp_path, {"out": [[None, None], None]}) == [("all-gather", "y", 512)]


def test_operand_shardings_are_checked():
    with pytest.raises(PlanError, match="one entry per operand"):
        check_plan(plan({"out": [None]}), GRAPH)
    with pytest.raises(PlanError, match="not an op of this stage"):
        check_plan(plan({"w": [None, None]}), GRAPH)
    with pytest.raises(PlanError, match="'z' is not a mesh axis"):
        check_plan(plan({"out": [None, [["z"], None]]}), GRAPH)
    checked = check_plan(plan({"out": [None, [["y"], None]]}), GRAPH)
    assert checked.stages[0].operand_shardings == {"out": [None, (("y",), None)]}
