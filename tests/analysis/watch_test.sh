#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab watch on real programs, every cell at once (the targets mostly sleep), asserting the
# verdict and the exit code of every cell.
# usage: watch_test.sh ARENALAB "ALLOCATORS" "ACCEPTED VERDICTS" CMD ARGS... [";;" "ALLOCATORS" ...]
set -u
ARENALAB=$1
shift
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cells=() pids=() accepts=()
n=0
while [[ $# -gt 0 ]]; do
  allocs=$1 accept=$2
  shift 2
  cmd=()
  while [[ $# -gt 0 && $1 != ";;" ]]; do cmd+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  for a in $allocs; do
    n=$((n + 1))
    d="$TMP/$n-$a"
    # At most 4 cells at a time: the machine is shared, and a starved target is not the
    # program we meant to watch.
    while [[ $(jobs -rp | wc -l) -ge 4 ]]; do wait -n; done
    (
      "$ARENALAB" watch -q --allocator "$a" --out "$d" -- "${cmd[@]}" >"$d.out" 2>"$d.err"
      echo $? >"$d.rc"
    ) &
    pids+=($!)
    cells+=("$n-$a: ${cmd[*]##*/}")
    accepts+=("$accept")
  done
done
fail=0
wait
for i in "${!pids[@]}"; do
  d="$TMP/${cells[$i]%%:*}"
  rc=$(cat "$d.rc" 2>/dev/null || echo 1)
  read -r verdict target reason < <(python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
print(d['verdict'], ('exit-' + d['run']['exit'].replace(' ', '-')) + (',verified' if d['run']['verified'] else ',NOT-verified'), d['reason'])" "$d/verdict.json" 2>/dev/null)
  ok=0
  for v in ${accepts[$i]}; do [[ ${verdict:-} == "$v" ]] && ok=1; done
  case ${verdict:-} in  # the exit code follows the verdict
    leak | non-heap-growth) want=3 ;;
    unresolved) want=4 ;;
    *) want=0 ;;
  esac
  [[ $rc -eq $want ]] || ok=0
  if [[ $ok -eq 1 ]]; then
    echo "ok   ${cells[$i]} -> $verdict (exit $rc; target $target) - $reason"
  else
    echo "FAIL ${cells[$i]} -> '${verdict:-none}' exit $rc (accepted: ${accepts[$i]}; target ${target:-?}) - ${reason:-}"
    tail -3 "$d.err"
    fail=1
  fi
done
exit $fail
