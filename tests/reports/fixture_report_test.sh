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
[[ $(grep -o '<img class="plot"' "$html" | wc -l) -eq 8 ]] || fail "expected 8 plots"
grep -q 'class="badge failed"' "$html" || fail "failed cell not shown"
grep -q 'class="badge unverified"' "$html" || fail "unverified cell not shown"
grep -q '| leak | glibc | \*\*leak\*\*' "$md" || fail "summary.md lacks the leak verdict"
grep -q 'killed (signal 9)' "$md" || fail "summary.md lacks the budget kill"
[[ $(ls "$work/report/plots"/*.svg | wc -l) -eq 8 ]] || fail "plots/*.svg not written"
# Issue 22 item 7: a run whose allocator was not verified is labelled with what was identified,
# marked NOT verified, never with the configuration asked for; every run shows its command.
grep -q '<td class="name">jemalloc (NOT verified; asked for glibc)</td>' "$html" ||
  fail "the unverified run is not labelled 'jemalloc (NOT verified; asked for glibc)'"
grep -q '<code>\$ wl_redis --smoke</code>' "$html" ||
  fail "the run's command line is not shown: $(grep -o '<code>\$ [^<]*' "$html" | head -3)"
# Item 8: jemalloc's retained is drawn on its own axis as address space; the watch plot's title
# says what its verdict means.
grep -q 'retained address space, not memory' "$work/report/plots/"*.svg ||
  fail "no plot draws retained on its own address-space axis"
grep -q 'verdict retention — RSS stays up while what the program holds fell back' "$html" ||
  fail "the retention plot's title does not match its verdict"
# A watch whose timeline is its header alone (arenalab killed before the first sample): its plot
# is drawn, empty, saying so. Before, gnuplot refused to autoscale on no point and the report
# carried its error ("all points y value undefined!") instead of the plot.
mkdir -p "$work/nosamples"
cp "$work/in/watch-cache/verdict.json" "$work/in/watch-cache/run.json" "$work/nosamples/"
head -n 1 "$work/in/watch-cache/timeline.jsonl" >"$work/nosamples/timeline.jsonl"
"$arenalab" report "$work/nosamples" --out "$work/report-nosamples" 2>"$work/nosamples.err" ||
  fail "report of a timeline without samples failed: $(cat "$work/nosamples.err")"
! grep -q "gnuplot failed" "$work/nosamples.err" || fail "gnuplot failed: $(cat "$work/nosamples.err")"
grep -lq 'no samples recorded' "$work/report-nosamples/plots/"*.svg ||
  fail "no plot says 'no samples recorded': $(cat "$work/nosamples.err")"
# Stopped mid-report (SIGTERM while gnuplot draws): arenalab ends by the signal and leaves
# nothing of the report, neither plots/.work nor plots nor the directory it made; into a
# reused --out, the earlier report's plots stay as they were. Before, plots/.work (gnuplot's
# scripts and data) and the plots so far stayed behind, and an interrupted second report
# removed the first one's plots it had replaced. gnuplot is a stub that waits a second before
# each plot, so the signal always lands while the report is drawing.
real_gnuplot=$(command -v gnuplot)
mkdir -p "$work/slowbin"
printf '#!/bin/sh\n[ "$1" = --version ] || { : >"%s"; sleep 1; }\nexec %s "$@"\n' \
  "$work/slowbin/drawing" "$real_gnuplot" >"$work/slowbin/gnuplot"
chmod +x "$work/slowbin/gnuplot"
interrupt() {  # interrupt OUT: a report into OUT stopped by SIGTERM while drawing; sets rc
  PATH=$work/slowbin:$PATH "$arenalab" report "$work"/in/* --out "$1" >/dev/null \
    2>"$work/int.err" &
  local pid=$!
  for _ in $(seq 500); do [[ -e $work/slowbin/drawing ]] && break; sleep 0.02; done
  rm -f "$work/slowbin/drawing"
  kill -TERM "$pid" 2>/dev/null || true
  rc=0; wait "$pid" || rc=$?
}
interrupt "$work/report-int"
[[ $rc -eq 143 ]] || fail "interrupted report: exit $rc, want 143: $(cat "$work/int.err")"
[[ ! -e $work/report-int ]] || fail "interrupted report left: $(find "$work/report-int")"
cp -r "$work/report" "$work/report-again"
before=$(cd "$work/report-again" && md5sum plots/*.svg report.html)
interrupt "$work/report-again"
[[ $rc -eq 143 ]] || fail "interrupted second report: exit $rc, want 143: $(cat "$work/int.err")"
[[ ! -e $work/report-again/plots/.work ]] || fail "the second report left plots/.work"
[[ $(cd "$work/report-again" && md5sum plots/*.svg report.html) == "$before" ]] ||
  fail "an interrupted second report changed the first one's plots or page"
# A report into an earlier report's --out draws fewer plots: the earlier report's plots this one
# does not draw are removed (files named as a report names its plots), a file of the user's in
# plots/ stays. Before, the 8 earlier plots stayed beside the new ones, shown by no page.
echo '<svg/>' >"$work/report-again/plots/notes.svg"
"$arenalab" report "$work/in/watch-cache" --out "$work/report-again" >/dev/null 2>"$work/again.err" ||
  fail "a report into an earlier report's --out failed: $(cat "$work/again.err")"
drawn=$(grep -o '<img class="plot"' "$work/report-again/report.html" | wc -l)
left=$(cd "$work/report-again/plots" && ls | grep -v '^notes\.svg$' | wc -l)
[[ $drawn -ge 1 && $left -eq $drawn ]] ||
  fail "plots/ holds $left plots for a page of $drawn: $(ls "$work/report-again/plots")"
[[ $(cat "$work/report-again/plots/notes.svg") == '<svg/>' ]] || fail "the user's notes.svg was removed"
# Bad input: one clear line, exit 1, nothing written.
if "$arenalab" report "$work/nowhere" --out "$work/bad" 2>"$work/err"; then fail "accepted a missing dir"; fi
[[ $(wc -l <"$work/err") -eq 1 ]] || fail "expected one error line, got: $(cat "$work/err")"
[[ ! -e $work/bad/report.html ]] || fail "wrote a report for bad input"
python3 "$check" "$html" "$work/report-screenshot.png"
