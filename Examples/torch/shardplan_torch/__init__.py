"""ShardPlan's PyTorch front door: export an `nn.Module` and example inputs as `shardplan.graph/1`.

    from shardplan_torch.export import export_graph
    graph = export_graph(model, (tokens, labels), name="my-model")

`torch.export` traces the module; `shardplan_torch.lowering` maps each ATen op of the exported program to
the graph's op catalog (Docs/graph-format.md), and `shardplan_torch.graph_io` writes the JSON.
Docs/torch.md has the op table and the rules for names, layers, parameters and constants.
"""

GRAPH_FORMAT = "shardplan.graph/1"

__all__ = ["GRAPH_FORMAT"]
