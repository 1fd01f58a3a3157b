"""Test setup: the import path, and `shardplan` (the Swift command line) to read what the exporter writes.

`SHARDPLAN` names the binary (check.sh builds it and sets it); without it the tests build the package's
debug `shardplan` with `swift build`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = ROOT.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shardplan_torch.graph_io import dumps_graph  # noqa: E402


class Shardplan:
    """Runs `shardplan` subcommands on graph documents written to a temporary folder."""

    def __init__(self, binary: str, folder: Path):
        self.binary = binary
        self.folder = folder

    def write(self, graph: dict[str, Any]) -> Path:
        path = self.folder / f"{graph['name']}.json"
        path.write_text(dumps_graph(graph))
        return path

    def run(self, *arguments: str) -> str:
        result = subprocess.run([self.binary, *arguments], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"shardplan {' '.join(arguments)} exited {result.returncode}:\n{result.stderr}")
        return result.stdout

    def inspect(self, graph: dict[str, Any] | Path) -> dict[str, Any]:
        """`shardplan inspect --format json`: parameters, FLOPs, layers; fails the test if the graph is rejected."""
        path = graph if isinstance(graph, Path) else self.write(graph)
        return json.loads(self.run("inspect", str(path), "--format", "json"))

    def catalog(self, model_id: str) -> Path:
        """The graph ShardPlan's own builders make for catalog model `model_id`."""
        path = self.folder / f"catalog-{model_id}.json"
        path.write_text(self.run("models", model_id))
        return path


@pytest.fixture(scope="session")
def shardplan_binary() -> str:
    binary = os.environ.get("SHARDPLAN")
    if binary:
        return binary
    subprocess.run(["swift", "build", "--package-path", str(REPOSITORY), "--product", "shardplan"], check=True,
                   capture_output=True)
    folder = subprocess.run(["swift", "build", "--package-path", str(REPOSITORY), "--show-bin-path"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return str(Path(folder) / "shardplan")


@pytest.fixture
def shardplan(shardplan_binary: str, tmp_path: Path) -> Shardplan:
    return Shardplan(shardplan_binary, tmp_path)
