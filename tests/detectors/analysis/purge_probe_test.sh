#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# watch --purge-at-end (issue 19 class 7): a program that frees everything it burst into and
# whose allocator keeps it (wl_arena_retention) gets retention; the interposer's purge probe at
# exit returns that memory, so its kind is purgeable, under each allocator given. Without the
# flag no probe runs (no after_purge sample).
# usage: purge_probe_test.sh ARENALAB WL_ARENA_RETENTION ALLOCATOR...
set -u
ARENALAB=$1 WL=$2
shift 2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cell() {  # ALLOCATOR
  "$ARENALAB" watch -q --purge-at-end --allocator "$1" --out "$TMP/$1" -- \
    "$WL" --smoke --duration 10 --threads 8 --burst 24 --idle 100 --no-purge >"$TMP/$1.out" 2>&1
}
for a in "$@"; do cell "$a" & done
wait
fail=0
for a in "$@"; do
  if ! grep -q '"after_purge":true' "$TMP/$a/timeline.jsonl" 2>/dev/null; then
    echo "FAIL $a: no after_purge sample in the timeline"; tail -5 "$TMP/$a.out"; fail=1; continue
  fi
  if python3 - "$TMP/$a/verdict.json" "$a" <<'PY'; then :; else fail=1; fi
import json, sys
v = json.load(open(sys.argv[1]))
r = v.get("retention") or {}
got = (v["verdict"], r.get("kind"), r.get("purge_returned_bytes", 0), r.get("kept_bytes", 0))
ok = got[0] == "retention" and got[1] == "purgeable" and got[2] >= 0.5 * got[3] > 0
print("%s %s: %s %s, a purge returned %.1f of %.1f MiB kept; fix: %s" % (
    "ok  " if ok else "FAIL", sys.argv[2], got[0], got[1], got[2] / 2**20, got[3] / 2**20,
    r.get("fix", "")))
sys.exit(0 if ok else 1)
PY
done
"$ARENALAB" watch -q --out "$TMP/noflag" -- sh -c 'sleep 0.3' >/dev/null 2>&1
if grep -q after_purge "$TMP/noflag/timeline.jsonl"; then
  echo "FAIL: a purge probe ran without --purge-at-end"; fail=1
fi
exit $fail
