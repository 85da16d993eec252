#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end (issue 11): watch wl_cache, record it as the baseline under wl_leak's name (a
# wl_cache-shaped baseline), watch wl_leak, and check: must fail with exit 3 and say why.
# Skips (77) until `arenalab watch`, wl_leak and wl_cache exist.
# usage: check_e2e_test.sh ARENALAB BIN_DIR WORK_DIR
set -euo pipefail
arenalab=$1 bin=$2 work=$3
"$arenalab" --help 2>/dev/null | grep -qE "^ +watch( |$)" || { echo "SKIPPED: 'arenalab watch' not built yet"; exit 77; }
for w in wl_leak wl_cache; do
  [[ -x $bin/$w ]] || { echo "SKIPPED: $w not built yet"; exit 77; }
done
rm -rf "$work" && mkdir -p "$work"
set +e
"$arenalab" watch --allocator glibc --interval 50 --out "$work/cache" -- "$bin/wl_cache" --smoke >"$work/cache.log" 2>&1
rc_cache=$?
"$arenalab" watch --allocator glibc --interval 50 --out "$work/leak" -- "$bin/wl_leak" --smoke >"$work/leak.log" 2>&1
rc_leak=$?
set -e
echo "watch wl_cache: exit $rc_cache; watch wl_leak: exit $rc_leak"
[[ -f $work/cache/verdict.json && -f $work/leak/verdict.json ]] || { cat "$work"/*.log; exit 1; }
"$arenalab" check --baseline "$work/cache-base.json" --update-baseline "$work/cache"
sed -i 's/"workload": "cache"/"workload": "leak"/' "$work/cache-base.json"
set +e
"$arenalab" check --baseline "$work/cache-base.json" "$work/leak" --junit "$work/junit.xml" \
  --markdown "$work/summary.md" | tee "$work/check.txt"
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 3 ]] || { echo "FAIL: expected exit 3 from check, got $rc"; exit 1; }
grep -qE 'FAIL .*(verdict|plateau_rss_bytes|rss_after_free_bytes|peak_rss_bytes)' "$work/check.txt" || {
  echo "FAIL: no failing metric named"; exit 1; }
echo "ok: wl_leak against a wl_cache-shaped baseline fails with exit 3"
