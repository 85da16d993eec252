#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# wl_server_mix and wl_drift run for --duration (2 s here, not their smoke 1.5 s: the flag must
# win), pass their own checks, and report RSS by quarter and the sampled series; then
# `arenalab matrix --workloads longrun` runs both under glibc and jemalloc at smoke sizes and
# every cell carries its memory over time with a growth verdict.
# usage: duration_test.sh BIN_DIR ARENALAB
set -euo pipefail
bin=$1 arenalab=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for wl in server_mix drift; do
  "$bin/wl_$wl" --smoke --duration 2 --json >"$out/$wl.json" 2>"$out/$wl.err" || {
    echo "wl_$wl failed:"; cat "$out/$wl.err" "$out/$wl.json"; exit 1; }
  python3 - "$out/$wl.json" <<'PY'
import json, sys
doc = json.loads(open(sys.argv[1]).read().splitlines()[-1])
m = doc["measurements"]
assert doc["pass"], doc["checks"]
assert doc["params"]["duration"] == 2, doc["params"]
assert 2.0 <= m["duration_s"] < 30, m["duration_s"]  # honours --duration (generous upper bound)
assert m["throughput"]["value"] > 0, m["throughput"]
samples = m["samples"]
assert len(samples) >= 8, len(samples)  # 25 ms sampling over 2 s
assert samples[-1]["t_ms"] >= 1900, samples[-1]
for q in range(1, 5):
    assert m[f"rss_q{q}_bytes"] > 0 and m[f"held_q{q}_bytes"] > 0, m
assert m["rss_to_held_last"] > 0
print(doc["workload"], "ran", round(m["duration_s"], 2), "s,", len(samples), "samples")
PY
done
"$arenalab" matrix --workloads longrun --allocators glibc,jemalloc --repeats 1 --smoke --quiet \
  --out "$out/m" >"$out/matrix.log" 2>&1 || { cat "$out/matrix.log"; exit 1; }
python3 - "$out/m" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
cells = doc["cells"]
assert sorted((c["workload"], c["configuration"]) for c in cells) == [
    ("drift", "glibc"), ("drift", "jemalloc"), ("server_mix", "glibc"), ("server_mix", "jemalloc")], cells
for c in cells:
    assert c["status"] == "ok", (c["workload"], c["configuration"], c["status"], c.get("message"))
    mem = c["memory"]
    assert mem["growth"]["verdict"] in ("leak", "retention", "bounded", "non-heap-growth",
                                        "stable", "unresolved"), mem
    assert mem["peak_rss_bytes"] >= mem["final_rss_bytes"] > 0, mem
print("matrix: 4 cells with memory over time")
PY
