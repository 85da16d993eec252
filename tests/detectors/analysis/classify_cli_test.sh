#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab classify on synthetic timelines: the verdict, its exit code, verdict.json written
# atomically into a run directory, --json, --limit, and one clear line for bad input.
set -u
ARENALAB=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
expect() {  # expect NAME WANT_EXIT WANT_VERDICT
  local name=$1 want=$2 verdict=$3
  mkdir -p "$TMP/$name"
  python3 "$HERE/make_timeline.py" "$name" "$TMP/$name/timeline.jsonl"
  "$ARENALAB" classify "$TMP/$name" >"$TMP/$name.out" 2>&1
  local rc=$?
  if [[ $rc -ne $want ]]; then echo "FAIL $name: exit $rc, want $want"; cat "$TMP/$name.out"; fail=1; fi
  if ! grep -q "^verdict: $verdict " "$TMP/$name.out"; then echo "FAIL $name: not $verdict"; cat "$TMP/$name.out"; fail=1; fi
  if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['schema']=='arenalab.verdict/1' and d['verdict']==sys.argv[2], d['verdict']" \
      "$TMP/$name/verdict.json" "$verdict"; then echo "FAIL $name: verdict.json"; fail=1; fi
  ls "$TMP/$name" | grep -q '\.tmp' && { echo "FAIL $name: temp file left"; fail=1; }
  echo "ok $name -> $verdict (exit $rc)"
}
expect leak 3 leak
expect nonheap 3 non-heap-growth
expect plateau 0 bounded
expect retention 0 retention
expect stable 0 stable
expect short 4 unresolved

# Level stats under glibc with the books paced into 16 of 300 samples (the agent's StatsPacer on
# a heap of many free chunks): before, `unresolved (0.00)` "allocated: too little data" with
# nothing saying why. Now one warning line saying how many samples had the books and why, and
# RSS judged as level rss judges it (stable; a leak in RSS still reads leak, exit 3). Books on
# every 3rd sample are enough to judge: no warning.
expect sparse 0 stable
expect sparseleak 3 leak
expect paced 0 stable
for k in sparse sparseleak; do
  grep -q "^arenalab classify: warning: the allocator's books were read in 16 of the 300 samples that have RSS: arenalab paces them to their CPU cost (glibc's mallinfo2 walks every free chunk under each arena's lock), so allocated had too few to judge$" "$TMP/$k.out" \
    || { echo "FAIL $k: no warning naming the paced books"; cat "$TMP/$k.out"; fail=1; }
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['reason']; assert 'read in 16 of the 300 samples' in r and 'judged on RSS alone, as level rss does' in r, r" \
    "$TMP/$k/verdict.json" || { echo "FAIL $k: verdict.json's reason"; fail=1; }
done
grep -q "warning" "$TMP/paced.out" && { echo "FAIL paced: a warning where the books were judged"; cat "$TMP/paced.out"; fail=1; }
echo "ok books paced into too few samples: said, RSS judged"

