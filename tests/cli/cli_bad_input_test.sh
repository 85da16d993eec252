#!/usr/bin/env bash
# Bad input gets exactly one clear line on stderr naming what was wrong, and a non-zero exit.
set -uo pipefail
arenalab=$1
data=$2
fail=0
expect() {  # expect CODE PATTERN -- ARGS...
  local code=$1 pattern=$2; shift 3
  local err rc
  # A hang is a failure too (exit 124), not a test that never ends.
  err=$(timeout 120 "$arenalab" "$@" 2>&1 >/dev/null); rc=$?
  local lines
  lines=$(printf '%s' "$err" | grep -c '' || true)
  if [[ $rc -ne $code ]]; then echo "FAIL: arenalab $* exited $rc, expected $code ($err)"; fail=1; return; fi
  if [[ $lines -ne 1 ]]; then echo "FAIL: arenalab $* printed $lines stderr lines, expected 1: $err"; fail=1; return; fi
  if ! grep -q -- "$pattern" <<<"$err"; then echo "FAIL: arenalab $*: '$err' does not mention '$pattern'"; fail=1; return; fi
  echo "ok: arenalab $* -> $rc: $err"
}
expect 1 "missing_lib.json\|libghostalloc.so.9" -- allocators --allocators-file "$data/allocators/missing_lib.json" ghost
expect 1 "malformed.json" -- allocators --allocators-file "$data/allocators/malformed.json"
expect 1 "ptmalloc9" -- allocators --allocators-file "$data/allocators/bad_backend.json"
expect 1 "does-not-exist.json" -- allocators --allocators-file "$data/allocators/does-not-exist.json"
expect 1 "unknown allocator configuration 'nosuch'" -- allocators nosuch
expect 2 "no-such-flag" -- allocators --no-such-flag
expect 2 "^arenalab: unknown command 'no-such-subcommand' (commands: .*watch.*; see arenalab --help)$" -- no-such-subcommand
# A bad option value names the subcommand, as an unknown option does.
expect 2 "^arenalab run: --mode: bogus .*(see arenalab run --help)$" -- run --mode bogus -- true
expect 2 "^arenalab watch: unknown option '--bogus' (see arenalab watch --help)$" -- watch --bogus -- true
# Damaged result files: one line naming the file and the field (the formats readers).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
expect 1 "^arenalab analyze: cannot read full log .*/allocs.bin: No such file or directory$" -- analyze "$work/no-such-run"
mkdir -p "$work/m" "$work/b"
cat >"$work/m/results.json" <<'JSON'
{"schema": "arenalab.matrix/1", "plan": {"workloads": ["touch"], "configurations": ["glibc"],
 "threads": [0], "repeats": 1, "warmup": false, "baseline": "glibc", "smoke": true,
 "timeline": false, "confidence": 0.95},
 "cells": [{"workload": "touch", "configuration": "glibc", "threads": 0, "repeat": 0,
            "status": "ok", "wall_ms": 12.5}],
 "summaries": [{"workload": "touch", "threads": 0, "configuration": "glibc", "metric": "wall_ms",
                "value": {"n": 1, "median": 12.5, "min": 12.5, "max": 12.5, "ci_low": 13,
                          "ci_high": 12, "ci_level": 0, "ci_low_rank": 1, "ci_reached": false}}]}
