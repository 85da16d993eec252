#!/usr/bin/env bash
# arenalab profile on bad input: one clear line on stderr and the right exit code.
set -uo pipefail
arenalab=$1
fail=0
expect() {  # expect CODE PATTERN -- ARGS...
  local code=$1 pattern=$2; shift 3
  local err rc lines
  err=$("$arenalab" "$@" 2>&1 >/dev/null); rc=$?
  lines=$(printf '%s' "$err" | grep -c '' || true)
  if [[ $rc -ne $code ]]; then echo "FAIL: arenalab $* exited $rc, expected $code ($err)"; fail=1; return; fi
  if [[ $lines -ne 1 ]]; then echo "FAIL: arenalab $* printed $lines stderr lines: $err"; fail=1; return; fi
  if ! grep -q -- "$pattern" <<<"$err"; then echo "FAIL: '$err' lacks '$pattern'"; fail=1; return; fi
  echo "ok: arenalab $* -> $rc: $err"
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
expect 2 "profiler" -- profile --profiler valgrind -- true
expect 2 "interval" -- profile --profiler jemalloc --interval -1 -- true
expect 2 "lg-sample" -- profile --profiler jemalloc --lg-sample 99 -- true
expect 1 "cannot find program 'no-such-program-xyz'" -- profile --profiler jemalloc --out "$out/a" -- no-such-program-xyz
# A refused run leaves nothing in --out: not even an empty directory.
for profiler in jemalloc tcmalloc heaptrack interposer; do
  expect 1 "cannot find program" -- profile --profiler $profiler --out "$out/gone-$profiler" -- /no/such/program
  if [[ -e "$out/gone-$profiler" ]]; then echo "FAIL: refused run left $out/gone-$profiler"; fail=1; fi
done
expect 1 "none.json" -- profile --profiler jemalloc --allocators-file "$out/none.json" --out "$out/b" -- true
expect 2 "top" -- profile --profiler jemalloc --top 0 --out "$out/c" -- true
# A program whose name is also a shell builtin (true, printf) runs under heaptrack as under the
# others: arenalab gives heaptrack's launcher the program's path, not the bare name.
if command -v heaptrack >/dev/null; then
  if err=$("$arenalab" profile --profiler heaptrack --out "$out/ht" -- true 2>&1 >/dev/null); then
    echo "ok: profile --profiler heaptrack -- true ran"
  else
    echo "FAIL: profile --profiler heaptrack -- true: $err"; fail=1
  fi
fi
# A target that exits at once: the note does not deny the exit dump the report names.
"$arenalab" profile -q --profiler jemalloc --out "$out/quick" -- true >"$out/quick.txt" 2>&1
if grep -q 'unfreed at exit' "$out/quick.txt" && grep -q 'no dump was written (' "$out/quick.txt"; then
  echo "FAIL: profile of true names an exit dump and says 'no dump was written'"; fail=1
else echo "ok: profile of true: $(grep -m1 'no dump was written' "$out/quick.txt")"; fi
# A target that crashes: profile's exit status is the target's (128+N), as run and watch, never 0.
for profiler in jemalloc interposer; do
  "$arenalab" profile -q --profiler $profiler --out "$out/segv-$profiler" -- sh -c 'kill -SEGV $$' >/dev/null 2>&1
  rc=$?
  if [[ $rc -ne 139 ]]; then echo "FAIL: profile --profiler $profiler of a target killed by SIGSEGV exited $rc, expected 139"; fail=1
  else echo "ok: profile --profiler $profiler of a target killed by SIGSEGV -> 139"; fi
done
exit $fail