# A --trace-children run directory: a stable wrapper (timeline.jsonl) and a leaking child
# (timeline.<pid>.jsonl). The tree decides as under watch: leak, exit 3, verdict.json's tree.
mkdir -p "$TMP/tree"
python3 "$HERE/make_timeline.py" stable "$TMP/tree/timeline.jsonl"
python3 "$HERE/make_timeline.py" leak "$TMP/tree/timeline.4242.jsonl"
"$ARENALAB" classify "$TMP/tree" >"$TMP/tree.out" 2>&1
rc=$?
[[ $rc -eq 3 ]] || { echo "FAIL tree: exit $rc, want 3"; cat "$TMP/tree.out"; fail=1; }
grep -q "^tree verdict: leak " "$TMP/tree.out" || { echo "FAIL tree: no tree verdict"; cat "$TMP/tree.out"; fail=1; }
# The tree's verdict comes first, then the evidence of the process that set it (the leaking
# child), not the stable wrapper's table under a first "verdict: stable".
first=$(grep -v "^arenalab classify:" "$TMP/tree.out" | head -1)
[[ $first == "tree verdict: leak "* ]] || { echo "FAIL tree: first line is '$first'"; fail=1; }
grep -q "^the tree's worst, pid " "$TMP/tree.out" && grep -q "^verdict: leak " "$TMP/tree.out" \
  && ! grep -q "^verdict: stable" "$TMP/tree.out" \
  || { echo "FAIL tree: not the worst process's evidence"; cat "$TMP/tree.out"; fail=1; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['verdict']=='stable' and d['tree']['verdict']=='leak', d" \
  "$TMP/tree/verdict.json" || { echo "FAIL tree: verdict.json"; fail=1; }
echo "ok tree -> leak (exit $rc)"

# Re-reading a run directory says what it does to DIR/verdict.json (one stderr line): written,
# then unchanged (the same bytes: the file not touched); --no-write writes nothing; another
# user's directory is left untouched, the verdict printed and its exit code kept (before: an
# error, exit 1, and no verdict).
rm -f "$TMP/leak/verdict.json"
"$ARENALAB" classify "$TMP/leak" >/dev/null 2>"$TMP/w1"
grep -qx "arenalab classify: wrote $TMP/leak/verdict.json" "$TMP/w1" || { echo "FAIL write line: $(cat "$TMP/w1")"; fail=1; }
m1=$(stat -c %Y.%i "$TMP/leak/verdict.json")
sleep 1.1
"$ARENALAB" classify "$TMP/leak" >/dev/null 2>"$TMP/w2"
grep -qx "arenalab classify: $TMP/leak/verdict.json unchanged" "$TMP/w2" || { echo "FAIL unchanged line: $(cat "$TMP/w2")"; fail=1; }
[[ $(stat -c %Y.%i "$TMP/leak/verdict.json") == "$m1" ]] || { echo "FAIL unchanged: verdict.json rewritten"; fail=1; }
rm -f "$TMP/leak/verdict.json"
"$ARENALAB" classify --no-write "$TMP/leak" >"$TMP/nw.out" 2>"$TMP/nw.err"; rc=$?
[[ $rc -eq 3 && ! -e $TMP/leak/verdict.json && ! -s $TMP/nw.err ]] && grep -q "^verdict: leak " "$TMP/nw.out" \
  || { echo "FAIL --no-write: exit $rc, $(ls "$TMP/leak"), $(cat "$TMP/nw.err")"; fail=1; }
echo "ok write line, unchanged, --no-write"
# The user's own directory writable by its group or by every user (a shared one): nothing
# written in it, the verdict printed and its exit code kept, one line saying so (before: exit 1,
# no verdict).
for mode in 775 777; do
  mkdir -p "$TMP/shared$mode"
  cp "$TMP/leak/timeline.jsonl" "$TMP/shared$mode/"
  chmod "$mode" "$TMP/shared$mode"
  "$ARENALAB" classify "$TMP/shared$mode" >"$TMP/sh.out" 2>"$TMP/sh.err"; rc=$?
  [[ $rc -eq 3 && $(ls -A "$TMP/shared$mode") == timeline.jsonl && $(wc -l <"$TMP/sh.err") -eq 1 ]] &&
    grep -q "^verdict: leak " "$TMP/sh.out" && grep -q "is writable by .*: nothing written there" "$TMP/sh.err" \
    || { echo "FAIL shared directory (mode $mode): exit $rc, $(ls -A "$TMP/shared$mode"), $(cat "$TMP/sh.err")"; fail=1; }
  echo "ok shared directory (mode $mode): printed only (exit $rc)"
done
if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$TMP/theirs"
  cp "$TMP/leak/timeline.jsonl" "$TMP/theirs/"
  echo '{"schema":"theirs"}' >"$TMP/theirs/verdict.json"
  chown -R 65534 "$TMP/theirs"
  "$ARENALAB" classify "$TMP/theirs" >"$TMP/th.out" 2>"$TMP/th.err"; rc=$?
  [[ $rc -eq 3 && $(cat "$TMP/theirs/verdict.json") == '{"schema":"theirs"}' && $(wc -l <"$TMP/th.err") -eq 1 ]] &&
    grep -q "^verdict: leak " "$TMP/th.out" && grep -q "another user's directory: verdict.json left as it is" "$TMP/th.err" \
    || { echo "FAIL another user's directory: exit $rc, $(cat "$TMP/th.err")"; fail=1; }
  [[ -z $(find "$TMP/theirs" -user 0) ]] || { echo "FAIL another user's directory: root's files made in it"; fail=1; }
  echo "ok another user's directory: printed only (exit $rc)"
else
  echo "skip another user's directory: needs root to make one (chown)"
fi

# --json on a file path: valid JSON on stdout, nothing written beside it.
"$ARENALAB" classify "$TMP/leak/timeline.jsonl" --json --limit 1G >"$TMP/j.json"
rc=$?
[[ $rc -eq 3 ]] || { echo "FAIL --json exit $rc"; fail=1; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['limit_bytes']==1<<30 and d['time_to_limit_s']>0 and 'live_bytes' in d['signals'] and 'gap' in d['signals']" "$TMP/j.json" \
  || { echo "FAIL --json content"; fail=1; }

# The projection to the limit (no --limit: the cgroup's, else MemTotal) runs at RSS's own rate when RSS leaks faster than
# the heap (growth outside malloc beside it): 40 MiB vs 20 MiB over 30 s. Before: the heap's
# rate, twice as late.
mkdir -p "$TMP/outside"
python3 "$HERE/make_timeline.py" outside "$TMP/outside/timeline.jsonl"
"$ARENALAB" classify --no-write "$TMP/outside" >"$TMP/outside.out" 2>&1
"$ARENALAB" classify --json "$TMP/outside/timeline.jsonl" >"$TMP/outside.json"
python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
mem = d['projection']['limit_bytes']  # the cgroup's memory.max, else MemTotal
rss = d['signals']['rss']['level_bytes']
heap = d['rate_bytes_per_s']; t = d['projection']['time_to_limit_s']
want = (mem - rss) / (40 * 2**20 / 29.9)
assert abs(heap - 20 * 2**20 / 29.9) < 0.1 * heap, heap
assert abs(t - want) < 0.1 * want, (t, want)
" "$TMP/outside.json" && grep -q "(at rss's " "$TMP/outside.out" \
  || { echo "FAIL projection at RSS's rate"; cat "$TMP/outside.out" "$TMP/outside.json"; fail=1; }
echo "ok projection at RSS's rate when RSS outgrows the heap"

# Bad input: one line on stderr, exit 1 (missing, malformed) or 2 (usage).
"$ARENALAB" classify "$TMP/nope" 2>"$TMP/e1"; rc=$?
[[ $rc -eq 1 && $(wc -l <"$TMP/e1") -eq 1 ]] || { echo "FAIL missing: exit $rc"; cat "$TMP/e1"; fail=1; }
printf '{"schema":"arenalab.timeline/1"}\n{"t_ms": oops}\n{"t_ms":1}\n' >"$TMP/bad.jsonl"
"$ARENALAB" classify "$TMP/bad.jsonl" 2>"$TMP/e2"; rc=$?
[[ $rc -eq 1 && $(wc -l <"$TMP/e2") -eq 1 ]] || { echo "FAIL malformed: exit $rc"; cat "$TMP/e2"; fail=1; }
"$ARENALAB" classify "$TMP/leak" --limit 12Q 2>"$TMP/e3"; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL bad --limit: exit $rc"; cat "$TMP/e3"; fail=1; }
"$ARENALAB" classify 2>/dev/null; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL no path: exit $rc"; fail=1; }
exit $fail
