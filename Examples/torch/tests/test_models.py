"""The example GPT-2 and Llama modules against ShardPlan's own builders for the same shapes.

For each preset with a catalog twin (`shardplan models ID`), the exported graph must have the module's own
parameter count and the builder's parameter count, forward FLOPs, layers and per-layer forward FLOPs, as
`shardplan inspect` reports them. Backward FLOPs are equal for Llama; GPT-2 looks its positions up in an
`nn.Embedding` (`wpe(arange(seq))`) where the builder adds the position table directly, so its backward
pass has one more scatter-add, of seq x d_model elements. The tiny presets run on real random weights, the
large ones on the meta device (shapes only). SHARDPLAN_TORCH_ALL=1 checks every preset with a twin.
"""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

from examples import gpt2, llama
from examples.command import build, export_command
from shardplan_torch.export import export_graph

CHECKED_IN_CI = {("gpt2", "tiny"), ("llama", "tiny"), ("gpt2", "gpt3-125m"), ("llama", "llama3-8b")}
FAMILIES = {"gpt2": gpt2, "llama": llama}
MODEL_CLASSES = {"gpt2": gpt2.GPT2, "llama": llama.Llama}


def twins() -> list[tuple[str, str]]:
    every = [(family, name) for family, module in FAMILIES.items()
             for name, config in module.CONFIGS.items() if config.catalog]
    if os.environ.get("SHARDPLAN_TORCH_ALL") == "1":
        return every
    return [twin for twin in every if twin in CHECKED_IN_CI]


def export_preset(family: str, name: str) -> tuple[dict, torch.nn.Module]:
    module = FAMILIES[family]
    config = module.CONFIGS[name]
    model, device = build(MODEL_CLASSES[family], config, device="cpu" if name == "tiny" else "meta")
    graph = export_graph(model, module.example_inputs(config, device), name=f"{family}-{name}")
    return graph, model


@pytest.mark.parametrize("family,name", twins())
def test_exported_graph_matches_module_and_catalog(shardplan, family, name):
    graph, model = export_preset(family, name)
    config = FAMILIES[family].CONFIGS[name]
    exported = shardplan.inspect(graph)
    catalog = shardplan.inspect(shardplan.catalog(config.catalog))

    module_count = sum(p.numel() for p in model.parameters())
    assert exported["parameters"]["count"] == module_count == catalog["parameters"]["count"]

    forward, expected_forward = exported["flops"]["forward"], catalog["flops"]["forward"]
    # Exact for the tiny models; beyond 2^53 the sums of doubles may round differently.
    assert math.isclose(forward, expected_forward, rel_tol=1e-12), (forward, expected_forward)
    backward, expected_backward = exported["flops"]["backward"], catalog["flops"]["backward"]
    if family == "gpt2":
        expected_backward += config.seq * config.d_model
    assert math.isclose(backward, expected_backward, rel_tol=1e-12), (backward, expected_backward)

    assert [layer["forward_flops"] for layer in exported["layers"]] == pytest.approx(
        [layer["forward_flops"] for layer in catalog["layers"]], rel=1e-12)
    blocks = [layer["name"] for layer in exported["layers"] if layer["origin"] == "hint"]
    prefix = "blocks" if family == "gpt2" else "layers"
    assert blocks == [f"{prefix}.{i}" for i in range(config.layers)]


def test_tied_embedding_is_one_parameter():
    graph, model = export_preset("gpt2", "tiny")
    names = [p["name"] for p in graph["parameters"]]
    assert "wte.weight" in names and len(names) == len(set(names)) == len(list(model.parameters()))
    logits = next(op for op in graph["ops"] if op["op"] == "einsum" and "wte.weight" in op["inputs"])
    assert logits["equation"] == "abk,nk->abn"


def test_rotary_table_is_a_constant_in_each_layer():
    graph, _ = export_preset("llama", "tiny")
    constants = [op for op in graph["ops"] if op["op"] == "constant"]
    assert [(op["layer"], op["shape"]) for op in constants] == [("layers.0", [32, 8, 2, 2]), ("layers.1", [32, 8, 2, 2])]
    rotations = [op for op in graph["ops"] if op["op"] == "einsum" and op["equation"] == "bshpj,spij->bshpi"]
    assert len(rotations) == 4 and all(op["inputs"][1] in {c["name"] for c in constants} for op in rotations)


