#!/usr/bin/env bash
# arenalab profile end to end under one profiler, on wl_leak (leak_into_registry amid churn_*
# functions that free) when it is built, else on profilers_leaky_program (leak_some_records
# amid churn_buffers and cached_window). Usage: profile_test.sh ARENALAB PROGRAM PROFILER
#  1. malloc kind: the top call site is the leaking function with verdict leak; the churn
#     sites are not leaks; the profiler's own growth report (jeprof/pprof --base,
#     heaptrack_print) was saved and names the leaking function too.
#  2. mmap kind: a heap profiler shows nothing growing, and its report (text and JSON) says
#     explicitly that anonymous memory grows outside the allocator's books, which a heap dump
#     does not reveal, and points at --profiler interposer; the interposer names the mmap call
#     site (the function that calls mmap) as the top growing site with verdict leak.
set -uo pipefail
arenalab=$1 prog=$2 profiler=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The slope analysis wants >= 24 dumps (8 blocks of 3): 4 s at 0.15 s. A call site's series
# starts at the first dump that holds it, so both runs last 5 s: at 4 s the mmap run came out
# "too little data: 7 blocks" in 1 run of 5, and the tcmalloc malloc run in 1 of 10 under load
# (its leak site first seen one dump late). The dump at exit is no longer part of the series
# (issue 22): at 5 s the interposer's mmap site then came out "7 blocks, need 8" in 1 run of 3,
# and heaptrack's malloc run once missed its leak in the whole suite at -j2.
seconds=6 mmap_seconds=6 interval=0.15
# heaptrack's recorder can hold the program up for seconds on a loaded machine (its pipe to
# heaptrack_interpret fills while that symbolizes the binary): no snapshot is taken inside such a
# stall, and wl_leak catches up on what is due in a burst after it; 10 s leave enough steady
# growth after a 3 s stall (measured under load) to judge.
[[ $profiler == heaptrack ]] && seconds=10
if [[ $(basename "$prog") == wl_leak* ]]; then
  leak_fn=leak_into_registry mmap_fn=leak_into_registry
  malloc_args=(--duration $seconds) mmap_args=(--kind mmap --duration $mmap_seconds)
else
  leak_fn=leak_some_records mmap_fn=leak_some_mappings
  malloc_args=(--seconds $seconds) mmap_args=(--seconds $mmap_seconds --mmap)
fi

# A sample per 64 KiB on average (jemalloc, interposer) keeps the sampled series smooth enough
# for a short run.
err=$("$arenalab" profile --profiler "$profiler" --interval $interval --lg-sample 16 --json --out "$out/malloc" \
      -- "$prog" "${malloc_args[@]}" 2>&1 >"$out/malloc.json"); rc=$?
# Exit 3: a call site leaks (as watch).
malloc_rc_fail=0
if [[ $rc -ne 3 ]]; then
  echo "FAIL: arenalab profile exited $rc, expected 3 (a leak): $err"; malloc_rc_fail=1
  [[ -s "$out/malloc.json" ]] || exit 1
fi
# The text report this time (the JSON is DIR/profile.json); 24+ dumps for the mmap site's verdict.
# Exit 3 under the interposer, which names the mmap call site. Under the heap profilers the only
# heap growth is wl_leak's registry of the mapped pointers (8 bytes per mapping, a few KiB):
# exit 3 exactly when that is classified leak (checked below).
"$arenalab" profile --profiler "$profiler" --interval $interval --no-tools --out "$out/mmap" \
  -- "$prog" "${mmap_args[@]}" >"$out/mmap.txt" 2>"$out/mmap.err"
rc=$?
[[ $profiler == interposer ]] && want=3 || want=0
mmap_rc_fail=0
if [[ $profiler == interposer && $rc -ne 3 ]] || [[ $rc -ne 0 && $rc -ne 3 ]]; then
  echo "FAIL: mmap run exited $rc"; mmap_rc_fail=1
fi
echo "$rc" >"$out/mmap.rc"

python3 - "$profiler" "$out" "$leak_fn" "$mmap_fn" <<'PY'
import json, sys, os
profiler, out, leak_fn, mmap_fn = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
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
# A tool that wrote nothing (jeprof --svg without graphviz) says why, in its own words.
for t in r["tools"]:
    if t.get("output") and os.path.getsize(t["output"]) == 0 and not t.get("error"):
        fail.append(f"tool wrote nothing and no error is given: {t['command']}")
