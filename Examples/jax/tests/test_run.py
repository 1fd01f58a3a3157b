"""End to end: the runner on the tiny GPT with the committed plans (8 simulated CPU devices)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from examples import gpt2
from shardplan_jax.graph_io import write_graph
from shardplan_jax.run import main

PLANS = Path(__file__).resolve().parents[1] / "plans"


@pytest.fixture(scope="module")
def graph_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "tiny-gpt.json"
    write_graph(gpt2.export(gpt2.CONFIGS["tiny"], "gpt2-tiny"), path)
    return path


@pytest.mark.parametrize("plan", ["gpt2-tiny-megatron-2x4.json", "gpt2-tiny-pipeline-2x2x2.json"])
def test_committed_plans_pass(graph_path, plan, tmp_path):
    report = tmp_path / "report.json"
    assert main([str(graph_path), str(PLANS / plan), "--quiet", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    doc = json.loads((PLANS / plan).read_text())
    for stage, predicted in zip(data["stages"], doc["stages"]):
        for axis, row in predicted["communication_by_axis"].items():
            assert stage["communication_by_axis"][axis] == row


def test_wrong_prediction_fails(graph_path, tmp_path, capsys):
    doc = json.loads((PLANS / "gpt2-tiny-megatron-2x4.json").read_text())
    doc["stages"][0]["communication_by_axis"]["y"]["all_reduce_bytes"] += 4096
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    assert main([str(graph_path), str(plan), "--quiet"]) == 1
    assert "all_reduce_bytes on y: predicted 333824, observed 329728" in capsys.readouterr().err
    assert main([str(graph_path), str(plan), "--quiet", "--comm-rtol", "0.02"]) == 0


def test_bad_plan_is_reported(graph_path, tmp_path, capsys):
    doc = json.loads((PLANS / "gpt2-tiny-megatron-2x4.json").read_text())
    broken = copy.deepcopy(doc)
    broken["stages"][0]["shardings"]["h0.attn.wqkv"] = [None, ["z"], None, None]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(broken))
    assert main([str(graph_path), str(plan), "--quiet"]) == 1
    assert "'z' is not a mesh axis" in capsys.readouterr().err
    broken = copy.deepcopy(doc)
    broken["stages"][0]["ops"] = ["embed.embedding", "...", "head.logits"]
    plan.write_text(json.dumps(broken))
    assert main([str(graph_path), str(plan), "--quiet"]) == 1
    assert "in no stage, first 'loss'" in capsys.readouterr().err


def test_graph_without_stated_shapes(graph_path, tmp_path):
    graph = json.loads(graph_path.read_text())
    for op in graph["ops"]:
        if op["op"] not in ("reshape", "broadcast", "iota", "constant"):
            op.pop("shape")
        if op["op"] not in ("cast", "iota", "constant"):
            op.pop("dtype")
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(graph))
    assert main([str(bare), str(PLANS / "gpt2-tiny-pipeline-2x2x2.json"), "--quiet"]) == 0


def test_constant_crossing_stages_gets_no_gradient(tmp_path):
    """A constant (or a value of constants and inputs alone) that a later stage reads is sent forward but gets no
    cotangent back: it carries no gradient, and shardplan predicts none (a cotangent for captured RoPE tables made
    the pipeline's gradient bytes 34,816 where the plan said 32,768)."""
    graph = {
        "format": "shardplan.graph/1", "name": "const-crossing",
        "inputs": [{"name": "x", "shape": [4, 8], "dtype": "f32", "batch_dim": 0}],
        "parameters": [{"name": "w1", "shape": [8, 8], "dtype": "f32"}, {"name": "w2", "shape": [8, 8], "dtype": "f32"}],
        "ops": [
            {"name": "a.h", "op": "einsum", "equation": "ab,bc->ac", "inputs": ["x", "w1"], "shape": [4, 8], "dtype": "f32"},
            {"name": "a.table", "op": "constant", "values": [float(i) / 32 for i in range(32)], "inputs": [],
             "shape": [4, 8], "dtype": "f32"},
            {"name": "a.masked", "op": "mul", "inputs": ["x", "a.table"], "shape": [4, 8], "dtype": "f32"},
            {"name": "b.y", "op": "einsum", "equation": "ab,bc->ac", "inputs": ["a.h", "w2"], "shape": [4, 8], "dtype": "f32"},
            {"name": "b.z", "op": "mul", "inputs": ["b.y", "a.table"], "shape": [4, 8], "dtype": "f32"},
            {"name": "b.zz", "op": "add", "inputs": ["b.z", "a.masked"], "shape": [4, 8], "dtype": "f32"},
            {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["b.zz"], "shape": [], "dtype": "f32"},
        ],
        "outputs": ["loss"]}
    nbytes = 4 * 8 * 4
    plan = {"format": "shardplan.plan/1", "devices": 2, "stages": [
        {"index": 0, "ops": ["a.h", "a.table", "a.masked"], "devices": [0], "mesh": [1], "axes": ["x"], "shardings": {},
         "pipeline_send_bytes": {"activations": 3 * nbytes, "gradients": 0, "tied_parameter_gradients": 0}},
        {"index": 1, "ops": ["b.y", "b.z", "b.zz", "loss"], "devices": [1], "mesh": [1], "axes": ["x"], "shardings": {},
         "pipeline_send_bytes": {"activations": 0, "gradients": nbytes, "tied_parameter_gradients": 0}}]}
    write_graph(graph, tmp_path / "graph.json")
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    report = tmp_path / "report.json"
    assert main([str(tmp_path / "graph.json"), str(tmp_path / "plan.json"), "--quiet", "--report", str(report)]) == 0
    sends = [stage["pipeline_send_bytes"] for stage in json.loads(report.read_text())["stages"]]
    assert sends[1]["gradients"] == nbytes and sends[0]["activations"] == 3 * nbytes
