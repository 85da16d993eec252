#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab diff (issue 22, item 5) on real jemalloc dumps of profilers_leaky_program:
#  1. two dumps of one run (the first and the last of the series): the top row is
#     leak_some_records, grown by 10 MiB or more;
#  2. two runs' directories (the bug fixed, then not; other load addresses): the same, with a
#     growth flame graph (--out) whose widest stack ends in leak_some_records;
#  3. a missing path: one line on stderr, exit 1.
# Usage: diff_test.sh ARENALAB PROGRAM
set -uo pipefail
arenalab=$1 prog=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
for run in fixed leaky; do
  args=(--seconds 3)
  [[ $run == fixed ]] && args+=(--fixed)
  "$arenalab" profile --profiler jemalloc --interval 0.2 --no-tools -q --out "$out/$run" \
    -- "$prog" "${args[@]}" >/dev/null 2>"$out/$run.err"
  rc=$?
  if [[ $rc -ne 0 && $rc -ne 3 ]]; then echo "FAIL: profile $run exited $rc: $(cat "$out/$run.err")"; exit 1; fi
done
read -r first last < <(python3 -c "
import json, sys; d = json.load(open('$out/leaky/profile.json'))['dumps']; print(d[0], d[-1])")

top_row() {  # the first row of the table
  sed -n '/^ *growth  *before/{n;p;q}' "$1"
}
check_top() {  # check_top FILE WHAT
  local row; row=$(top_row "$1")
  echo "$2: $row"
  if [[ $row != *leak_some_records* ]]; then echo "FAIL: $2: top row is not leak_some_records"; fail=1; return; fi
  python3 - "$row" "$2" <<'PY' || fail=1
import sys
row, what = sys.argv[1], sys.argv[2]
value, unit = row.split()[0], row.split()[1]
mib = float(value) * {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]
if mib < 10:
    print(f"FAIL: {what}: leak_some_records grew by {mib:.1f} MiB, expected 10+")
    sys.exit(1)
PY
}

"$arenalab" diff "$first" "$last" >"$out/dumps.txt" 2>&1 || { echo "FAIL: diff of two dumps: $(cat "$out/dumps.txt")"; fail=1; }
check_top "$out/dumps.txt" "two dumps"
"$arenalab" diff --out "$out/d" "$out/fixed" "$out/leaky" >"$out/dirs.txt" 2>&1 ||
  { echo "FAIL: diff of two directories: $(cat "$out/dirs.txt")"; fail=1; }
check_top "$out/dirs.txt" "two runs"
python3 - "$out/d" <<'PY' || fail=1
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
lines = [l.rsplit(" ", 1) for l in open(d + "/diff.folded") if l.strip()]
widest = max(lines, key=lambda l: float(l[1]))
ET.parse(d + "/diff.svg")
if not widest[0].split(";")[-1].startswith("leak_some_records"):
    print(f"FAIL: diff.folded's widest stack is {widest}")
    sys.exit(1)
PY
err=$("$arenalab" diff "$out/none" "$out/leaky" 2>&1 >/dev/null); rc=$?
if [[ $rc -ne 1 || $(printf '%s\n' "$err" | wc -l) -ne 1 || $err != *"$out/none"* ]]; then
  echo "FAIL: diff of a missing path: exit $rc, '$err'"; fail=1
fi
exit $fail
