#!/usr/bin/env bash
# arenalab profile end to end under one profiler, on wl_leak (leak_into_registry amid churn_*
# functions that free) when it is built, else on profilers_leaky_program (leak_some_records
# amid churn_buffers and cached_window). Usage: profile_test.sh ARENALAB PROGRAM PROFILER
#  1. malloc kind: the top call site is the leaking function with verdict leak; the churn
#     sites are not leaks; the profiler's own growth report (jeprof/pprof --base,
#     heaptrack_print) was saved and names the leaking function too.
#  2. mmap kind: a heap profiler shows no growing call site and the report says why; the
#     interposer's timeline shows the mmap growth as a leak and the report says so. (Naming
#     leak_some_mappings needs mmap call stacks, which the interposer does not record yet.)
set -uo pipefail
arenalab=$1 prog=$2 profiler=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The slope analysis wants >= 24 dumps (8 blocks of 3): 4 s at 0.15 s.
seconds=4 interval=0.15
if [[ $(basename "$prog") == wl_leak* ]]; then
  leak_fn=leak_into_registry mmap_fn=leak_into_registry
  malloc_args=(--duration $seconds) mmap_args=(--kind mmap --duration 4)
else
  leak_fn=leak_some_records mmap_fn=leak_some_mappings
  malloc_args=(--seconds $seconds) mmap_args=(--seconds 4 --mmap)
fi

# A sample per 64 KiB on average (jemalloc, interposer) keeps the sampled series smooth enough
# for a short run.
err=$("$arenalab" profile --profiler "$profiler" --interval $interval --lg-sample 16 --json --out "$out/malloc" \
      -- "$prog" "${malloc_args[@]}" 2>&1 >"$out/malloc.json"); rc=$?
if [[ $rc -ne 0 ]]; then
  if [[ $profiler == interposer && $err == *"needs arenalab_runner"* ]]; then
    echo "SKIP: $err"; exit 77
  fi
  echo "FAIL: arenalab profile exited $rc: $err"; exit 1
fi
"$arenalab" profile --profiler "$profiler" --interval 0.25 --json --no-tools --out "$out/mmap" \
  -- "$prog" "${mmap_args[@]}" >"$out/mmap.json" 2>"$out/mmap.err" ||
  { echo "FAIL: mmap run: $(cat "$out/mmap.err")"; exit 1; }

python3 - "$profiler" "$out" "$leak_fn" <<'PY'
import json, sys, os
profiler, out, leak_fn = sys.argv[1], sys.argv[2], sys.argv[3]
fail = []
def site(c): return (c.get("site") or {}).get("function", "")
r = json.load(open(f"{out}/malloc.json"))
cs = r["callsites"]
print(f"{profiler}: {len(r['dumps'])} dump(s), {len(cs)} call sites")
for c in cs[:5]:
    print(f"  {c['verdict']:<10} {c.get('slope_bytes_per_s', float('nan')):>14.0f} B/s "
          f"{c['bytes_now']:>12.0f} B  {site(c)}")
print(f"  classifier: {cs[0]['method'] if cs else '-'}")
if not cs or cs[0]["verdict"] != "leak" or leak_fn not in site(cs[0]):
    fail.append(f"top call site is not {leak_fn} with verdict leak")
for c in cs:
    if c["verdict"] == "leak" and leak_fn not in site(c):
        fail.append(f"{site(c)} called leak")
    if any(w in site(c) for w in ("churn", "cached_window")) and c["verdict"] == "leak":
        fail.append(f"churn site {site(c)} called leak")
growth = {"jemalloc": "jeprof.growth.txt", "tcmalloc": "google-pprof.growth.txt",
          "interposer": "jeprof.growth.txt", "heaptrack": "heaptrack_print.txt"}[profiler]
path = os.path.join(out, "malloc", growth)
tool_text = open(path).read() if os.path.exists(path) else ""
fn = leak_fn
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