def test_frozen_parameters_are_marked_and_carry_no_gradient(shardplan):
    """Freezing every block's weights but the norms (a fine-tuning setup) marks them `"trainable": false`: the
    analysis counts them frozen, and the backward pass loses their weight gradients (about a third of the
    training FLOPs of those products)."""
    module = FAMILIES["llama"]
    config = module.CONFIGS["tiny"]
    model, device = build(MODEL_CLASSES["llama"], config, device="cpu")
    frozen = 0
    for name, parameter in model.named_parameters():
        if name.startswith("layers.") and name.endswith(".weight") and "norm" not in name:
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    graph = export_graph(model, module.example_inputs(config, device), name="llama-tiny-frozen")
    marked = {p["name"] for p in graph["parameters"] if p.get("trainable") is False}
    assert marked and all(name.startswith("layers.") and "norm" not in name for name in marked)
    assert all("trainable" not in p for p in graph["parameters"] if p["name"] not in marked)
    analysis = shardplan.inspect(graph)
    assert analysis["parameters"]["frozen_count"] == frozen
    trained = shardplan.inspect(export_preset("llama", "tiny")[0])
    assert analysis["flops"]["forward"] == trained["flops"]["forward"]
    assert analysis["flops"]["backward"] < trained["flops"]["backward"]


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_exported_tiny_model_plans_like_its_catalog_twin(shardplan, family):
    """One mesh (2 x 4 on one DGX A100 node) and a two-stage pipeline of 2 x 2 meshes: the plans cover every op, and the
    predicted iteration time is within 10% of the catalog graph's under the same options (the exported
    graph has more layout ops: PyTorch's views and the flat `[out, in]` weights' reshapes). Both are planned
    as given (`--rewrites none`): graph rewrites would rename the ops the plans list."""
    graph, _ = export_preset(family, "tiny")
    path = shardplan.write(graph)
    twin = shardplan.catalog(FAMILIES[family].CONFIGS["tiny"].catalog)
    names = [op["name"] for op in graph["ops"]]
    for options in (["--mesh", "2x4", "--microbatches", "1"], ["--stages", "2", "--mesh", "2x2", "--microbatches", "4"]):
        plans = []
        for source in (path, twin):
            text = shardplan.run("plan", str(source), "--cluster", "dgx-a100-80g:1", *options, "--rewrites", "none",
                                 "--format", "json")
            plans.append(json.loads(text))
        exported, catalog = plans
        assert [op for stage in exported["stages"] for op in stage["ops"]] == names
        assert len(exported["stages"]) == len(catalog["stages"])
        ratio = exported["predicted"]["iteration_seconds"] / catalog["predicted"]["iteration_seconds"]
        print(f"{family} {' '.join(options)}: exported {exported['predicted']['iteration_seconds'] * 1e3:.3f} ms, "
              f"catalog {catalog['predicted']['iteration_seconds'] * 1e3:.3f} ms, ratio {ratio:.3f}")
        assert 0.9 <= ratio <= 1.1


@pytest.mark.parametrize("argument", [["--seq", "0"], ["--batch", "-2"], ["--layers", "two"]])
def test_export_refuses_counts_below_one(argument: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`export` takes whole counts of at least 1 for its overrides, as shardplan does: a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        export_command("python -m examples.gpt2", "gpt2", gpt2.CONFIGS, gpt2.GPT2, gpt2.example_inputs,
                       ["export", "--config", "tiny", *argument])
    assert exit_info.value.code == 2
    assert "expected a" in capsys.readouterr().err


def test_exportable_moe_layer_prices_like_the_catalog_moe(shardplan):
    """`examples.moe.RoutedExperts` (Docs/torch.md, "Mixtures of experts") exports as the catalog writes MoE layers:
    router, the first-k slice as the top k, permutation and grouped expert einsums. At moe-tiny's sizes (8 SwiGLU
    experts of 32, top 2, d_model 64, 8 x 32 tokens, 2 layers) expert parallelism over 4 ranks moves the same
    all-to-all bytes as the catalog's moe-tiny, and none without it."""
    from examples.moe import RoutedExperts, TinyMoE
    torch.manual_seed(0)
    model = TinyMoE().to(torch.bfloat16).train()
    inputs = (torch.randint(0, 256, (8, 32)), torch.randint(0, 256, (8, 32)))
    graph = export_graph(model, inputs, name="tiny-moe")
    block = [op for op in graph["ops"] if op.get("layer") == "blocks.0"]
    assert [op["equation"] for op in block if op["op"] == "einsum"] == [
        "abk,nk->abn", "ebcd,edf->ebcf", "ebcd,edf->ebcf", "ebcf,efd->bced"]
    (top_k,) = [op for op in block if op["op"] == "slice"]
    assert (top_k["axis"], top_k["start"], top_k["end"], top_k["shape"]) == (2, 0, 2, [8, 32, 2])
    assert shardplan.inspect(graph)["parameters"]["count"] == sum(p.numel() for p in model.parameters())
    path, twin = shardplan.write(graph), shardplan.catalog("moe-tiny")

    def all_to_all(source, *options):
        text = shardplan.run("score", str(source), "--cluster", "dgx-a100-80g:1", "--tp", "1", "--pp", "1", *options,
                             "--format", "json")
        return json.loads(text)["communication"]["all_to_all_bytes"]
    assert all_to_all(path, "--ep", "4") == all_to_all(twin, "--ep", "4") > 0
    assert all_to_all(path) == 0
    with pytest.raises(ValueError, match=r"seq x top_k = 3 x 2 is not a multiple of the 8 experts"):
        RoutedExperts(16, 8, 8, 2)(torch.randn(1, 3, 16))