# With graphviz (scripts/bootstrap installs it) the call graph is drawn.
import shutil
if shutil.which("dot") and profiler != "heaptrack":
    svg = path.replace("growth.txt", "growth.svg")
    if not os.path.exists(svg) or "<svg" not in open(svg).read():
        fail.append(f"{svg}: no call graph although graphviz is installed")
if r.get("outside_heap", {}).get("outside"):
    fail.append(f"malloc kind: growth called outside the profile: {r['outside_heap']}")
m = json.load(open(f"{out}/mmap/profile.json"))
text = open(f"{out}/mmap.txt").read()
mcs = m["callsites"]
notes = " ".join(m["notes"])
outside = m.get("outside_heap", {})
top = mcs[0] if mcs else {}
print(f"{profiler} mmap kind: {len(m['dumps'])} dump(s), {len(m.get('mmap_dumps', []))} mmap "
      f"dump(s); top {top.get('verdict', '-')} [{top.get('source', '')}] "
      f"{top.get('slope_bytes_per_s', float('nan')):.0f} B/s {top.get('bytes_now', 0):.0f} B "
      f"{site(top)}; growing {m.get('growing_callsites')}")
print(f"  outside_heap: {json.dumps(outside)[:400]}")
for line in text.splitlines():
    if line.startswith("  leak ") or "nothing growing" in line or "allocator's books" in line:
        print("  text:", line.strip()[:300])
# Heap sites may grow only by bookkeeping: each under 1% of what the program mapped.
heap_leaks = [(site(c), c["bytes_now"]) for c in mcs
              if c["verdict"] == "leak" and c.get("source") != "mmap"]
if any(b > 0.01 * 16 * 2**20 for _, b in heap_leaks):
    fail.append(f"mmap kind: heap call sites called leak with real bytes: {heap_leaks}")
mmap_rc = int(open(f"{out}/mmap.rc").read())
if mmap_rc != (3 if m["growing_callsites"] > 0 else 0):
    fail.append(f"mmap kind: exit {mmap_rc} with {m['growing_callsites']} growing call sites")
if profiler == "interposer":
    if m.get("mmap", {}).get("verdict") != "leak":
        fail.append(f"interposer: mmap_bytes not classified leak: {m.get('mmap')}")
    if not (top.get("source") == "mmap" and top.get("verdict") == "leak" and
            mmap_fn in site(top)):
        fail.append(f"interposer: top call site is not [mmap] {mmap_fn} with verdict leak")
    if "anonymous mmap(2) made by the program itself grows" not in notes or \
            f"the growing mmap call site is" not in notes or mmap_fn not in notes:
        fail.append(f"interposer: the notes do not name the mmap call site: {notes[:300]}")
    if not any(line.startswith("  leak ") and "[mmap]" in line and mmap_fn in line
               for line in text.splitlines()):
        fail.append("interposer: the text report does not list the [mmap] site as a leak")
    if outside.get("outside"):
        fail.append(f"interposer: growth called outside its books: {outside}")
else:
    if m.get("growing_callsites") == 0 and "nothing growing" not in text:
        fail.append("mmap kind: the report does not say nothing is growing")
    if "mmap(2) called directly" not in notes:
        fail.append("the report does not say heap profilers miss mmap")
    if profiler != "heaptrack":  # heaptrack's pid is its script: no RSS series
        expl = outside.get("explanation", "")
        if not (outside.get("outside") and outside.get("verdict") == "leak"):
            fail.append(f"outside_heap does not say anonymous memory grows outside: {outside}")
        for phrase in ("grows outside the allocator's books", "a heap dump does not reveal",
                       "--profiler interposer to name the mmap call site"):
            if phrase not in expl:
                fail.append(f"outside_heap.explanation lacks '{phrase}'")
            if phrase not in text:
                fail.append(f"the text report lacks '{phrase}'")
for f in fail: print("FAIL:", f)
if fail:  # what the classifier saw
    for c in (cs[:3] + mcs[:4]):
        print(f"  {c['verdict']:<10} [{c.get('source')}] {len(c['t_ms'])} points, now "
              f"{c['bytes_now']:.0f} B  {site(c)}: {c['reason'][:160]}")
sys.exit(1 if fail else 0)
PY
[[ $? -eq 0 && $mmap_rc_fail -eq 0 && $malloc_rc_fail -eq 0 ]]
