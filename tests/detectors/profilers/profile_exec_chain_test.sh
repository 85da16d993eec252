#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab profile --profiler tcmalloc on a target that execs again and again (a chain of
# launchers, each execing the next, libtcmalloc preloaded into all): each image starts without
# gperftools' handler, so a dump signal sent just before an exec reaches the next image before
# its libtcmalloc installed it. With SIGUSR2 (default action: terminate) that killed the target
# (arenalab looks at SigCgt, then signals: no check closes the gap); the dump signal's default
# action must be to ignore it, so the chain runs through: exit 3, the program's leak named.
# Usage: profile_exec_chain_test.sh ARENALAB PROGRAM
set -uo pipefail
arenalab=$1 prog=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/chain" <<'CHAIN'
#!/bin/sh
n=$1
shift
[ "$n" -gt 0 ] && exec "$0" $((n - 1)) "$@"
exec "$@"
CHAIN
chmod +x "$out/chain"
"$arenalab" profile -q --profiler tcmalloc --no-tools --interval 0.01 --out "$out/p" \
  -- "$out/chain" 300 "$prog" --seconds 2 >"$out/p.txt" 2>"$out/p.err"
rc=$?
if [[ $rc -ne 3 ]]; then
  echo "FAIL: exited $rc, expected 3 (leak): $(grep -m1 -E '^profile:|killed' "$out/p.txt")"
  sed -n 1,5p "$out/p.err"
  exit 1
fi
echo "ok: $(grep -m1 -E '^  leak ' "$out/p.txt")"
