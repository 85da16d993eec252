#!/usr/bin/env bash
# The store's gauges reach the timeline under arenalab watch and appear in its live line,
# beside RSS (issue 9: "arenalab watch shows the store's own view beside RSS").
set -euo pipefail
arenalab=$1 workload=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
err=$("$arenalab" watch --live-every 1 --out "$out/w" -- "$workload" --smoke --hold-ms 2500 2>&1 >/dev/null) || true
if ! grep -q "arenalab watch: .*offheap.bytes_in_use [0-9.]* [KMG]iB .*offheap.bytes_mapped [0-9.]* [KMG]iB" <<<"$err"; then
  echo "FAIL: no live line with the store's gauges:"; echo "$err"; exit 1
fi
python3 - "$out/w/timeline.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][1:]
used = [s["gauges"]["offheap.bytes_in_use"] for s in lines if "offheap.bytes_in_use" in s.get("gauges", {})]
assert used, "no sample carries offheap.bytes_in_use"
assert max(used) > 0, "bytes_in_use never above 0 while the store was open"
assert used[-1] == 0, f"bytes_in_use not back to 0 after close: {used[-1]}"
print(f"ok: {len(used)} samples with gauges, peak bytes_in_use {max(used):.0f}, last {used[-1]:.0f}")
PY
