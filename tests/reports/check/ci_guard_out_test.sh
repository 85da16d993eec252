#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/ci-guard empties its output directory before each run, so it refuses one holding
# anything it does not write: ARENALAB_CI_OUT naming a directory with a file of the user's in
# it, or a symlink to such a directory, is one line, exit 1, nothing deleted;
# an unknown argument is a usage error (exit 2); on a built tree the guard finds arenalab. Before, `rm -rf "$ARENALAB_CI_OUT"` deleted it.
# usage: ci_guard_out_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work/user dir"
echo "keep me" >"$work/user dir/notes.txt"
ln -s "$work/user dir" "$work/link"
for out in "$work/user dir" "$work/link"; do
  rc=0
  ARENALAB_CI_OUT=$out "$src/scripts/ci-guard" >"$work/out" 2>"$work/err" || rc=$?
  [[ $rc -eq 1 && $(wc -l <"$work/err") -eq 1 ]] || fail "$out: exit $rc: $(cat "$work/err")"
  grep -q "refusing to empty it" "$work/err" || fail "$out: $(cat "$work/err")"
  [[ $out == */link ]] || grep -q "notes.txt" "$work/err" || fail "$out: the file not named"
  [[ $(cat "$work/user dir/notes.txt") == "keep me" ]] || fail "$out: the user's file is gone"
done
[[ -L $work/link ]] || fail "the symlink was removed"
rc=0
ARENALAB_CI_OUT="$work/new" "$src/scripts/ci-guard" --update >/dev/null 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "unknown argument" "$work/err" || fail "--update: exit $rc $(cat "$work/err")"
[[ ! -e $work/new ]] || fail "a usage error made $work/new"
# On this built tree the guard is ready to run: it finds arenalab and its commands (a guard
# that lost its binary's path printed SKIPPED and exited 0, checking nothing).
rc=0
ARENALAB_CI_GUARD_PREFLIGHT=1 ARENALAB_CI_OUT="$work/new" "$src/scripts/ci-guard" \
  >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 0 ]] && grep -q "^ci-guard: ready: " "$work/out" ||
  fail "preflight: exit $rc: $(cat "$work/out" "$work/err")"
echo ok
