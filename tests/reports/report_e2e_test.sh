#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end: a small real matrix and a real watch run -> arenalab report -> headless Chromium
# (no console output, every plot rendered with non-zero size); the screenshot stays in the
# build tree as the test artifact. Skips (77) until matrix and watch exist.
# usage: report_e2e_test.sh ARENALAB BIN_DIR WORK_DIR BROWSER_CHECK
set -euo pipefail
arenalab=$1 bin=$2 work=$3 check=$4
for cmd in matrix watch; do
  if ! "$arenalab" --help 2>/dev/null | grep -qE "^ +$cmd( |$)"; then
    echo "SKIPPED: 'arenalab $cmd' is not built yet (issue: matrix/watch not merged)"
    exit 77
  fi
done
watch_wl=wl_leak
[[ -x $bin/$watch_wl ]] || watch_wl=wl_touch
rm -rf "$work" && mkdir -p "$work"
"$arenalab" matrix --workloads touch --allocators glibc,jemalloc --repeats 2 --smoke --timeline \
  --out "$work/matrix" >"$work/matrix.log" 2>&1 || { cat "$work/matrix.log"; exit 1; }
# watch exits 3 when it finds a leak, which is what wl_leak is for.
set +e
"$arenalab" watch --allocator glibc --interval 50 --out "$work/watch" -- "$bin/$watch_wl" --smoke \
  >"$work/watch.log" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 && $rc -ne 3 && $rc -ne 4 ]]; then cat "$work/watch.log"; exit 1; fi
"$arenalab" report "$work/matrix" "$work/watch" --out "$work/report" --title "arenalab e2e report"
for f in report.html summary.md; do [[ -s $work/report/$f ]] || { echo "missing $f"; exit 1; }; done
if grep -qE '(src|href)="https?://' "$work/report/report.html"; then
  echo "report.html references the network"; exit 1
fi
python3 "$check" "$work/report/report.html" "$work/report-screenshot.png"
