#!/usr/bin/env bash
# Report check: `shardplan --report` pages for four plans (1F1B, interleaved 1F1B on 64 devices, GPipe, and a
# searched plan), opened in headless Chromium (Debian's `chromium`): no console error or exception, no
# request beyond the page, every section and drawing with the counts the plan implies. A full-page
# screenshot of each page is written next to it (the test artefacts).
#
# Environment: CHROMIUM (default: chromium, else chromium-browser), PYTHON (default python3),
# SHARDPLAN_REPORT_OUT (where pages and screenshots go; default a fresh temporary folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$chromium" ]]; then
  echo "report check: no Chromium (apt-get install chromium, or set CHROMIUM)" >&2
  exit 1
fi

swift build --package-path "$repo" --product shardplan 2>&1 | tail -n 1
shardplan="$(swift build --package-path "$repo" --show-bin-path)/shardplan"
out="${SHARDPLAN_REPORT_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/shardplan-report.XXXXXX")}"
mkdir -p "$out"

# page name, expected counts (devices, pipeline ranks, stages, passes = 2 x microbatches x stages), command.
# A searched plan's counts are the search's to choose: those left out are read from the plan's own JSON.
pages=()
report() {
  local name="$1" expected="$2"; shift 2
  (cd "$repo" && "$shardplan" "$@" --report "$out/$name.html" -o "$out/$name.txt")
  (cd "$repo" && "$shardplan" "$@" --format json -o "$out/$name.json")
  "${PYTHON:-python3}" -c '
import json, sys
expected, plan = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))
stages = plan["stages"]
derived = {"ranks": len({stage["rank"] for stage in stages}), "stages": len(stages), "steps": 2 * plan["microbatches"] * len(stages)}
print(json.dumps({**derived, **expected}))' "$expected" "$out/$name.json" > "$out/$name.expected.json"
  pages+=("$out/$name.html:$out/$name.expected.json")
}
report gpt-tiny-1f1b '{"devices": 8, "ranks": 2, "stages": 2, "steps": 16}' \
  score Models/gpt-tiny.json --cluster dgx-a100-80g --tp 2 --pp 2
report gpt3-175b-interleaved '{"devices": 64, "ranks": 8, "stages": 24, "steps": 73728}' \
  score Models/gpt3-175b.json --cluster dgx-a100-80g:8 --tp 8 --pp 8 --virtual-stages 3 --sequence-parallel --recompute selective
report megatron-1.7b-gpipe '{"devices": 32, "ranks": 4, "stages": 4, "steps": 32}' \
  score Models/megatron-1.7b.json --cluster dgx-a100-80g:4 --tp 1 --pp 4 --micro-batch-size 16 --schedule gpipe --recompute full
report gpt-tiny-searched '{"devices": 8}' \
  plan Models/gpt-tiny.json --cluster dgx-a100-80g --stages 2 --mesh 2x2 --microbatches 2 --no-megatron-grid

"${PYTHON:-python3}" "$here/check_report.py" "$chromium" "${pages[@]}"
echo "report check: passed (pages and screenshots in $out)"
