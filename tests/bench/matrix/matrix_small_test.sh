#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A small real matrix: 2 workloads x 3 configurations x 2 repeats at smoke sizes (timelines
# by default). Every cell must run, be verified inside its process, and be summarized with a
# ratio to glibc; results.json/csv and the timelines must be on disk, with each cell's memory
# over time (peak, final, plateau, growth verdict) and both workloads' malloc/free latency;
# the table printed. --no-timeline keeps no timeline and no memory.
set -euo pipefail
arenalab=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
table=$("$arenalab" matrix --workloads larson,xmalloc --allocators glibc,jemalloc,mimalloc \
        --repeats 2 --smoke --quiet --verbose --out "$out/m") || {
  rc=$?; echo "arenalab matrix failed with $rc"; exit 1; }
echo "$table"
grep -q "^larson" <<<"$table"
# The recommendation leads: its heading is the first line, then overall and one line a workload.
head -1 <<<"$table" | grep -q "^Which allocator?"
grep -q "^  overall (2 workloads)" <<<"$table"
grep -q "^  xmalloc " <<<"$table"
grep -q "x glibc" <<<"$table"
grep -q "^memory over time" <<<"$table"
grep -q "cells classified" <<<"$table"
python3 - "$out/m" <<'PY'
import csv, json, os, sys
d = sys.argv[1]
doc = json.load(open(os.path.join(d, "results.json")))
assert doc["schema"] == "arenalab.matrix/1"
assert doc["complete"] is True
cells = doc["cells"]
assert len(cells) == 12, len(cells)
bad = [(c["workload"], c["configuration"], c["status"], c.get("mismatch") or c.get("message")) for c in cells if c["status"] != "ok"]
assert not bad, bad
for c in cells:
    assert c["verified"] and c["identified"]["backend"] == c["configuration"], c["identified"]
    for k in ("wall_ms", "user_ms", "sys_ms", "peak_rss_bytes", "rss_after_free_bytes", "minor_faults"):
        assert k in c, (k, c)
    assert c["throughput"]["value"] > 0
    assert os.path.getsize(c["timeline"]) > 0
    mem = c["memory"]
    assert mem["peak_rss_bytes"] >= mem["plateau_rss_bytes"] > 0, mem
    assert mem["peak_rss_bytes"] >= mem["final_rss_bytes"] > 0, mem
    assert mem["growth"]["verdict"] in ("leak", "retention", "bounded", "non-heap-growth",
                                        "stable", "unresolved"), mem
    m = c["measurements"]  # both workloads time their allocator calls
    assert 0 < m["malloc_p50_ns"] <= m["malloc_p99_ns"] <= m["malloc_max_ns"], m
    assert m["free_latency_samples"] > 0, m
# Interleaving: the first three cells are repeat 0 of larson under the three configurations.
assert [c["configuration"] for c in cells[:3]] == ["glibc", "jemalloc", "mimalloc"]
sums = {(s["workload"], s["configuration"], s["metric"]): s for s in doc["summaries"]}
s = sums[("larson", "jemalloc", "wall_ms")]
assert s["value"]["n"] == 2 and s["ratio_to_baseline"]["n"] == 2
assert s["value"]["ci_level"] == 0.5  # n = 2: [min, max] covers the median with 50 %
rec = doc["recommendation"]
assert [a["workload"] for a in rec["workloads"]] == ["larson", "xmalloc"], rec
for a in rec["workloads"] + [rec["overall"]]:
    assert a["front"], a
    assert len(a["front"]) + len(a["dominated"]) == 3, a
    assert set(a["axes"]) >= {"wall_ms", "peak_rss_bytes"}, a
    # Each dominated configuration names one that dominates it: a front member when one does
    # (recommend.cc looks there first), else another dominated one. Ties are not transitive
    # (paired-ratio intervals that overlap 1), so on a loaded machine, where the intervals are
    # wide, "mimalloc ties glibc on RSS and beats it elsewhere, jemalloc beats mimalloc" can hold
    # while jemalloc is worse than glibc on RSS (2 runs in 10 at -j2 beside 3 busy loops). So
    # the chain is followed: it must reach the front without a loop (with 3 configurations it
    # has at most 2 links, since dominance is antisymmetric).
    front = {f["configuration"] for f in a["front"]}
    by = {s["configuration"]: s["dominated_by"] for s in a["dominated"]}
    for s in a["dominated"]:
        c, seen = s["configuration"], set()
        while c not in front:
            assert c in by and c not in seen, (s["configuration"], by, front, a)
            seen.add(c)
            c = by[c]
env = doc["environment"]
assert env["cpu_model"] and env["kernel"] and env["glibc"] and env["thp_enabled"]
assert env["allocator_versions"]["jemalloc"].startswith("5."), env["allocator_versions"]
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
assert len(rows) == 12 and rows[0]["schema"] == "arenalab.matrix/1"
tl = open(cells[0]["timeline"]).readline()
assert json.loads(tl)["schema"] == "arenalab.timeline/1"
plan = doc["plan"]
assert plan["identification"] in ("runner", "harness"), plan
if plan["identification"] == "harness":
    assert "preflight" in plan["identification_note"], plan
    print("note: " + plan["identification_note"])
for w in ("larson", "xmalloc"):
    assert (w, "glibc", "malloc_p99_ns") in sums and (w, "glibc", "plateau_rss_bytes") in sums, w
print("small matrix: 12 cells ok and verified, summaries, timelines and memory present")
PY

# The runner path explicitly (jemalloc, mimalloc): identification by the interposer inside the
# process, and a timeline with the allocator's books.
"$arenalab" matrix --workloads larson --allocators jemalloc,mimalloc --baseline jemalloc \
  --repeats 2 --smoke --identify runner --quiet --out "$out/r" >/dev/null
python3 - "$out/r" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
assert doc["plan"]["identification"] == "runner"
for c in doc["cells"]:
    assert c["status"] == "ok", c
    assert c["identified"]["method"] == "runner" and c["identified"]["backend"] == c["configuration"], c
    samples = [json.loads(l) for l in open(c["timeline"]).readlines()[1:]]
    assert samples and "rss" in samples[0], c["timeline"]
    if c["configuration"] == "jemalloc":
        assert "allocated" in samples[-1].get("alloc", {}), samples[-1]
print("runner path: 4 cells identified by the interposer, timelines with allocator books")
PY

# --no-timeline: no timeline kept, no memory over time, nothing printed about it.
quiet=$("$arenalab" matrix --workloads larson --allocators glibc --repeats 1 --smoke \
  --no-timeline --quiet --out "$out/n")
if grep -q "^memory over time" <<<"$quiet"; then echo "memory printed without timelines"; exit 1; fi
python3 - "$out/n" <<'PY'
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
assert doc["plan"]["timeline"] is False
for c in doc["cells"]:
    assert c["status"] == "ok" and "memory" not in c and "timeline" not in c, c
print("--no-timeline: no timelines, no memory")
PY
