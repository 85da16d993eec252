#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ctrl-C or a SIGTERM to a running matrix: the cell that was running is stopped (nothing of it
# left running) and not recorded, the cells done are merged into results.json (complete:
# false), one line says so and how to go on, and arenalab ends by the signal (128+N). A
# --resume then finishes the matrix. Before: exit 143 with no line at all.
# Usage: matrix_stop_test.sh ARENALAB
set -uo pipefail
set -m  # job control: the background arenalab does not start with SIGINT ignored
arenalab=$1
command -v python3 >/dev/null || { echo "SKIPPED: python3 missing"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
# A cell of 4 s whose command line marks it among the processes.
nap="4.$$"
for sig in TERM INT; do
  args=(matrix --command "nap=sleep $nap" --allocators glibc --repeats 3 --quiet --out "$out/$sig")
  "$arenalab" "${args[@]}" >"$out/$sig.out" 2>"$out/$sig.err" &
  pid=$!
  for _ in $(seq 300); do
    (($(find "$out/$sig/cells" -name cell.json 2>/dev/null | wc -l) >= 1)) && break
    sleep 0.1
  done
  sleep 1  # inside the second cell
  kill "-$sig" "$pid"
  t0=$(date +%s%N)
  wait "$pid"
  rc=$?
  stop_rc=$rc
  ms=$((($(date +%s%N) - t0) / 1000000))
  want=$((128 + $(kill -l "$sig")))
  [[ $rc -eq $want ]] || { echo "FAIL: SIG$sig: exit $rc, expected $want"; fail=1; }
  ((ms < 3000)) || { echo "FAIL: SIG$sig: the matrix took $ms ms to stop (the cell was waited for)"; fail=1; }
  grep -q "^arenalab matrix: stopped by SIG$sig: 1 cell(s) recorded (1 ok) in .*results.json (complete: false).*--resume" "$out/$sig.err" ||
    { echo "FAIL: SIG$sig: no line saying what was kept: $(tail -n 2 "$out/$sig.err")"; fail=1; }
  python3 - "$out/$sig/results.json" <<'PY' || { echo "FAIL: SIG$sig: results.json"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False and len(d["cells"]) == 1, (d["complete"], len(d["cells"]))
PY
  sleep 0.2
  if ps -eo args= | grep -F -- "sleep $nap" | grep -v grep >/dev/null; then
    echo "FAIL: SIG$sig: the running cell was left running"; fail=1
  fi
  "$arenalab" "${args[@]}" --resume >/dev/null 2>"$out/$sig.resume.err"
  rc=$?
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["complete"] is True and len(d["cells"]) == 3 and all(c["status"] == "ok" for c in d["cells"]), d["cells"]' \
    "$out/$sig/results.json" || { echo "FAIL: SIG$sig: --resume (exit $rc) did not finish it: $(tail -n 2 "$out/$sig.resume.err")"; fail=1; }
  [[ $fail -eq 0 ]] && echo "ok: SIG$sig: exit $stop_rc after ${ms} ms, $(grep 'stopped by' "$out/$sig.err" | cut -c1-90)..., resumed to 3 of 3"
done
exit $fail
