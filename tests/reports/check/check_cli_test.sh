#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab check as a CI step on synthetic contract files: --update-baseline writes a baseline,
# checking the same results passes (exit 0), a leak against a retention baseline fails (exit 3)
# with JUnit XML and Markdown written, bad input exits 1 or 2 with one line on stderr.
# usage: check_cli_test.sh ARENALAB WORK_DIR FIXTURES_PY
set -euo pipefail
arenalab=$1 work=$2 fixtures=$3
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work"
python3 "$fixtures" "$work/in"
in=$work/in
"$arenalab" check --baseline "$work/base.json" --update-baseline "$in/matrix" "$in/watch-cache"
grep -q '"schema": "arenalab.baseline/2"' "$work/base.json" || fail "baseline not written"
"$arenalab" check --baseline "$work/base.json" "$in/matrix/results.json" "$in/watch-cache" \
  --junit "$work/same.xml" || fail "identical results did not pass"
# A wl_cache-shaped baseline under the leak's name, then the leak checked against it.
python3 - "$work/base.json" "$work/cache-shaped.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["cells"] = [c for c in doc["cells"] if c["kind"] == "watch"]
for c in doc["cells"]:
    c["workload"] = "leak"
json.dump(doc, open(sys.argv[2], "w"))
PY
set +e
"$arenalab" check --baseline "$work/cache-shaped.json" "$in/watch-leak" --junit "$work/j.xml" \
  --markdown "$work/c.md" >"$work/out.txt"
rc=$?
set -e
cat "$work/out.txt"
[[ $rc -eq 3 ]] || fail "expected exit 3, got $rc"
grep -q 'retention -> leak' "$work/out.txt" || fail "terminal table lacks the verdict change"
python3 - "$work/j.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
failed = [c for c in cases if c.find("failure") is not None]
assert cases and failed, "no failing test case in JUnit XML"
assert any(c.get("name") == "verdict" for c in failed), "verdict case did not fail"
PY
grep -q '| \*\*FAIL\*\* |' "$work/c.md" || fail "markdown lacks the failure"
# Bad input.
echo '{"schema":"arenalab.baseline/1","cells":[{"workload":1}]}' >"$work/bad.json"
set +e
"$arenalab" check --baseline "$work/bad.json" "$in/watch-leak" 2>"$work/err"; rc=$?
"$arenalab" check "$in/watch-leak" 2>/dev/null; rc2=$?
"$arenalab" check --baseline "$work/base.json" "$work/nowhere" 2>"$work/err2"; rc3=$?
set -e
[[ $rc -eq 1 && $(wc -l <"$work/err") -eq 1 ]] || fail "malformed baseline: rc $rc, $(cat "$work/err")"
[[ $rc2 -eq 2 ]] || fail "missing --baseline should be a usage error, got $rc2"
[[ $rc3 -eq 1 ]] && grep -q nowhere "$work/err2" || fail "missing results dir: rc $rc3"
# check writes over none of its inputs: --update-baseline replaces a baseline only (a
# results.json or verdict.json given as --baseline is the run's own data), and --junit /
# --markdown may not name a file it reads. Each refused with one line, exit 1, the file intact.
cp -r "$in/matrix" "$work/own-matrix" && cp -r "$in/watch-cache" "$work/own-watch"
sums() { md5sum "$work/own-matrix/results.json" "$work/own-watch/"* "$work/base.json"; }
before=$(sums)
refuse() {  # refuse WHAT ARGS...: exit 1, one line on stderr, nothing changed
  local what=$1; shift
  set +e
  "$arenalab" check "$@" >"$work/refused.out" 2>"$work/refused.err"; local rc=$?
  set -e
  [[ $rc -eq 1 && $(wc -l <"$work/refused.err") -eq 1 ]] ||
    fail "$what: expected exit 1 and one line, got $rc: $(cat "$work/refused.err")"
  grep -qF -- "$what" "$work/refused.err" || fail "$what not named: $(cat "$work/refused.err")"
  [[ "$(sums)" == "$before" ]] || fail "$what: an input was written"
}
refuse "not a baseline" --baseline "$work/own-matrix/results.json" --update-baseline "$in/matrix"
refuse "not a baseline" --baseline "$work/own-watch/verdict.json" --update-baseline "$in/watch-leak"
refuse "is a directory" --baseline "$work/own-matrix" --update-baseline "$in/matrix"
refuse "which check reads" --baseline "$work/base.json" "$work/own-matrix" \
  --junit "$work/own-matrix/results.json"
refuse "which check reads" --baseline "$work/base.json" "$work/own-watch" \
  --markdown "$work/own-watch/timeline.jsonl"
refuse "which check reads" --baseline "$work/base.json" "$in/matrix" --markdown "$work/base.json"
# An existing directory as --junit or --markdown: refused up front naming the option (before,
# the comparison ran and the rename over the directory failed at the end).
mkdir -p "$work/outdir"
refuse "--junit $work/outdir is a directory" --baseline "$work/base.json" "$in/matrix" \
  --junit "$work/outdir"
refuse "--markdown $work/outdir is a directory" --baseline "$work/base.json" "$in/matrix" \
  --markdown "$work/outdir"
[[ -z $(ls -A "$work/outdir") ]] || fail "something was written in the --junit directory"
echo "ok"
