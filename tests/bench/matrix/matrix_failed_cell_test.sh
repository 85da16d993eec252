#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Failures do not stop the matrix: a workload killed by SIGSEGV is recorded as crashed with its
# signal and stderr tail, one exiting 3 as failed, and a configuration that asks for jemalloc
# without loading it is unverified and left out of the summaries; larson still runs and is
# summarized. Exit status 0: the matrix itself completed.
set -euo pipefail
arenalab=$1
bin=$(dirname "$arenalab")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '#!/bin/sh\necho "about to crash" >&2\nkill -SEGV $$\n' >"$out/crasher"
printf '#!/bin/sh\necho "bad input" >&2\nexit 3\n' >"$out/failer"
chmod +x "$out/crasher" "$out/failer"
cat >"$out/workloads.json" <<JSON
{"schema":"arenalab.workloads/1","workloads":[
 {"name":"crasher","program":"$out/crasher","category":"stress","description":"segfaults"},
 {"name":"failer","program":"$out/failer","category":"stress","description":"exits 3"},
 {"name":"larson","program":"$bin/wl_larson","category":"stress","description":"larson"}]}
JSON
cat >"$out/allocators.json" <<JSON
{"schema":"arenalab.allocators/1","configurations":[
 {"name":"glibc","backend":"glibc","preload":"","env":{}},
 {"name":"jemalloc-not-loaded","backend":"jemalloc","preload":"","env":{}}]}
JSON
"$arenalab" matrix --workloads all --workloads-file "$out/workloads.json" \
  --allocators-file "$out/allocators.json" --allocators all --repeats 2 --smoke --quiet \
  --out "$out/m" >"$out/table.txt"
cat "$out/table.txt"
python3 - "$out/m" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
cells = doc["cells"]
assert len(cells) == 12, len(cells)
by = {}
for c in cells:
    by.setdefault((c["workload"], c["configuration"]), []).append(c)
for c in by[("crasher", "glibc")]:
    assert c["status"] == "crashed" and c["signal"] == 11, c
    assert "about to crash" in c["stderr_tail"], c
for c in by[("failer", "glibc")]:
    assert c["status"] == "failed" and c["exit_code"] == 3 and "bad input" in c["stderr_tail"], c
for c in by[("larson", "glibc")]:
    assert c["status"] == "ok" and c["verified"], c
for c in by[("larson", "jemalloc-not-loaded")]:
    assert c["status"] == "unverified" and not c["verified"], c
    assert "calls glibc" in c["mismatch"], c["mismatch"]
sums = {(s["workload"], s["configuration"]) for s in doc["summaries"]}
assert ("larson", "glibc") in sums
assert ("larson", "jemalloc-not-loaded") not in sums, "unverified cells must not be summarized"
assert not any(w in ("crasher", "failer") for w, _ in sums)
print("failed, crashed and unverified cells recorded; the matrix went on")
PY
grep -q "unverified" "$out/table.txt"
