#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ctrl-C or a SIGTERM to a running matrix: the cell that was running is stopped (nothing of it
# left running) and not recorded, the cells done are merged into results.json (complete:
# false), one line says so and how to go on, and arenalab ends by the signal (128+N). A
# --resume then finishes the matrix. Before: exit 143 with no line at all.
# The same signal during --warmup's unrecorded run: the warm-up is stopped (nothing left
# running), its scratch directory cells/warmup.<random> is removed (it was left behind: the
# signal ended the process before its guard was set), results.json says complete: false with
# no cell, and arenalab ends by the signal. The same for a cluster task's warm-up
# (`matrix --cell PLAN 0` of a --warmup plan, the scheduler's SIGTERM): cells/warmup-0.<random>
# removed, the process ended by SIGTERM (143).
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
for sig in TERM INT; do
  args=(matrix --command "nap=sleep $nap" --allocators glibc --repeats 1 --warmup --quiet
    --out "$out/warm-$sig")
  "$arenalab" "${args[@]}" >"$out/warm-$sig.out" 2>"$out/warm-$sig.err" &
  pid=$!
  for _ in $(seq 300); do
    compgen -G "$out/warm-$sig/cells/warmup.*" >/dev/null && break
    sleep 0.1
  done
  sleep 1  # inside the warm-up run
  kill "-$sig" "$pid"
  wait "$pid"
  rc=$?
  want=$((128 + $(kill -l "$sig")))
  [[ $rc -eq $want ]] || { echo "FAIL: warm-up, SIG$sig: exit $rc, expected $want"; fail=1; }
  left=$(compgen -G "$out/warm-$sig/cells/warmup.*")
  [[ -z $left ]] || { echo "FAIL: warm-up, SIG$sig: left behind: $left"; fail=1; }
  python3 - "$out/warm-$sig/results.json" <<'PY' || { echo "FAIL: warm-up, SIG$sig: results.json"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False and len(d["cells"]) == 0, (d["complete"], len(d["cells"]))
PY
  sleep 0.2
  if ps -eo args= | grep -F -- "sleep $nap" | grep -v grep >/dev/null; then
    echo "FAIL: warm-up, SIG$sig: the warm-up run was left running"; fail=1
  fi
  [[ $fail -eq 0 ]] && echo "ok: warm-up, SIG$sig: exit $rc, no cells/warmup.* left"
done
# SIGKILL during the warm-up cannot be caught: cells/warmup.<random> stays. The next matrix in
# the same --out removes it, saying so (its mark shows this user's matrix made it, and that
# process no longer runs), and leaves what it did not make: a warmup.<hex> without a mark.
args=(matrix --command "nap=sleep $nap" --allocators glibc --repeats 1 --warmup --quiet
  --out "$out/warm-KILL")
"$arenalab" "${args[@]}" >"$out/warm-KILL.out" 2>"$out/warm-KILL.err" &
pid=$!
for _ in $(seq 300); do
  compgen -G "$out/warm-KILL/cells/warmup.*" >/dev/null && break
  sleep 0.1
done
sleep 0.5
kill -KILL "$pid"
wait "$pid"
left=$(compgen -G "$out/warm-KILL/cells/warmup.*")
if [[ -z $left ]]; then
  echo "FAIL: warm-up, SIGKILL: no cells/warmup.* left to test with"; fail=1
else
  mkdir -m 700 "$out/warm-KILL/cells/warmup.0123456789abcdef"
  echo precious >"$out/warm-KILL/cells/warmup.0123456789abcdef/keep"
  "$arenalab" "${args[@]}" >"$out/warm-KILL2.out" 2>"$out/warm-KILL2.err"
  rc=$?
  [[ $rc -eq 0 ]] || { echo "FAIL: after SIGKILL, the next matrix: exit $rc: $(tail -n 2 "$out/warm-KILL2.err")"; fail=1; }
  [[ ! -e $left ]] || { echo "FAIL: after SIGKILL, $left is still there"; fail=1; }
  grep -qF "arenalab: removed $left, a scratch directory left by a run that was killed" "$out/warm-KILL2.err" ||
    { echo "FAIL: after SIGKILL, no line says $left was removed: $(head -n 2 "$out/warm-KILL2.err")"; fail=1; }
  [[ $(cat "$out/warm-KILL/cells/warmup.0123456789abcdef/keep" 2>/dev/null) == precious ]] ||
    { echo "FAIL: after SIGKILL, a warmup.<hex> without a mark was removed"; fail=1; }
  [[ $fail -eq 0 ]] && echo "ok: warm-up, SIGKILL: $left removed by the next matrix, the unmarked one kept"
fi
"$arenalab" matrix --command "nap=sleep $nap" --allocators glibc --repeats 1 --warmup --plan-only \
  --quiet --out "$out/cluster" >/dev/null || { echo "FAIL: --plan-only"; fail=1; }
"$arenalab" matrix --cell "$out/cluster/plan.json" 0 >"$out/cluster.err" 2>&1 &
pid=$!
for _ in $(seq 300); do
  compgen -G "$out/cluster/cells/warmup-0.*" >/dev/null && break
  sleep 0.1
done
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 143 ]] || { echo "FAIL: --cell warm-up, SIGTERM: exit $rc, expected 143"; fail=1; }
left=$(compgen -G "$out/cluster/cells/warmup-0.*")
[[ -z $left ]] || { echo "FAIL: --cell warm-up, SIGTERM: left behind: $left"; fail=1; }
sleep 0.2
if ps -eo args= | grep -F -- "sleep $nap" | grep -v grep >/dev/null; then
  echo "FAIL: --cell warm-up, SIGTERM: the warm-up run was left running"; fail=1
fi
exit $fail
