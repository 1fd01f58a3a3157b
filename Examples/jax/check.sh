#!/usr/bin/env bash
# ShardPlan's real-engine check: export the tiny GPT-2 from JAX, then run each plan's training step
# unsharded and sharded on 8 simulated CPU devices, compare loss, gradients and collective bytes.
#
#   Examples/jax/check.sh            # everything, including the pytest suite
#   Examples/jax/check.sh --no-tests # export + plans only
#
# Environment: SHARDPLAN_JAX_VENV (default Examples/jax/.venv), PYTHON (default python3, >= 3.10),
# SHARDPLAN_JAX_OUT (where graph, reports and HLO go; default a fresh temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHARDPLAN_JAX_VENV:-$here/.venv}"
run_tests=1
for arg in "$@"; do
  case "$arg" in
    --no-tests) run_tests=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

out="${SHARDPLAN_JAX_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-jax.XXXXXX")}"
mkdir -p "$out"
cd "$here"

echo "== export tiny GPT-2 -> $out/tiny-gpt.json"
"$py" -m examples.gpt2 export --config tiny -o "$out/tiny-gpt.json"

# The plans to check. Hand-written for now; once the planner exists, this one line becomes:
#   swift run --package-path "$repo" shardplan plan "$out/tiny-gpt.json" --cluster "$here/clusters/cpu-sim-8.json" --format json -o "$out/plan.json" && plans=("$out/plan.json")
plans=("$here/plans/gpt2-tiny-megatron-2x4.json" "$here/plans/gpt2-tiny-pipeline-2x2x2.json")

for plan in "${plans[@]}"; do
  name="$(basename "$plan" .json)"
  echo "== run $name"
  "$py" -m shardplan_jax.run "$out/tiny-gpt.json" "$plan" \
    --report "$out/$name.report.json" --hlo-dir "$out/$name.hlo" > "$out/$name.log" \
    || { cat "$out/$name.log"; exit 1; }
  grep -E "^(loss|gradients|  [a-z,()0-9 ]+ +[a-z_]+_bytes|OK)" "$out/$name.log" || true
done

if [[ "$run_tests" == 1 ]]; then
  echo "== pytest Examples/jax/tests"
  "$py" -m pytest -q "$here/tests"
fi
echo "== all JAX checks passed (outputs in $out)"
