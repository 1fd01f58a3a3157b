#!/usr/bin/env bash
# ShardPlan's real-engine check: export the tiny GPT-2 from JAX, plan it with the Swift `shardplan`, then run
# each plan's training step unsharded and sharded on 8 simulated CPU devices and compare loss, gradients and
# the collective bytes XLA compiles with the bytes the plan predicts; the same for an expert-parallel plan of
# the catalog's tiny mixture of experts. Any mismatch fails.
#
#   Examples/jax/check.sh            # everything, including the pytest suite
#   Examples/jax/check.sh --no-tests # export + plans only
#
# Environment: SHARDPLAN_JAX_VENV (default Examples/jax/.venv), PYTHON (default python3, >= 3.11),
# SHARDPLAN_JAX_OUT (where graph, plans, reports and HLO go; default a fresh temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SHARDPLAN_JAX_VENV:-$here/.venv}"
run_tests=1
for arg in "$@"; do
  case "$arg" in
    --no-tests) run_tests=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# Loss and gradients: relative 1e-4 (f32 sums in another order). Collective bytes: relative 0.02 per mesh
# axis and collective kind; Docs/jax.md ("Tolerance") shows the measured differences, at most 0.62%.
rtol=1e-4
comm_rtol=0.02

if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

echo "== swift build (shardplan)"
swift build --package-path "$repo" --product shardplan 2>&1 | tail -n 1
shardplan="$(swift build --package-path "$repo" --show-bin-path)/shardplan"

out="${SHARDPLAN_JAX_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-jax.XXXXXX")}"
mkdir -p "$out"
cd "$here"
graph="$out/tiny-gpt.json"
cluster="$here/clusters/cpu-sim-8.json"

echo "== export tiny GPT-2 -> $graph"
"$py" -m examples.gpt2 export --config tiny -o "$graph"

echo "== plan: ILP search on a 2x4 mesh; Megatron tp=4 x dp=2; two stages of 2x2"
"$shardplan" plan "$graph" --cluster "$cluster" --mesh 2x4 --microbatches 1 --format json -o "$out/searched-2x4.json"
"$shardplan" score "$graph" --cluster "$cluster" --tp 4 --pp 1 --microbatches 1 --format json -o "$out/megatron-2x4.json"
"$shardplan" score "$graph" --cluster "$cluster" --tp 2 --pp 2 --microbatches 1 --format json -o "$out/megatron-2x2x2.json"
"$shardplan" plan "$graph" --cluster "$cluster" --stages 2 --mesh 2x2 --microbatches 1 --no-megatron-grid --format json -o "$out/searched-2x2x2.json"
plans=("$out/searched-2x4.json" "$out/megatron-2x4.json" "$out/megatron-2x2x2.json" "$out/searched-2x2x2.json")

for plan in "${plans[@]}"; do
  name="$(basename "$plan" .json)"
  echo "== run $name ($("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' "$plan"))"
  "$py" -m shardplan_jax.run "$graph" "$plan" --rtol "$rtol" --comm-rtol "$comm_rtol" \
    --report "$out/$name.report.json" --hlo-dir "$out/$name.hlo" > "$out/$name.log" 2>&1 \
    || { cat "$out/$name.log"; exit 1; }
  grep -E "^(loss|gradients|stage|  [a-z,()0-9 ]+ +[a-z_]+_bytes|  pipeline|OK)" "$out/$name.log" || true
done

# A mixture of experts: moe-tiny (token-permutation routing, 8 experts top-2) with Megatron's expert parallelism of
# 4 over the data-parallel devices, so the dispatch and combine all-to-alls run over y. The catalog graph is bf16;
# the runner computes in f32, so the check reads it with f32 tensors (the bytes the plan predicts follow the dtype).
moe="$out/moe-tiny.json"
sed 's/"bf16"/"f32"/g' "$repo/Models/moe-tiny.json" > "$moe"
echo "== plan: moe-tiny, Megatron ep=4 x dp=2 (experts split over y)"
"$shardplan" score "$moe" --cluster "$cluster" --tp 1 --pp 1 --ep 4 --microbatches 1 --format json -o "$out/megatron-moe-ep4.json"
name=megatron-moe-ep4
echo "== run $name"
"$py" -m shardplan_jax.run "$moe" "$out/$name.json" --rtol "$rtol" --comm-rtol "$comm_rtol" \
  --report "$out/$name.report.json" --hlo-dir "$out/$name.hlo" > "$out/$name.log" 2>&1 \
  || { cat "$out/$name.log"; exit 1; }
grep -E "^(loss|gradients|stage|  [a-z,()0-9 ]+ +[a-z_]+_bytes|OK)" "$out/$name.log" || true

if [[ "$run_tests" == 1 ]]; then
  echo "== pytest Examples/jax/tests"
  # The rewrite equivalence tests (tests/test_rewrites.py) run this build's `shardplan rewrite`.
  SHARDPLAN="$shardplan" "$py" -m pytest -q "$here/tests"
fi
echo "== all JAX checks passed (outputs in $out)"
