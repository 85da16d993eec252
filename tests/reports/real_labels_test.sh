#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Report accuracy on a real program (issue 22, items 7-8): redis-server (Debian's links
# jemalloc) run under the glibc configuration. The interposer identifies jemalloc, so the report
# must label the run "jemalloc (NOT verified; asked for glibc)" (never "under glibc"), show its
# command line, and draw jemalloc's retained as address space on its own axis, not on the
# memory axis beside RSS. Skips (77) without redis-server.
# usage: real_labels_test.sh ARENALAB
set -uo pipefail
arenalab=$1
command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$arenalab" run -q --allocator glibc --duration 2 --out "$out/run" -- \
  redis-server --port "$port" --save '' --appendonly no >/dev/null 2>"$out/run.err" ||
  { echo "FAIL: arenalab run: $(tail -3 "$out/run.err")"; exit 1; }
if ! grep -q '"identified_backend":"jemalloc"' <(tr -d ' \n' <"$out/run/run.json"); then
  echo "SKIP: this redis-server does not use jemalloc: $(grep -o '"identified_backend"[^,]*' "$out/run/run.json")"
  exit 77
fi
"$arenalab" report "$out/run" --out "$out/report" >/dev/null 2>"$out/report.err" ||
  { echo "FAIL: report: $(cat "$out/report.err")"; exit 1; }
html=$out/report/report.html
fail=0
grep -q '<td class="name">jemalloc (NOT verified; asked for glibc)</td>' "$html" ||
  { echo "FAIL: the run is not labelled 'jemalloc (NOT verified; asked for glibc)'"; fail=1; }
grep -q "<code>\$ redis-server --port $port --save &apos;&apos; --appendonly no</code>" "$html" ||
  { echo "FAIL: the command line is not shown: $(grep -o '<code>\$ [^<]*' "$html" | head -2)"; fail=1; }
if grep -q 'under glibc' "$html" "$out/report/summary.md"; then
  echo "FAIL: the report says 'under glibc' for a jemalloc process"; fail=1
fi
svg=$(ls "$out/report/plots/"over_time_*.svg | head -1)
grep -q 'retained address space, not memory' "$svg" ||
  { echo "FAIL: $svg has no address-space axis for retained"; fail=1; }
grep -q '>jemalloc (NOT verified) retained (address space, right axis)<' "$svg" ||
  { echo "FAIL: $svg's legend does not say retained is address space"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok: jemalloc (NOT verified; asked for glibc), command shown, retained on its own axis"
exit $fail
