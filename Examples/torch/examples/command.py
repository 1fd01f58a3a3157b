"""Building an example model at a preset, and the `export` command the example modules share."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shardplan_torch.export import ExportError, export_graph  # noqa: E402
from shardplan_torch.graph_io import write_graph  # noqa: E402

#: Above this many parameters `--device auto` builds the model on PyTorch's meta device: shapes and dtypes
#: without storage, which is all an export needs (a 7B model in bf16 would take 14 GB of memory).
META_THRESHOLD = 1_000_000_000

DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}


def build(model_class: Callable[[Any], nn.Module], config: Any, *, device: str = "auto",
          dtype: torch.dtype = torch.bfloat16, seed: int = 0) -> tuple[nn.Module, str]:
    """The model at `config` in training mode and `dtype`, and the device it was built on: `cpu` (random
    initialisation from `seed`), `meta`, or with `auto` meta above `META_THRESHOLD` parameters."""
    if device == "auto":
        with torch.device("meta"):
            count = sum(p.numel() for p in model_class(config).parameters())
        device = "meta" if count > META_THRESHOLD else "cpu"
    torch.manual_seed(seed)
    with torch.device(device):
        model = model_class(config)
    return model.to(dtype).train(), device


def positive_int(text: str) -> int:
    """An argparse type for counts: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def export_command(program: str, family: str, configs: Mapping[str, Any], model_class: Callable[[Any], nn.Module],
                   example_inputs: Callable[[Any, str], tuple[torch.Tensor, ...]],
                   argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program, description=sys.modules[model_class.__module__].__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the model's shardplan.graph/1 JSON")
    export.add_argument("--config", choices=list(configs), default="tiny", help="preset (default: tiny)")
    export.add_argument("--batch", type=positive_int, help="override the global batch")
    export.add_argument("--seq", type=positive_int, help="override the sequence length")
    export.add_argument("--layers", type=positive_int, help="override the number of blocks")
    export.add_argument("--dtype", choices=list(DTYPES), default="bfloat16",
                        help="parameter and activation dtype (default: bfloat16, as ShardPlan's catalog)")
    export.add_argument("--device", choices=["auto", "cpu", "meta"], default="auto",
                        help=f"cpu: real random weights; meta: shapes only; auto: meta above {META_THRESHOLD:,} parameters")
    export.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    config = dataclasses.replace(configs[args.config], **{field: getattr(args, field) for field in
                                                           ("batch", "seq", "layers") if getattr(args, field) is not None})
    try:
        model, device = build(model_class, config, device=args.device, dtype=DTYPES[args.dtype])
        graph = export_graph(model, example_inputs(config, device), name=f"{family}-{args.config}")
    except ExportError as error:
        print(f"{program}: {error}", file=sys.stderr)
        return 1
    write_graph(graph, args.output)
    return 0
