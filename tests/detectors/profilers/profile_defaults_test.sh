#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab profile with its default settings (issue 22, items 1 and 2), under one profiler, on
# profilers_leaky_program. Usage: profile_defaults_test.sh ARENALAB PROGRAM PROFILER
#  1. A 10 s leak with no --interval (the adaptive cadence) gives 24+ dumps, names
#     leak_some_records as a leak, and exits 3; progress lines come on stderr while it runs and
#     gperftools' per-dump "Dumping heap profile" lines do not.
#  2. The program frees the leak at exit (--free-at-exit): the dump taken at exit, after
#     teardown, does not end the series (its points are the regular dumps, its peak holds the leak) and is kept as "unfreed at
#     exit" (exit_dump, bytes_at_exit near 0).
#  4. The growth flame graph (built in, every profiler): the growth of the series from its first
#     regular dump to its last, so growth.folded's widest stack ends in leak_some_records and
#     growth.svg (well-formed XML) draws it in red, and headless Chromium (when installed)
#     renders it with no console error. When a regular dump fell in the teardown (the leak's
#     series ends below its peak, as item 2 allows; heaptrack's teardown of 500 frees, each
#     written to its pipe, spans its 0.2 s snapshots under load), the widest stack is the site
#     whose series grew most from the first point to the last (the graph draws the series).
#  3. A 1 s run: too little data, and the text says so and what to do; exit 0. (heaptrack
#     replays its trace at the traced run's duration / 48, the span of the trace's own
#     timestamps, so even 1 s is enough: leak, exit 3.)
set -uo pipefail
arenalab=$1 prog=$2 profiler=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

"$arenalab" profile --profiler "$profiler" --no-tools --out "$out/long" \
  -- "$prog" --seconds 10 --free-at-exit >"$out/long.txt" 2>"$out/long.err"
rc=$?
if [[ $rc -ne 3 ]]; then
  echo "FAIL: 10 s leak exited $rc, expected 3: $(tail -5 "$out/long.err")"; fail=1
fi
progress=$(grep -c '^arenalab profile: ' "$out/long.err")
if [[ $progress -lt 2 ]]; then
  echo "FAIL: $progress progress lines on stderr, expected 2+ over 10 s"; fail=1
fi
if grep -q 'Dumping heap profile' "$out/long.err"; then
  echo "FAIL: the profiler's per-dump chatter reached stderr: $(grep -m1 'Dumping' "$out/long.err")"
  fail=1
fi

python3 - "$out/long/profile.json" "$out/long.txt" <<'PY' || fail=1
import json, sys
p = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
fail = []
cs = p["callsites"]
top = cs[0] if cs else {}
fn = (top.get("site") or {}).get("function", "")
n = len(p["dump_t_ms"])
print(f"{p['profiler']}: {n} dumps ({p['cadence']}); top {top.get('verdict')} {fn} "
      f"{top.get('slope_bytes_per_s', 0) / 2**20:.1f} MiB/s, now {top.get('bytes_now', 0) / 2**20:.1f} MiB, "
      f"at exit {top.get('bytes_at_exit', -1) / 2**20:.1f} MiB; exit dump {p.get('exit_dump')}")
if n < 24:
    fail.append(f"{n} dumps in the series, expected 24+")
if top.get("verdict") != "leak" or "leak_some_records" not in fn:
    fail.append("the top call site is not leak_some_records with verdict leak")
if p["growing_callsites"] < 1:
    fail.append("growing_callsites is 0")
if not p.get("exit_dump"):
    fail.append("no exit_dump: the dump at exit was not told from the series")
# 12.5 MiB/s for 10 s: ~120 MiB before teardown, ~0 after it. The series' peak holds the leak
# and its points are the regular dumps only (the exit dump is none of them). Its last point
# need not be the peak: on a loaded machine the program is preempted inside its own free loop
# and a regular dump (or heaptrack snapshot) can fall there, seeing part of the frees.
peak = max(top.get("live_bytes") or [0])
if peak < 60 * 2**20:
    fail.append(f"series peak {peak}: the leak is not in the series")
if len(top.get("t_ms", [])) > n:
    fail.append(f"the series has {len(top['t_ms'])} points for {n} regular dumps")
if p.get("exit_dump") in p["dumps"] and p["profiler"] != "heaptrack":
    fail.append(f"the exit dump {p['exit_dump']} is listed among the series' dumps")
if top.get("t_ms") and p["dump_t_ms"] and top["t_ms"][-1] > p["dump_t_ms"][-1]:
    fail.append("the series ends after the last regular dump")
if top.get("bytes_at_exit") is None or top["bytes_at_exit"] > 0.1 * peak:
    fail.append(f"bytes_at_exit {top.get('bytes_at_exit')}: the freed leak is not shown at exit")
