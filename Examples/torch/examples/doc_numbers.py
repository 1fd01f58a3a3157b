"""Print every number Docs/torch.md quotes for the example models, from the commands it names.

    SHARDPLAN=path/to/shardplan python -m examples.doc_numbers      # from Examples/torch

The table of "Checked against the module and ShardPlan's builders": each preset exported as `export` writes it
(bfloat16), and `shardplan inspect --format json` of that graph and of its catalog twin (`shardplan models ID`).
The plan comparison below it: `shardplan plan GRAPH --cluster dgx-a100-80g:1 OPTIONS --rewrites none` of the
exported tiny models and their twins (what `tests/test_models.py` runs), with the first line of `shardplan score`'s
summary. Without SHARDPLAN it runs `swift run shardplan` from the repository (a debug build: slower).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from examples import gpt2, llama
from examples.command import build
from shardplan_torch.export import export_graph
from shardplan_torch.graph_io import write_graph

REPOSITORY = Path(__file__).resolve().parents[3]
TABLE = [("gpt2", gpt2, gpt2.GPT2, "tiny"), ("llama", llama, llama.Llama, "tiny"),
         ("gpt2", gpt2, gpt2.GPT2, "gpt3-125m"), ("llama", llama, llama.Llama, "llama2-7b"),
         ("llama", llama, llama.Llama, "llama3-8b")]
PLANS = [["--mesh", "2x4", "--microbatches", "1"], ["--stages", "2", "--mesh", "2x2", "--microbatches", "4"]]


def shardplan(*arguments: str) -> str:
    binary = os.environ.get("SHARDPLAN")
    command = [binary] if binary else ["swift", "run", "--package-path", str(REPOSITORY), "shardplan"]
    return subprocess.run([*command, *arguments], check=True, capture_output=True, text=True).stdout


def _flops(value: float) -> str:
    return f"{value:,.0f}" if value < 1e12 else f"{value:.7g}".replace("e+", "e")


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="shardplan-doc-numbers."))
    print("| preset | parameters | forward FLOPs per iteration | backward, export - catalog |")
    tiny: dict[str, tuple[Path, Path]] = {}
    for family, module, model_class, name in TABLE:
        config = module.CONFIGS[name]
        model, device = build(model_class, config)
        path = folder / f"{family}-{name}.json"
        write_graph(export_graph(model, module.example_inputs(config, device), name=f"{family}-{name}"), path)
        twin = folder / f"catalog-{config.catalog}.json"
        twin.write_text(shardplan("models", config.catalog))
        exported, catalog = (json.loads(shardplan("inspect", str(p), "--format", "json")) for p in (path, twin))
        count = sum(p.numel() for p in model.parameters())
        same = exported["parameters"]["count"] == count == catalog["parameters"]["count"] and \
            exported["flops"]["forward"] == catalog["flops"]["forward"]
        print(f"| {family} `{name}` / `{config.catalog}` | {count:,} | {_flops(exported['flops']['forward'])} | "
              f"{exported['flops']['backward'] - catalog['flops']['backward']:,.0f} |"
              + ("" if same else "  (export and catalog DIFFER)"))
        if name == "tiny":
            tiny[family] = (path, twin)
    for family, (path, twin) in tiny.items():
        for options in PLANS:
            times = []
            for graph in (path, twin):
                plan = folder / f"plan-{graph.stem}.json"
                shardplan("plan", str(graph), "--cluster", "dgx-a100-80g:1", *options, "--rewrites", "none",
                          "--format", "json", "-o", str(plan))
                seconds = json.loads(plan.read_text())["predicted"]["iteration_seconds"]
                summary = shardplan("score", str(graph), "--cluster", "dgx-a100-80g:1", "--plan", str(plan))
                times.append(seconds)
                print(f"{family} {' '.join(options)}: {graph.stem}: {seconds * 1e3:.3f} ms; "
                      f"{summary.splitlines()[0]}; {summary.splitlines()[1]}")
            print(f"  exported / catalog = {times[0] / times[1]:.3f} ({(times[0] / times[1] - 1) * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
