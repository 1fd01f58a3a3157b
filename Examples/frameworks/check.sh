#!/usr/bin/env bash
# Framework settings check: `shardplan --emit torchtitan` job configs, parsed by torchtitan's own
# ConfigManager (torchtitan 0.2.2 from PyPI), carry the plan's degrees, chunks, microbatch size,
# recomputation and ZeRO. Megatron-LM and NeMo ship no parser that runs without their GPU stacks; the
# Swift tests read their settings back against the documented options (Docs/frameworks.md).
#
# Environment: SHARDPLAN_FRAMEWORKS_VENV (default Examples/frameworks/.venv), PYTHON (default python3),
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
echo "frameworks check: passed (files in $out)"
