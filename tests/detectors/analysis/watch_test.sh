#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab watch on real programs: the cells of one group at once (the targets mostly sleep),
# asserting the verdict and the exit code of every cell.
# usage: watch_test.sh ARENALAB GROUP [:: GROUP]...
#   GROUP: "ALLOCATORS" VERDICT [WATCH OPTIONS...] -- CMD ARGS...
# The exit code follows the verdict: 3 for leak and non-heap-growth (and, under --fail-on growth,
# for retention and bounded), 4 for unresolved, else 0. VERDICT "error" wants exit 1 and
# "usage" exit 2, each with one line on stderr and no verdict. A cell whose verdict is neither
# leak nor non-heap-growth must never have shown "leak" on its live line (one every second).
# ARENALAB_WATCH_KEEP=DIR keeps every cell's run directory (timeline, verdict.json) under DIR.
set -u
ARENALAB=$1
shift
if [[ -n ${ARENALAB_WATCH_KEEP:-} ]]; then
  TMP=$(mktemp -d "$ARENALAB_WATCH_KEEP/watch.XXXXXX") || exit 1
else
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
fi
cells=() pids=() wants=() codes=()
n=0
while [[ $# -gt 0 ]]; do
  allocs=$1 want=$2
  shift 2
  opts=()
  while [[ $# -gt 0 && $1 != "--" ]]; do opts+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift  # --
  cmd=()
  while [[ $# -gt 0 && $1 != "::" ]]; do cmd+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift  # ::
  growth=0
  [[ " ${opts[*]-} " == *" --fail-on growth "* ]] && growth=1
  case $want in
    leak | non-heap-growth) code=3 ;;
    unresolved) code=4 ;;
    retention | bounded) code=$((growth ? 3 : 0)) ;;
    error) code=1 ;;
    usage) code=2 ;;
    *) code=0 ;;
  esac
  for a in $allocs; do
    n=$((n + 1))
    d="$TMP/$n-$a"
    # At most 4 cells at a time (WATCH_CELLS_AT_ONCE: fewer for heavy targets): the machine is
    # shared, and a starved target is not the program we meant to watch.
    while [[ $(jobs -rp | wc -l) -ge ${WATCH_CELLS_AT_ONCE:-4} ]]; do wait -n; done
    # The cell's command, kept for a second run (see below): OUT is its run directory.
    live=(--live-every 1)
    [[ $want == error || $want == usage ]] && live=(-q)
    printf '%q ' "$ARENALAB" watch "${live[@]}" --allocator "$a" --out >"$d.sh"
    printf '"$OUT" ' >>"$d.sh"
    printf '%q ' "${opts[@]}" -- "${cmd[@]}" >>"$d.sh"
    printf '>"$OUT.out" 2>"$OUT.err"; echo $? >"$OUT.rc"\n' >>"$d.sh"
    OUT=$d bash "$d.sh" &
    pids+=($!)
    cells+=("$n-$a:${opts[*]:+ ${opts[*]}} ${cmd[*]##*/}")
    wants+=("$want")
    codes+=("$code")
  done
done
# check_cell I DIR: prints the cell's ok/FAIL line; returns 1 on FAIL.
check_cell() {
  local i=$1 d=$2 rc verdict='' target='' reason=''
  rc=$(cat "$d.rc" 2>/dev/null || echo 1)
  read -r verdict target reason < <(python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
print(d['verdict'], ('exit-' + d['run']['exit'].replace(' ', '-')) + (',verified' if d['run']['verified'] else ',NOT-verified'), d['reason'])" "$d/verdict.json" 2>/dev/null)
  if [[ ${wants[$i]} == error || ${wants[$i]} == usage ]]; then
    # No verdict: exit 1 or 2 with one clear line on stderr.
    if [[ -z ${verdict:-} && $rc -eq ${codes[$i]} && $(wc -l <"$d.err") -eq 1 ]]; then
      echo "ok   ${cells[$i]} -> exit $rc: $(cat "$d.err")"
      return 0
    fi
    echo "FAIL ${cells[$i]} -> exit $rc, verdict '${verdict:-none}' (want exit ${codes[$i]}," \
      "one line on stderr)"
    cat "$d.err"
    return 1
  elif [[ ${wants[$i]} != leak && ${wants[$i]} != non-heap-growth ]] &&
    grep -q "verdict leak (" "$d.err"; then
    echo "FAIL ${cells[$i]} -> '${verdict:-none}': the live line showed a leak it withdrew:"
    grep "verdict" "$d.err"
    return 1
  elif [[ ${verdict:-} == "${wants[$i]}" && $rc -eq ${codes[$i]} ]]; then
    echo "ok   ${cells[$i]} -> $verdict (exit $rc; target $target) - $reason"
    return 0
  fi
  echo "FAIL ${cells[$i]} -> '${verdict:-none}' exit $rc (want ${wants[$i]}, exit ${codes[$i]};" \
    "target ${target:-?}) - ${reason:-}"
  tail -3 "$d.err"
  return 1
}

# A cell whose verdict is wrong runs once more, alone, and must be right then: these are 10 s
# windows of real programs on a shared machine. Of about 500 cell runs under ctest -j2 on
# 2026-11-25, 2 came out wrong (a jemalloc sawtooth read as a leak, a glibc retention round as
# growth); each cell was right in every other run, alone or beside others. The first run's line
# stays in the output, marked "(first run)", so a cell that needed its second run is seen; a
# cell wrong twice fails the test.
fail=0
wait
for i in "${!pids[@]}"; do
  d="$TMP/${cells[$i]%%:*}"
  if ! first=$(check_cell "$i" "$d"); then
    echo "${first/#FAIL/FAIL (first run)}"
    OUT="$d.again" bash "$d.sh"
    check_cell "$i" "$d.again" || fail=1
  else
    echo "$first"
  fi
done
exit $fail
