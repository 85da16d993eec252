#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab analyze DIR (issue 22, item 6): the views of a full-mode run of
# profilers_leaky_program --seconds 2 (100 ticks: each leaks 256 KiB from leak_some_records,
# allocates and frees 20 x 128 KiB in churn_buffers, replaces a 64 KiB cached_window slot),
# exact because full mode records every allocation:
#  1. live at the peak: leak_some_records 25.0 MiB (100 x 256 KiB), first; peak.folded's widest
#     stack ends in it and peak.svg is well-formed;
#  2. temporary allocations (freed within 10 ms): churn_buffers T of 2000, T being what the
#     program measured of its own holds on CLOCK_MONOTONIC (--churn-held-ms 10), the interposer's
#     clock: a record's lifetime lies between the program's hold (malloc's return to free's
#     call) and that hold with the two calls, so T is at least 2000 minus the holds over 10 ms
#     with the calls and at most 2000 minus those over 10 ms without. Unloaded, none is: T is
#     exactly 2000; under load a preemption inside a hold makes that buffer not temporary;
#  3. allocations per site: churn_buffers 2000 (250.0 MiB), leak_some_records and
#     cached_window 100 each;
#  4. --at 1: a "live at 1.0 s" table where leak_some_records holds part of its peak (more than
#     0, less than 25.0 MiB), and live-at.folded/.svg with it as the widest stack;
#  5. a directory without allocs.bin: one line on stderr, exit 1; a log of three 2^63-byte
#     allocations (once read as "live at the peak 8388608.0 TiB", exit 0): one line naming the
#     file and record 1, exit 1, no flame graph written;
#  6. arenalab profile --profiler interposer --full (one command: full mode, then analyze's
#     code path): exit 0, the same figures as in 1-3, and exactly the text `arenalab analyze`
#     prints for its directory; --full with another profiler is a usage error (exit 2).
# Usage: analyze_test.sh ARENALAB PROGRAM
set -uo pipefail
arenalab=$1 prog=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
"$arenalab" run -q --mode full --out "$out/full" -- "$prog" --seconds 2 --churn-held-ms 10 \
  >"$out/run.txt" 2>"$out/run.err" ||
  { echo "FAIL: run --mode full: $(cat "$out/run.err")"; exit 1; }
"$arenalab" analyze "$out/full" >"$out/views.txt" 2>&1 ||
  { echo "FAIL: analyze: $(cat "$out/views.txt")"; exit 1; }
cat "$out/views.txt"
views=$out/views.txt
expect() {  # expect SECTION-PATTERN ROW-PATTERN (in $views)
  if ! sed -n "/$1/,/^\$/p" "$views" | grep -Eq -- "$2"; then
    echo "FAIL: no row '$2' under '$1' in $(basename "$views")"; fail=1
  fi
}
# expect_temporary PROGRAM-OUTPUT: churn_buffers' temporaries (in $views) within what the
# program measured of its holds (its line "held over 10 ms: I from malloc's return to free's
# call, O from malloc's call to free's return"): 2000 - O <= T <= 2000 - I.
expect_temporary() {
  local held inner outer t
  held=$(grep -o 'held over 10 ms: [0-9]* from .*, [0-9]* from' "$1")
  if [[ -z $held ]]; then
    echo "FAIL: the program did not report its churn holds: $(cat "$1")"; fail=1; return
  fi
  read -r inner outer < <(sed -E 's/.*: ([0-9]+) from .*, ([0-9]+) from$/\1 \2/' <<<"$held")
  t=$(sed -n '/^temporary allocations/,/^$/p' "$views" |
    sed -nE 's/^ +([0-9]+) of 2000  churn_buffers.*/\1/p')
  echo "churn_buffers: ${t:-no row} of 2000 temporary; the program held $inner over 10 ms" \
    "($outer counting malloc and free)"
  if [[ -z $t ]] || ((t < 2000 - outer || t > 2000 - inner)); then
    echo "FAIL: churn_buffers' temporaries: '${t:-no row} of 2000' under 'temporary allocations'" \
      "in $(basename "$views"), expected $((2000 - outer))..$((2000 - inner))"
    fail=1
  fi
}
expect_counts() {
  expect '^live at the peak' '^ +25\.0 MiB  leak_some_records'
  if ! sed -n '/^live at the peak/{n;p}' "$views" | grep -q leak_some_records; then
    echo "FAIL: leak_some_records is not first at the peak"; fail=1
  fi
  expect_temporary "$1"
  expect '^allocations per call site' '^ +2000 \(250\.0 MiB\)  churn_buffers'
  expect '^allocations per call site' '^ +100 \(25\.0 MiB\)  leak_some_records'
  expect '^allocations per call site' '^ +100 \(6\.2 MiB\)  cached_window'
}
expect_counts "$out/run.txt"
python3 - "$out/full" <<'PY' || fail=1
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
lines = [l.rsplit(" ", 1) for l in open(d + "/peak.folded") if l.strip()]
widest = max(lines, key=lambda l: float(l[1]))
ET.parse(d + "/peak.svg")
if not widest[0].split(";")[-1].startswith("leak_some_records") or float(widest[1]) != 100 * 262144:
    print(f"FAIL: peak.folded's widest stack is {widest}, expected leak_some_records 26214400")
    sys.exit(1)
