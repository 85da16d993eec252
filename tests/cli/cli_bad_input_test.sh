#!/usr/bin/env bash
# Bad input gets exactly one clear line on stderr naming what was wrong, and a non-zero exit.
set -uo pipefail
arenalab=$1
data=$2
fail=0
expect() {  # expect CODE PATTERN -- ARGS...
  local code=$1 pattern=$2; shift 3
  local err rc
  err=$("$arenalab" "$@" 2>&1 >/dev/null); rc=$?
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
expect 2 "subcommand" -- no-such-subcommand
exit $fail
