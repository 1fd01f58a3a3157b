#!/usr/bin/env bash
# ShardPlan's Swift examples: check that README.md's library tour is Sources/PlanCustomGraph/main.swift line
# for line and that every Swift block of the DocC getting-started article is a part of one of the programs,
# build the example package (ShardPlan as a path dependency, as a user's project has it), and run every
# program: plan a custom graph, plan a catalog model and save the plan, re-score the saved plan (its
# re-scored iteration time must equal the saved prediction), score Megatron-LM layouts.
#
#   Examples/swift/check.sh
#
# Environment: SHARDPLAN_SWIFT_OUT (where the saved plan goes; default a fresh temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "check.sh: unknown argument $1" >&2; exit 2 ;;
esac

echo "== README.md library tour = Examples/swift/Sources/PlanCustomGraph/main.swift"
tour="$(awk '/^## Library tour/ { section = 1; next }
             section && /^```swift$/ { code = 1; next }
             code && /^```$/ { exit }
             code { print }' "$repo/README.md")"
if ! diff -u <(printf '%s\n' "$tour") "$here/Sources/PlanCustomGraph/main.swift"; then
  echo "check.sh: README.md's library tour and Sources/PlanCustomGraph/main.swift differ; keep them the same" >&2
  exit 1
fi

article="$repo/Sources/ShardPlan/ShardPlan.docc/GettingStarted.md"
echo "== ${article#"$repo/"}: every Swift block is a part of an example program"
python3 - "$article" "$here"/Sources/*/main.swift <<'PYTHON'
import re
import sys

article, *programs = sys.argv[1:]

def lines(text):
    return [line.strip() for line in text.strip("\n").split("\n")]

sources = [lines(open(path).read()) for path in programs]
blocks = [lines(block) for block in re.findall(r"^```swift\n(.*?)^```$", open(article).read(), re.S | re.M)]
if not blocks:
    sys.exit(f"check.sh: {article} has no Swift blocks")
for block in blocks:
    if not any(source[i:i + len(block)] == block for source in sources for i in range(len(source) - len(block) + 1)):
        sys.exit(f"check.sh: this block of {article} is in no program of Examples/swift/Sources (indentation aside):\n"
                 + "\n".join(block))
print(f"{len(blocks)} blocks found in the programs")
PYTHON

echo "== swift build (Examples/swift)"
swift build --package-path "$here" 2>&1 | tail -n 1
bin="$(swift build --package-path "$here" --show-bin-path)"
out="${SHARDPLAN_SWIFT_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-swift.XXXXXX")}"
mkdir -p "$out"

echo "== plan-custom-graph (the README's library tour)"
"$bin/plan-custom-graph"
echo "== plan-catalog-model gpt3-125m h100-nvl:1 2 $out/plan.json"
"$bin/plan-catalog-model" gpt3-125m h100-nvl:1 2 "$out/plan.json"
echo "== rescore-saved-plan $out/plan.json"
"$bin/rescore-saved-plan" "$out/plan.json" | tee "$out/rescored.txt"
read -r saved rescored < <(sed -n 's/^saved prediction: \([0-9.]*\) s per iteration; re-scored: \([0-9.]*\) s$/\1 \2/p' "$out/rescored.txt")
if [[ -z "${saved:-}" || "$saved" != "$rescored" ]]; then
  echo "check.sh: the re-scored plan (${rescored:-?} s) differs from its saved prediction (${saved:-?} s)" >&2
  exit 1
fi
echo "== score-megatron-layouts gpt3-1.3b dgx-a100-80g:2"
"$bin/score-megatron-layouts" gpt3-1.3b dgx-a100-80g:2
echo "== all Swift examples passed (outputs in $out)"