if "unfreed at exit" not in text:
    fail.append("the text report has no 'unfreed at exit' line")
import os, xml.etree.ElementTree as ET
d = os.path.dirname(sys.argv[1])
try:
    lines = [l.rsplit(" ", 1) for l in open(os.path.join(d, "growth.folded")) if l.strip()]
    want = "leak_some_records"
    lb = top.get("live_bytes") or [0]
    if "leak_some_records" in fn and lb[-1] < max(lb):
        # A regular dump saw (part of) the teardown: the site that grew most over the series.
        grew = {}
        for c in cs:
            b = c.get("live_bytes") or []
            name = ((c.get("site") or {}).get("function") or "").split("(")[0]
            if b and b[-1] - b[0] >= 1:
                grew[name] = grew.get(name, 0) + b[-1] - b[0]
        want = max(grew, key=grew.get) if grew else None
        print(f"a regular dump fell in the teardown (the leak's series ends at "
              f"{lb[-1] / 2**20:.1f} of {max(lb) / 2**20:.1f} MiB): the growth graph's widest "
              f"stack is the site that grew most over the series, "
              f"{'none (empty)' if want is None else want or 'unnamed'}")
    widest = max(lines, key=lambda l: float(l[1])) if lines else None
    if want is None and widest is not None:
        fail.append(f"growth.folded has {widest} where no site of the series grew")
    elif want is not None:
        leaf = widest[0].split(";")[-1] if widest else None
        # A site without a function name (want "") is none of the named ones.
        named = [((c.get("site") or {}).get("function") or "").split("(")[0] for c in cs]
        named = [n for n in named if n]
        if leaf is None or not (leaf.startswith(want) if want
                                else not any(leaf.startswith(n) for n in named)):
            fail.append(f"growth.folded's widest stack is {widest}, expected {want or 'unnamed'}")
    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.parse(os.path.join(d, "growth.svg")).getroot()
    red = [g.find(ns + "title").text for g in svg.iter(ns + "g")
           if g.find(ns + "rect") is not None and g.find(ns + "rect").get("fill") == "rgb(220,40,30)"]
    if want == "leak_some_records" and not any(t.startswith("leak_some_records") for t in red):
        fail.append(f"growth.svg does not draw leak_some_records in red (red: {red})")
except (OSError, ET.ParseError, ValueError) as e:
    fail.append(f"growth flame graph: {e}")
for f in fail:
    print("FAIL:", f)
if fail:  # what the classifier saw
    for c in cs[:4]:
        fn_ = (c.get("site") or {}).get("function", "")
        print(f"  {c['verdict']:<10} {len(c['t_ms'])} points, now {c['bytes_now']:.0f} B  {fn_}: "
              f"{c['reason'][:160]}")
sys.exit(1 if fail else 0)
PY

if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr \
    --screenshot="$out/growth.png" --window-size=1200,300 "file://$out/long/growth.svg" \
    >"$out/chromium.log" 2>&1
  if [[ ! -s "$out/growth.png" ]] || grep -q 'CONSOLE' "$out/chromium.log"; then
    echo "FAIL: headless Chromium did not render growth.svg cleanly: $(grep -m3 -E 'CONSOLE|ERROR' "$out/chromium.log")"
    fail=1
  else
    echo "growth.svg rendered by headless Chromium ($(stat -c %s "$out/growth.png") bytes PNG)"
  fi
fi

"$arenalab" profile --profiler "$profiler" --no-tools -q --out "$out/short" \
  -- "$prog" --seconds 1 >"$out/short.txt" 2>"$out/short.err"
rc=$?
if [[ $profiler == heaptrack ]]; then
  if [[ $rc -ne 3 ]] || ! grep -q '^  leak .*leak_some_records' "$out/short.txt"; then
    echo "FAIL: heaptrack, 1 s run: exit $rc, expected 3 with leak_some_records a leak"
    cat "$out/short.txt"; fail=1
  fi
elif [[ $rc -ne 0 ]]; then
  echo "FAIL: 1 s run exited $rc, expected 0 (nothing can be called leak): $(tail -3 "$out/short.err")"
  fail=1
elif ! grep -q 'too little data: .* dump(s) over .* run the program longer' "$out/short.txt"; then
  echo "FAIL: the 1 s run's text does not say the data is short and what to do:"
  cat "$out/short.txt"; fail=1
else
  grep -m1 'too little data' "$out/short.txt"
fi
if [[ -s "$out/short.err" ]] && grep -q '^arenalab profile: ' "$out/short.err"; then
  echo "FAIL: -q printed progress lines"; fail=1
fi
exit $fail
