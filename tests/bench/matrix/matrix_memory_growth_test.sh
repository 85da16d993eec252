#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memory over time on real cells (issue 24): under tbbmalloc (no allocator books in a stats-mode
# timeline: RSS alone), arena_retention's one-second smoke cells, whose RSS only rises while
# the allocator warms up, are not named as growing ("too short to tell"), while wl_leak's 8 s
# smoke cell, leaking 4 MiB/s from its start, still is.
set -euo pipefail
arenalab=$1
if ! "$arenalab" allocators 2>/dev/null | grep -qE '^tbbmalloc +tbbmalloc +yes'; then
  echo "SKIPPED: tbbmalloc is not available"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {  # run NAME WORKLOAD REPEATS
  "$arenalab" matrix --workloads "$2" --allocators tbbmalloc --baseline tbbmalloc --repeats "$3" \
    --smoke --quiet --out "$out/$1" >"$out/$1.txt" 2>&1 || {
    rc=$?; cat "$out/$1.txt"; echo "arenalab matrix ($2) failed with $rc"; exit 1; }
  cat "$out/$1.txt"
}
run retention arena_retention 3
run leak leak 1
# The terminal: no "RSS keeps growing" line for arena_retention, one for leak.
if grep -q "RSS keeps growing: arena_retention" "$out/retention.txt"; then
  echo "FAIL: arena_retention's smoke cells named as growing"; exit 1
fi
grep -q "RSS keeps growing: leak x tbbmalloc: leak 1/1" "$out/leak.txt"
python3 - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
def cells(name):
    doc = json.load(open(os.path.join(d, name, "results.json")))
    got = [c for c in doc["cells"] if c["status"] == "ok"]
    assert got, (name, [c["status"] for c in doc["cells"]])
    for c in got:
        assert c["identified"]["backend"] == "tbbmalloc", c["identified"]
        assert "memory" in c, c
    return got
for c in cells("retention"):
    g = c["memory"]["growth"]
    print("arena_retention r%d: %s (%.1f s): %s" % (c["repeat"], g["verdict"],
          c["memory"]["duration_ms"] / 1000, g.get("reason", "")[:160]))
    assert g["verdict"] not in ("leak", "non-heap-growth"), g
    assert "rate_bytes_per_s" not in g, g
    # The rule says why when it applies: a cell shorter than 6 s whose RSS rose throughout.
    if g["reason"].startswith("too short to tell"):
        assert g["verdict"] == "unresolved", g
        assert c["memory"]["duration_ms"] < 6000 + 1000, c["memory"]
for c in cells("leak"):
    g = c["memory"]["growth"]
    print("leak r%d: %s (%.1f s): %s" % (c["repeat"], g["verdict"],
          c["memory"]["duration_ms"] / 1000, g.get("reason", "")[:160]))
    assert g["verdict"] == "leak", g
    assert c["memory"]["duration_ms"] >= 6000, c["memory"]
    # wl_leak leaks 4 MiB/s (RSS grows a little faster: page rounding, the churn's pages).
    assert 2 * 2**20 < g["rate_bytes_per_s"] < 8 * 2**20, g
print("ok")
PY
