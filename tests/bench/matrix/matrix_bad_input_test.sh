#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input to `arenalab matrix`: one clear line on stderr naming what was wrong, exit 2 for
# usage errors, exit 1 (and the old results untouched) for an existing results.json without
# --resume.
set -uo pipefail
arenalab=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
expect() {  # expect RC PATTERN ARGS...
  local rc=$1 pattern=$2
  shift 2
  local err
  err=$("$arenalab" matrix "$@" 2>&1 >/dev/null)
  local got=$?
  local lines
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [[ $got -ne $rc || $lines -ne 1 || ! $err =~ $pattern ]]; then
    echo "FAIL: matrix $* -> exit $got, stderr: $err (want exit $rc, one line matching '$pattern')"
    fail=1
  fi
}
expect 2 "unknown workload 'nope'" --workloads nope --quiet
# The categories listed are the index's own, longrun among them (not a hard-coded list).
expect 2 "categories [^;]*longrun" --workloads nope --quiet
expect 2 "nothing to run: give --workloads or --command" --allocators glibc
expect 2 "unknown allocator configuration 'bogus'" --workloads larson --allocators glibc,bogus
expect 2 "baseline 'glibc' is not among" --workloads larson --allocators jemalloc
expect 2 "not a thread count" --workloads larson --allocators glibc --threads x
expect 2 "repeats must be at least 1" --workloads larson --allocators glibc --repeats 0
mkdir -p "$out/m"
echo '{"keep": true}' >"$out/m/results.json"
expect 1 "exists: pass --resume" --workloads larson --allocators glibc --smoke --quiet --out "$out/m"
grep -q keep "$out/m/results.json" || { echo "FAIL: results.json was overwritten"; fail=1; }
expect 1 "not valid JSON|not a valid|schema" --workloads larson --allocators glibc --smoke --quiet \
  --out "$out/m" --resume
# The cluster side: plan files, groups, directories without a plan, the engine's options.
expect 1 "plan.json" --status "$out/none"
expect 1 "plan.json" --merge "$out/none"
expect 1 "nope.json" --cell "$out/nope.json" 0
expect 2 "not a group index" --cell "$out/nope.json" x
expect 2 "engine" --engine pbs --workloads larson
expect 2 "slurm-opt: unterminated" --workloads larson --allocators glibc --smoke --engine slurm \
  --slurm-opt "--comment 'open" --out "$out/s"
# OUT/slurm planted as a link to another directory (where task.sh would be run from): refused
# in one line, nothing written where it points.
mkdir -p "$out/sl" "$out/victim"
ln -s "$out/victim" "$out/sl/slurm"
expect 1 "sl/slurm is a symbolic link" --workloads larson --allocators glibc --repeats 1 --smoke \
  --engine slurm --out "$out/sl"
[[ -z $(ls -A "$out/victim") ]] || { echo "FAIL: wrote through OUT/slurm: $(ls -A "$out/victim")"; fail=1; }
"$arenalab" matrix --workloads larson --allocators glibc --repeats 1 --smoke --plan-only \
  --out "$out/p" >/dev/null || { echo "FAIL: --plan-only"; fail=1; }
expect 1 "group 1 is not in the plan" --cell "$out/p/plan.json" 1
# A file named cell.json in no planned cell's directory (someone else's) is not called a corrupt
# record that --resume runs again: --status says it is not a cell of the plan and leaves it.
mkdir -p "$out/p/cells/x"
echo 'not mine' >"$out/p/cells/x/cell.json"
status=$("$arenalab" matrix --status "$out/p" 2>&1)
if [[ $status != *"cells/x/cell.json is not a cell of this plan"*"left alone"* ||
      $status == *"runs the cell again"* ]]; then
  echo "FAIL: --status on a foreign cells/x/cell.json: $status"
  fail=1
fi
[[ $(cat "$out/p/cells/x/cell.json") == 'not mine' ]] || { echo "FAIL: cells/x/cell.json changed"; fail=1; }
expect 1 "already holds a matrix" --workloads larson --allocators glibc --smoke --plan-only \
  --out "$out/p"
echo '{"schema": "arenalab.matrix-plan/1", "plan": {}}' >"$out/p/plan.json"
expect 1 "plan.json: plan.workloads|plan.json: plan" --status "$out/p"
[[ $fail -eq 0 ]] && echo "bad input: one line, right exit code"
exit $fail
