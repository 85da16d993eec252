#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab watch --json FILE: the machine output goes to FILE alone and stays parseable however
# much the target prints on stdout; the human verdict stays on stdout beside the target's lines.
# usage: watch_json_test.sh ARENALAB
set -u
ARENALAB=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$ARENALAB" watch -q --out "$TMP/run" --json "$TMP/v.json" -- \
  sh -c 'echo "{ not json, from the target"; sleep 2; echo target-done' >"$TMP/out" 2>"$TMP/err"
rc=$?
fail=0
if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['schema']=='arenalab.verdict/1', d" \
  "$TMP/v.json"; then
  echo "FAIL --json FILE: not arenalab.verdict/1 JSON"; fail=1
fi
grep -q "target-done" "$TMP/out" || { echo "FAIL: the target's stdout is missing"; fail=1; }
grep -q "^verdict: " "$TMP/out" || { echo "FAIL: no human verdict on stdout"; fail=1; }
grep -q '"schema"' "$TMP/out" && { echo "FAIL: JSON interleaved with the target's stdout"; fail=1; }
[[ $rc -eq 0 || $rc -eq 4 ]] || { echo "FAIL: exit $rc"; cat "$TMP/err"; fail=1; }
((fail == 0)) && echo "ok   --json FILE: parseable, target output and verdict on stdout (exit $rc)"
exit $fail
