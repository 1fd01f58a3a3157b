#!/usr/bin/env bash
# ShardPlan's GPU measurement kit, checked without a GPU: run Examples/gpu/measure.py on the CPU with tiny
# shapes (--cpu-smoke) and replay both files it writes with `shardplan calibrate`. The times are CPU times and
# mean nothing; what is checked is that the files keep the formats `calibrate` reads (attention_measurements,
# and published-runs rows). On a GPU, run measure.py itself (Examples/gpu/README.md).
#
# Environment: SHARDPLAN_TORCH_VENV (default Examples/torch/.venv, the PyTorch check's CPU wheel),
# PYTHON (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHARDPLAN_TORCH_VENV:-$repo/Examples/torch/.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/Examples/torch/requirements.txt"

swift build --package-path "$repo" --product shardplan 2>&1 | tail -n 1
shardplan="$(swift build --package-path "$repo" --show-bin-path)/shardplan"

out="$(mktemp -d "${TMPDIR:-/tmp}/shardplan-gpu.XXXXXX")"
echo "== measure.py --cpu-smoke -> $out"
"$venv/bin/python" "$here/measure.py" --cpu-smoke --out "$out"
for file in attention steps; do
  echo "== shardplan calibrate $file.json"
  "$shardplan" calibrate "$out/$file.json" -o "$out/$file.md"
  replayed=$(grep -c '^| cpu-' "$out/$file.md" || true)
  written=$("$venv/bin/python" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d.get("attention_measurements", d.get("rows", []))))' "$out/$file.json")
  if [[ "$replayed" -ne "$written" || "$written" -eq 0 ]]; then
    echo "check.sh: $file.json has $written rows but calibrate replayed $replayed" >&2
    exit 1
  fi
  echo "   $replayed rows replayed"
done
echo "== the GPU measurement kit's files replay (outputs in $out)"
