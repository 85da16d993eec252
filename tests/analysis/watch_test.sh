#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab watch on a real program under several allocator configurations at once (in
# parallel: the targets mostly sleep), asserting the verdict in every cell.
# usage: watch_test.sh ARENALAB "ALLOCATORS" "ACCEPTED VERDICTS" -- CMD ARGS...
set -u
ARENALAB=$1 ALLOCATORS=$2 ACCEPT=$3
shift 3
[[ ${1:-} == "--" ]] && shift
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pids=()
for a in $ALLOCATORS; do
  "$ARENALAB" watch -q --allocator "$a" --out "$TMP/$a" -- "$@" >"$TMP/$a.out" 2>"$TMP/$a.err" &
  pids+=($!)
done
fail=0
i=0
for a in $ALLOCATORS; do
  wait "${pids[$i]}"
  rc=$?
  i=$((i + 1))
  verdict=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['verdict'])" "$TMP/$a/verdict.json" 2>/dev/null)
  target=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['run']['exit'], 'verified' if d['run']['verified'] else 'NOT verified')" "$TMP/$a/verdict.json" 2>/dev/null)
  reason=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['reason'])" "$TMP/$a/verdict.json" 2>/dev/null)
  ok=0
  for v in $ACCEPT; do [[ $verdict == "$v" ]] && ok=1; done
  # The exit code follows the verdict (3 leak or non-heap-growth, 4 unresolved, else 0).
  case $verdict in
    leak | non-heap-growth) want=3 ;;
    unresolved) want=4 ;;
    *) want=0 ;;
  esac
  [[ $rc -eq $want ]] || ok=0
  if [[ $ok -eq 1 ]]; then
    echo "ok   $a: $verdict (exit $rc; target $target) - $reason"
  else
    echo "FAIL $a: verdict '$verdict' exit $rc (accepted: $ACCEPT; target $target) - $reason"
    tail -3 "$TMP/$a.err"
    fail=1
  fi
done
exit $fail
