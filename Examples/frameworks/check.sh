#!/usr/bin/env bash
# Framework settings check: `shardplan --emit torchtitan` job configs, parsed by torchtitan's own
# ConfigManager (torchtitan 0.2.2 from PyPI), carry the plan's degrees, chunks, microbatch size,
# recomputation and ZeRO; `shardplan --emit megatron-bridge` settings, applied to Megatron-Bridge 0.3.1's
# recipes and resolved and validated by its own `runtime_config_update` (PyPI, CPU PyTorch), carry those,
# the pipeline split, precision and the batch. Megatron-LM and NeMo ship no parser that runs without their
# GPU stacks; the Swift tests read their settings back against the documented options (Docs/frameworks.md).
#
# Environment: SHARDPLAN_FRAMEWORKS_VENV (default Examples/frameworks/.venv), SHARDPLAN_MEGATRON_BRIDGE_VENV
# (default Examples/frameworks/.venv-megatron-bridge), PYTHON (default python3),
# SHARDPLAN_FRAMEWORKS_OUT (where the emitted files go; default a fresh temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHARDPLAN_FRAMEWORKS_VENV:-$here/.venv}"

if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps torchtitan==0.2.2

swift build --package-path "$repo" --product shardplan 2>&1 | tail -n 1
shardplan="$(swift build --package-path "$repo" --show-bin-path)/shardplan"
out="${SHARDPLAN_FRAMEWORKS_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-frameworks.XXXXXX")}"
"$py" "$here/check_torchtitan.py" "$shardplan" "$repo" "$out"

# Megatron-Bridge's configuration code with CPU PyTorch, in a venv of its own (1.5 GB; the torchtitan check above
# runs without PyTorch).
bridge_venv="${SHARDPLAN_MEGATRON_BRIDGE_VENV:-$here/.venv-megatron-bridge}"
if [[ ! -x "$bridge_venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$bridge_venv"
fi
bridge_py="$bridge_venv/bin/python"
"$bridge_py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-megatron-bridge.txt"
"$bridge_py" -m pip install --quiet --disable-pip-version-check --no-deps megatron-core==0.16.1 megatron-bridge==0.3.1 megatron-energon==6.0.1
HF_HUB_OFFLINE=1 "$bridge_py" "$here/check_megatron_bridge.py" "$shardplan" "$repo" "$out"
echo "frameworks check: passed (files in $out)"