JSON
expect 1 "results.json: summaries\[0\].value: expected ci_low <= ci_high, found 13 > 12" -- report "$work/m" --out "$work/r"
expect 1 "results.json: summaries\[0\].value: expected ci_low <= ci_high" -- check --baseline "$work/m" "$work/m"
echo '{"schema": "arenalab.baseline/2", "cells": [{"workload": "touch", "configuration": "glibc", "metrics": {"peak_rss_bytes": {"value": 1e400}}}]}' >"$work/b/base.json"
expect 1 "base.json: .*1e400" -- check --baseline "$work/b/base.json" "$work/b/base.json"
echo '{"schema": "arenalab.budget/2", "command": ["x"], "limit_bytes": 4096, "cgroup": null}' >"$work/b/budget.json"
expect 1 "budget.json: cgroup: expected an object, found null" -- report "$work/b" --out "$work/r"
# The fleet's network module (libarenalab_fleet_net.so, loaded on first use) missing or not a
# library: --metrics and classify --prometheus say which file and why; nothing else needs it.
mkdir -p "$work/nolib" "$work/badlib"
echo 'not a library' >"$work/badlib/libarenalab_fleet_net.so"
ARENALAB_LIB_DIR=$work/nolib expect 1 "^arenalab run: --metrics 127.0.0.1:0: .*nolib/libarenalab_fleet_net.so: cannot open" -- run --metrics 127.0.0.1:0 --out "$work/nolib/out" -- true
[[ -e $work/nolib/out ]] && { echo "FAIL: run --metrics without its module left $work/nolib/out"; fail=1; }
ARENALAB_LIB_DIR=$work/badlib expect 1 "^arenalab classify: .*badlib/libarenalab_fleet_net.so: .*--metrics need it" -- classify --prometheus http://127.0.0.1:1 --preset redis
# Timelines (issue 21): a window of absurdly short steps, a 1 GiB line (sparse: refused after
# reading about 1 MiB), raw bytes in a field: one printable line naming file:line, exit 1.
mkdir -p "$work/t"
{
  echo '{"schema": "arenalab.timeline/1", "pid": 1, "mode": "count", "interval_ms": 100}'
  for i in $(seq 0 199); do echo "{\"t_ms\": ${i}e-300, \"rss\": $((100000000 + i * 100000)), \"live_bytes\": $((50000000 + i * 100000))}"; done
} >"$work/t/tiny.jsonl"
# classify DIR reads DIR/verdict.json relative to the directory it opened, O_NOFOLLOW: a link
# there (to another run's verdict, whose parts it would keep) is refused in one line, never
# followed, and left as it is. Before: read by path after a look, so the link was followed.
mkdir -p "$work/va" "$work/vb"
{
  echo '{"schema": "arenalab.timeline/1", "pid": 1, "mode": "count", "interval_ms": 100}'
  for i in $(seq 0 199); do echo "{\"t_ms\": $((i * 100)), \"rss\": 100000000, \"live_bytes\": 50000000}"; done
} >"$work/va/timeline.jsonl"
cp "$work/va/timeline.jsonl" "$work/vb/timeline.jsonl"
"$arenalab" classify "$work/va" >/dev/null 2>&1
[[ -f $work/va/verdict.json ]] || { echo "FAIL: classify wrote no $work/va/verdict.json"; fail=1; }
ln -s "$work/va/verdict.json" "$work/vb/verdict.json"
expect 1 "vb/verdict.json is a symbolic link: not followed (not replaced" -- classify "$work/vb"
[[ -L $work/vb/verdict.json ]] || { echo "FAIL: classify replaced the link vb/verdict.json"; fail=1; }
# A directory with no timeline: what it is, and where a profile directory's verdicts are.
mkdir -p "$work/notl" "$work/prof" && echo '{}' >"$work/prof/profile.json"
expect 1 "notl has no timeline.jsonl: give a run, watch or attach directory" -- classify "$work/notl"
expect 1 "prof is an .arenalab profile. directory with no timeline.jsonl.*prof/profile.json" -- classify "$work/prof"
expect 1 "tiny.jsonl:3: t_ms: expected 0 ms (the previous sample's) or at least 1e-06 ms (1 ns) later, found 1e-300" -- classify "$work/t/tiny.jsonl"
printf '{"schema": "arenalab.timeline/1"}\n{"t_ms": 1, "rss": 5}\n' >"$work/t/big.jsonl"
truncate -s 1G "$work/t/big.jsonl"
expect 1 "big.jsonl:3: expected a line of at most 1048576 bytes" -- classify "$work/t/big.jsonl"
printf '{"schema": "arenalab.timeline/1"}\n{"t_ms": 1, "rss": "\\u001b]0;owned\\u0007\xff"}\n{"t_ms": 2}\n' >"$work/t/raw.jsonl"
expect 1 'raw.jsonl:2: ' -- classify "$work/t/raw.jsonl"
if "$arenalab" classify "$work/t/raw.jsonl" 2>&1 >/dev/null | LC_ALL=C grep -q '[^[:print:]]'; then
  echo "FAIL: classify echoed a raw byte: $("$arenalab" classify "$work/t/raw.jsonl" 2>&1 | od -c | head -3)"; fail=1
else
  echo "ok: the error line is printable"
fi
printf '{"schema": "arenalab.timeline/1"}\n{"t_ms": 1, "rss": -5}\n' >"$work/t/neg.jsonl"
expect 1 "neg.jsonl:2: rss: expected a byte count in \[0, 2^64\], found -5" -- classify "$work/t/neg.jsonl"
# Input that is not a regular file (a FIFO nobody writes, a device, a directory): refused at once,
# naming the file and what it is, by every reader (before: a FIFO hung each of them, /dev/zero
# grew diff's memory without end).
mkdir -p "$work/nr/run" "$work/nr/m" "$work/nr/tl"
mkfifo "$work/nr/fifo" "$work/nr/fifo.zst" "$work/nr/run/allocs.bin" "$work/nr/m/results.json" \
  "$work/nr/tl/timeline.jsonl"
expect 1 "^arenalab diff: cannot read $work/nr/fifo: a FIFO, not a regular file$" -- diff "$work/nr/fifo" "$work/nr/fifo"
expect 1 "^arenalab diff: cannot read /dev/zero: a character device, not a regular file$" -- diff /dev/zero /dev/zero
expect 1 "^arenalab classify: cannot read timeline $work/nr/fifo: a FIFO, not a regular file$" -- classify "$work/nr/fifo"
expect 1 "^arenalab classify: cannot read timeline $work/nr/tl/timeline.jsonl: a FIFO" -- classify "$work/nr/tl"
expect 1 "^arenalab analyze: cannot read full log $work/nr/run/allocs.bin: a FIFO, not a regular file$" -- analyze "$work/nr/run"
expect 1 "^arenalab check: cannot read $work/nr/m/results.json: a FIFO, not a regular file$" -- check --baseline "$work/nr/fifo" "$work/nr/m"
expect 1 "^arenalab report: cannot read $work/nr/m/results.json: a FIFO, not a regular file$" -- report "$work/nr/m" --out "$work/nr/out"
if [[ -e $work/nr/out ]]; then echo "FAIL: report left $work/nr/out behind"; fail=1; fi
# watch --json FILE where FILE cannot be written: said before the target runs (before: after the
# whole run, in a second line, with the run's directory left behind).
expect 1 "^arenalab watch: --json $work/nodir/v.json: no directory $work/nodir$" -- watch -q --out "$work/wj1" --json "$work/nodir/v.json" -- touch "$work/ran1"
expect 1 "^arenalab watch: --json $work: is a directory" -- watch -q --out "$work/wj2" --json "$work" -- touch "$work/ran2"
sleep 30 &
sleeper=$!
expect 1 "^arenalab watch: --json $work/nodir/v.json: no directory" -- watch -q --pid "$sleeper" --duration 1 --out "$work/wj3" --json "$work/nodir/v.json"
kill "$sleeper"
for n in 1 2 3; do
  if [[ -e $work/ran$n || -e $work/wj$n ]]; then echo "FAIL: watch --json ($n): the target ran or its directory was made"; fail=1; fi
done
exit $fail
