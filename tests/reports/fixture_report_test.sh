#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arenalab report over synthetic contract-format directories (matrix with failed/unverified
# cells, leak + retention watch, budget kill, profile): every section is present, failed cells
# are shown, summary.md is written, and the page renders in headless Chromium (skip if absent).
# usage: fixture_report_test.sh ARENALAB WORK_DIR FIXTURES_PY BROWSER_CHECK
set -euo pipefail
arenalab=$1 work=$2 fixtures=$3 check=$4
rm -rf "$work" && mkdir -p "$work"
python3 "$fixtures" "$work/in"
"$arenalab" report "$work"/in/* --out "$work/report" --title "fixture report"
html=$work/report/report.html md=$work/report/summary.md
fail() { echo "FAIL: $*"; exit 1; }
for id in summary matrix over-time watch budget profiles inputs; do
  grep -q "<section id=\"$id\">" "$html" || fail "section $id missing"
done
[[ $(grep -o '<img class="plot"' "$html" | wc -l) -eq 7 ]] || fail "expected 7 plots"
grep -q 'class="badge failed"' "$html" || fail "failed cell not shown"
grep -q 'class="badge unverified"' "$html" || fail "unverified cell not shown"
grep -q '| leak | glibc | \*\*leak\*\*' "$md" || fail "summary.md lacks the leak verdict"
grep -q 'killed (signal 9)' "$md" || fail "summary.md lacks the budget kill"
[[ $(ls "$work/report/plots"/*.svg | wc -l) -eq 7 ]] || fail "plots/*.svg not written"
# Bad input: one clear line, exit 1, nothing written.
if "$arenalab" report "$work/nowhere" --out "$work/bad" 2>"$work/err"; then fail "accepted a missing dir"; fi
[[ $(wc -l <"$work/err") -eq 1 ]] || fail "expected one error line, got: $(cat "$work/err")"
[[ ! -e $work/bad/report.html ]] || fail "wrote a report for bad input"
python3 "$check" "$html" "$work/report-screenshot.png"
