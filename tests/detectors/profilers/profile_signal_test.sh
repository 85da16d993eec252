#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A signal to `arenalab profile` (Ctrl-C, `timeout`, a supervisor's SIGTERM) stops the target,
# not the profile: arenalab passes it on, waits for the target, writes profile.json and the
# report from the dumps taken until then, and then ends by that signal (exit 128+N), as run and
# watch do. Before: exit 143 at once, the dumps left and no report, the target still running.
# The target leaks for 60 s; SIGNAL goes to arenalab once DUMPS dumps (or heaptrack's trace)
# are there. Usage: profile_signal_test.sh ARENALAB PROGRAM PROFILER SIGNAL
set -uo pipefail
set -m  # job control: the background arenalab does not start with SIGINT ignored
arenalab=$1 prog=$2 profiler=$3 sig=$4
case $profiler in
  heaptrack) command -v heaptrack >/dev/null || { echo "SKIPPED: heaptrack not found"; exit 77; } ;;
  jemalloc | tcmalloc) "$arenalab" allocators "$profiler" 2>/dev/null | grep -q "$profiler" ||
    { echo "SKIPPED: no $profiler configuration"; exit 77; } ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
# Its own argument marks the target among the processes (no name lookups of others' processes).
"$arenalab" profile -q --profiler "$profiler" --no-tools --out "$out/p" \
  -- "$prog" --seconds 60 --marker "$out" >"$out/p.txt" 2>"$out/p.err" &
apid=$!
# Enough of a series for a verdict: 30 dumps (the slope analysis needs 24), or 8 s of heaptrack.
for ((i = 0; i < 600; i++)); do
  sleep 0.1
  case $profiler in
    heaptrack) ((i >= 80)) && break ;;
    *) (($(find "$out/p" -name '*.heap' ! -name 'mmap.*' 2>/dev/null | wc -l) >= 30)) && break ;;
  esac
done
t0=$(date +%s.%N)
kill "-$sig" "$apid"
wait "$apid"
rc=$?
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
want=$((128 + $(kill -l "$sig")))
[[ $rc -eq $want ]] || { echo "FAIL: exited $rc, expected $want (ended by SIG$sig)"; fail=1; }
[[ -s $out/p/profile.json ]] || { echo "FAIL: no profile.json after SIG$sig"; fail=1; }
grep -q "stopped by SIG$sig to arenalab" "$out/p.txt" ||
  { echo "FAIL: the report does not say it was stopped by SIG$sig:"; sed -n 1,8p "$out/p.txt"; cat "$out/p.err"; fail=1; }
grep -qE '^  leak .*leak_some_records' "$out/p.txt" ||
  { echo "FAIL: leak_some_records not named a leak from the dumps taken:"; sed -n 1,14p "$out/p.txt"; fail=1; }
# Nothing left running, nothing half-written.
sleep 0.2
if ps -eo pid=,args= | grep -F -- "--marker $out" | grep -v grep >/dev/null; then
  echo "FAIL: the target still runs after arenalab ended:"; ps -eo pid=,args= | grep -F -- "--marker $out" | grep -v grep
  fail=1
fi
if find "$out/p" -name '*.tmp.*' | grep -q .; then echo "FAIL: half-written files left: $(find "$out/p" -name '*.tmp.*')"; fail=1; fi
[[ $fail -eq 0 ]] && echo "ok: $profiler, SIG$sig: exit $rc ${took} s after the signal; $(grep -m1 'stopped by' "$out/p.txt" | sed 's/^ *- //'); $(grep -m1 -E '^  leak ' "$out/p.txt" | tr -s ' ')"
exit $fail
