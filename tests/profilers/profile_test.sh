#!/usr/bin/env bash
# arenalab profile end to end on profilers_leaky_program under one profiler:
#  1. malloc kind: the top call site is leak_some_records with verdict leak; churn_buffers and
#     cached_window are not leaks; the profiler's own growth report (jeprof/pprof --base,
#     heaptrack_print) was saved and names leak_some_records too.
#  2. mmap kind: a heap profiler shows no growing call site and the report says why; the
#     interposer's timeline shows the mmap growth as a leak and the report says so. (Naming
#     leak_some_mappings needs mmap call stacks, which the interposer does not record yet.)
set -uo pipefail
arenalab=$1 prog=$2 profiler=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
seconds=3
[[ $profiler == tcmalloc ]] && seconds=4  # gperftools dumps at most once a second

err=$("$arenalab" profile --profiler "$profiler" --interval 0.5 --json --out "$out/malloc" \
      -- "$prog" --seconds $seconds 2>&1 >"$out/malloc.json"); rc=$?
if [[ $rc -ne 0 ]]; then
  if [[ $profiler == interposer && $err == *"needs arenalab_runner"* ]]; then
    echo "SKIP: $err"; exit 77
  fi
  echo "FAIL: arenalab profile exited $rc: $err"; exit 1
fi
"$arenalab" profile --profiler "$profiler" --interval 0.5 --json --no-tools --out "$out/mmap" \
  -- "$prog" --seconds $seconds --mmap >"$out/mmap.json" 2>"$out/mmap.err" ||
  { echo "FAIL: mmap run: $(cat "$out/mmap.err")"; exit 1; }

python3 - "$profiler" "$out" <<'PY'
import json, sys, os
profiler, out = sys.argv[1], sys.argv[2]
fail = []
def site(c): return (c.get("site") or {}).get("function", "")
r = json.load(open(f"{out}/malloc.json"))
cs = r["callsites"]
print(f"{profiler}: {len(r['dumps'])} dump(s), {len(cs)} call sites")
for c in cs[:5]:
    print(f"  {c['verdict']:<10} {c.get('slope_bytes_per_s', float('nan')):>14.0f} B/s "
          f"{c['bytes_now']:>12.0f} B  {site(c)}")
if not cs or cs[0]["verdict"] != "leak" or "leak_some_records" not in site(cs[0]):
    fail.append("top call site is not leak_some_records with verdict leak")
for c in cs:
    if c["verdict"] == "leak" and "leak_some_records" not in site(c):
        fail.append(f"{site(c)} called leak")
    if ("churn_buffers" in site(c) or "cached_window" in site(c)) and c["verdict"] == "leak":
        fail.append(f"churn site {site(c)} called leak")
growth = {"jemalloc": "jeprof.growth.txt", "tcmalloc": "google-pprof.growth.txt",
          "interposer": "jeprof.growth.txt", "heaptrack": "heaptrack_print.txt"}[profiler]
path = os.path.join(out, "malloc", growth)
tool_text = open(path).read() if os.path.exists(path) else ""
fn = "leak_some_records"
if fn not in tool_text:
    fail.append(f"{growth} missing or does not name {fn}")
m = json.load(open(f"{out}/mmap.json"))
mcs = m["callsites"]
notes = " ".join(m["notes"])
print(f"{profiler} --mmap: top {mcs[0]['verdict'] if mcs else '-'} "
      f"{site(mcs[0]) if mcs else ''}; notes: {notes[:160]}")
if any(c["verdict"] == "leak" for c in mcs):
    fail.append("a heap call site was called leak on the mmap kind")
if profiler == "interposer":
    if m.get("mmap", {}).get("verdict") != "leak":
        fail.append(f"interposer: mmap_bytes not classified leak: {m.get('mmap')}")
    if "anonymous mmap(2) made by the program itself grows" not in notes:
        fail.append("interposer: the report does not say the mmap bytes grow")
else:
    if "mmap(2) called directly" not in notes:
        fail.append("the report does not say heap profilers miss mmap")
    if profiler != "heaptrack" and "RSS grew" not in notes:
        fail.append("the report does not point at the RSS growth the heap profile misses")
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