PY
"$arenalab" analyze --at 1 "$out/full" >"$out/at.txt" 2>&1 ||
  { echo "FAIL: analyze --at 1: $(cat "$out/at.txt")"; fail=1; }
python3 - "$out/full" "$out/at.txt" <<'PY' || fail=1
import re, sys, xml.etree.ElementTree as ET
d, text = sys.argv[1], open(sys.argv[2]).read()
m = re.search(r"^live at 1\.0 s \(.*\):\n +([0-9.]+) (MiB|KiB)  leak_some_records", text, re.M)
ET.parse(d + "/live-at.svg")
rows = [l.rsplit(" ", 1) for l in open(d + "/live-at.folded") if l.strip()]
widest = max(rows, key=lambda l: float(l[1]))
at = float(widest[1])
print(f"live at 1.0 s: {widest[0].split(';')[-1]} {at / 2**20:.2f} MiB")
if not m or not widest[0].split(";")[-1].startswith("leak_some_records") or not 0 < at < 100 * 262144:
    print("FAIL: analyze --at 1 does not show leak_some_records with part of its peak:\n" + text)
    sys.exit(1)
PY
mkdir -p "$out/empty"
err=$("$arenalab" analyze "$out/empty" 2>&1 >/dev/null); rc=$?
if [[ $rc -ne 1 || $(printf '%s\n' "$err" | wc -l) -ne 1 || $err != *allocs.bin* ]]; then
  echo "FAIL: analyze of a directory without allocs.bin: exit $rc, '$err'"; fail=1
fi
mkdir -p "$out/huge"
python3 -c '
import struct, sys
d = b"ARENALAB-FULL/2\n"
for k in range(3):
    d += b"A" + struct.pack("<QQQI", 1000 + k, 0x10000 * (k + 1), 1 << 63, 0xffffffff)
open(sys.argv[1], "wb").write(d)' "$out/huge/allocs.bin"
err=$("$arenalab" analyze "$out/huge" 2>&1 >/dev/null); rc=$?
if [[ $rc -ne 1 || $(printf '%s\n' "$err" | wc -l) -ne 1 || $err != *"$out/huge/allocs.bin: record 1 allocates 9223372036854775808 bytes"* ||
      -e $out/huge/peak.svg ]]; then
  echo "FAIL: analyze of a log of 2^63-byte allocations: exit $rc, '$err'"; fail=1
fi

"$arenalab" profile --profiler interposer --full -q --out "$out/pf" -- "$prog" --seconds 2 \
  --churn-held-ms 10 >"$out/pf.txt" 2>"$out/pf.err"; rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: profile --full exited $rc: $(tail -3 "$out/pf.err")"; fail=1
fi
grep '^profile: ' "$out/pf.txt"
views=$out/pf.txt
expect_counts "$out/pf.txt"
grep -q '^profile: .* under interposer, full mode (exit 0)$' "$out/pf.txt" ||
  { echo "FAIL: profile --full has no 'profile: ... full mode (exit 0)' line"; fail=1; }
# One code path: what analyze prints for the directory is what profile --full printed after its
# 'profile:' line (the target's own output comes before it) and before the runner's notes.
"$arenalab" analyze "$out/pf" >"$out/pf-analyze.txt" 2>&1
if ! diff <(sed '1,/^profile: /d;/^notes:$/,$d' "$out/pf.txt") "$out/pf-analyze.txt" >"$out/pf.diff"; then
  echo "FAIL: profile --full and analyze of its directory differ:"; cat "$out/pf.diff"; fail=1
fi
"$arenalab" profile --profiler jemalloc --full -- "$prog" --seconds 0 >/dev/null 2>&1; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: --full with --profiler jemalloc exited $rc, expected 2"; fail=1; }
exit $fail
