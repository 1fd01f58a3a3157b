#!/usr/bin/env bash
# ShardPlan's PyTorch check: export the tiny GPT-2 and Llama modules through torch.export, plan them with the
# Swift `shardplan`, then run the pytest suite (every ATen op family against `shardplan inspect`; parameter
# counts and FLOPs of exported models against the module and ShardPlan's own builders; plans against the
# catalog twin's). Any mismatch fails.
#
#   Examples/torch/check.sh            # everything, including the pytest suite
#   Examples/torch/check.sh --no-tests # export + plans only
#
# Environment: SHARDPLAN_TORCH_VENV (default Examples/torch/.venv), PYTHON (default python3, >= 3.10),
# SHARDPLAN_TORCH_OUT (where graphs and plans go; default a fresh temporary folder), SHARDPLAN_TORCH_ALL=1
# (also compare every large preset with its catalog twin, about 30 s each).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHARDPLAN_TORCH_VENV:-$here/.venv}"
run_tests=1
for arg in "$@"; do
  case "$arg" in
    --no-tests) run_tests=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

echo "== swift build (shardplan)"
swift build --package-path "$repo" --product shardplan 2>&1 | tail -n 1
shardplan="$(swift build --package-path "$repo" --show-bin-path)/shardplan"

out="${SHARDPLAN_TORCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-torch.XXXXXX")}"
mkdir -p "$out"
cd "$here"

for model in gpt2 llama; do
  graph="$out/tiny-$model.json"
  echo "== export tiny $model -> $graph"
  "$py" -m "examples.$model" export --config tiny -o "$graph"
  "$shardplan" inspect "$graph" | sed -n '1,3p;5p'
  echo "== plan tiny $model on one DGX A100 node"
  "$shardplan" plan "$graph" --cluster dgx-a100-80g:1 --mesh 2x4 --microbatches 1 --format json -o "$out/plan-$model.json"
  "$shardplan" score "$graph" --cluster dgx-a100-80g:1 --plan "$out/plan-$model.json" | sed -n '1,3p'
done

if [[ "$run_tests" == 1 ]]; then
  echo "== pytest Examples/torch/tests"
  SHARDPLAN="$shardplan" "$py" -m pytest -q "$here/tests"
fi
echo "== all PyTorch checks passed (outputs in $out)"
