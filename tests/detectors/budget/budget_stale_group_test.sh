#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A budget run whose arenalab is killed with SIGKILL (the OOM killer, `timeout -k`) cannot remove
# its cgroup; the next budget run removes such groups when empty (their pid no longer runs
# arenalab) and says so. Before: they stayed forever, and a later budget that got the same pid
# refused to start ("already exists"). Skips (77) where no memory cgroup can be created.
# Usage: budget_stale_group_test.sh ARENALAB
set -uo pipefail
set -m
arenalab=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$arenalab" budget --limit 64M --json --out "$out/first" -- true >"$out/first.json" 2>"$out/first.err" ||
  { echo "SKIPPED: budget cannot run here: $(tail -n 1 "$out/first.err")"; exit 77; }
parent=$(python3 -c 'import json,os,sys; print(os.path.dirname(json.load(open(sys.argv[1]))["cgroup"]["dir"]))' \
  "$out/first/budget.json" 2>/dev/null)
[[ -d $parent ]] || { echo "FAIL: no cgroup dir in budget.json: $(head -c 300 "$out/first/budget.json")"; exit 1; }
"$arenalab" budget --limit 64M --out "$out/killed" -- sleep 30 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -d $parent/arenalab-budget-$pid ]] && break; sleep 0.05; done
[[ -d $parent/arenalab-budget-$pid ]] || { echo "FAIL: the group of the run to kill never appeared"; exit 1; }
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 0.3  # the target (PR_SET_PDEATHSIG) goes with it
[[ -d $parent/arenalab-budget-$pid ]] || { echo "SKIPPED: the kernel removed the killed run's group itself"; exit 77; }
"$arenalab" budget --limit 64M --out "$out/next" -- true >"$out/next.out" 2>"$out/next.err"
rc=$?
fail=0
[[ $rc -eq 0 ]] || { echo "FAIL: the next budget exited $rc: $(tail -n 2 "$out/next.err")"; fail=1; }
[[ ! -d $parent/arenalab-budget-$pid ]] || { echo "FAIL: the stale group arenalab-budget-$pid is still there"; fail=1; }
grep -q "removed .* empty cgroup(s) left under .*arenalab-budget-$pid" "$out/next.out" "$out/next.err" ||
  { echo "FAIL: the next budget did not say it removed arenalab-budget-$pid"; cat "$out/next.out" "$out/next.err" | tail -n 5; fail=1; }
[[ $fail -eq 0 ]] && echo "ok: arenalab-budget-$pid left by SIGKILL, removed by the next run: $(grep -ho 'removed .* empty cgroup(s)' "$out/next.out" "$out/next.err" | head -1)"
exit $fail
