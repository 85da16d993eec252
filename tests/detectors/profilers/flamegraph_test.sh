#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Flame graphs people can use (issue 22, item 4), on profilers_leaky_program --seconds 3 under the
# interposer (--interval 0.1, --at 1.5):
#  1. --at: live-at.folded holds the live bytes at the dump nearest to 1.5 s: leak_some_records
#     is its widest stack, with fewer bytes than at the last dump (live.folded) and more than 0;
#     live-at.svg's title names that dump's time: the one of profile.json's dump_t_ms nearest to
#     1.5 s (not a time within 0.3 s of it: the sampler keeps to the clock and skips the ticks
#     it is starved of under load, so the nearest dump can be further away).
#  2. arenalab report embeds the growth, live and live-at flame graphs inline in report.html
#     (no <img> of them, nothing loaded from outside the page: no src= or href= to a file).
#     --lg-sample 14 (16 KiB between samples): the bounded window (16 x 64 KiB live) is then in every
#     graph; at the default 512 KiB it went unsampled in some runs, and a graph holding only the
#     leak has no frame outside leak_some_records for the zoom to hide.
#  3. In headless Chromium, a click on leak_some_records in each inline graph zooms to it (full
#     width, the frames outside hidden, callers full width, "Reset zoom" shown) and a click on
#     the background restores it, with no console output (flamegraph_zoom_check.py).
# Usage: flamegraph_test.sh ARENALAB PROGRAM
set -uo pipefail
arenalab=$1 prog=$2
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
"$arenalab" profile --profiler interposer --no-tools -q --interval 0.1 --lg-sample 14 --at 1.5 --out "$out/p" \
  -- "$prog" --seconds 3 >"$out/p.txt" 2>"$out/p.err"
rc=$?
[[ $rc -eq 3 ]] || { echo "FAIL: profile exited $rc, expected 3: $(tail -3 "$out/p.err")"; fail=1; }
python3 - "$out/p" <<'PY' || fail=1
import json, sys, re, xml.etree.ElementTree as ET
d = sys.argv[1]
def leak_bytes(name):
    rows = [l.rsplit(" ", 1) for l in open(f"{d}/{name}") if l.strip()]
    widest = max(rows, key=lambda r: float(r[1]))
    return widest[0].split(";")[-1], float(widest[1])
fail = []
fn_at, at = leak_bytes("live-at.folded")
fn_last, last = leak_bytes("live.folded")
print(f"live-at.folded: {fn_at} {at / 2**20:.1f} MiB; live.folded: {fn_last} {last / 2**20:.1f} MiB")
if not fn_at.startswith("leak_some_records") or not (0 < at < last):
    fail.append(f"live at 1.5 s: {fn_at} {at} B, expected leak_some_records with 0 < bytes < {last}")
title = ET.parse(f"{d}/live-at.svg").getroot().find("{http://www.w3.org/2000/svg}text").text
m = re.match(r"Live bytes at ([0-9.]+) s \(the dump nearest to 1\.5 s\)", title or "")
dumps = json.load(open(f"{d}/profile.json"))["dump_t_ms"]
nearest = f"{min(dumps, key=lambda t: abs(t - 1500)) / 1000:.1f}" if dumps else None
if not m or m.group(1) != nearest:
    fail.append(f"live-at.svg's title: {title!r}, expected the dump at {nearest} s")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
"$arenalab" report "$out/p" --out "$out/r" >/dev/null 2>"$out/r.err" ||
  { echo "FAIL: report: $(cat "$out/r.err")"; exit 1; }
html=$out/r/report.html
inline=$(grep -c '<svg [^>]*class="arenalab-flamegraph"' "$html")
if [[ $inline -ne 3 ]]; then
  echo "FAIL: $inline inline flame graphs in report.html, expected 3 (growth, live, live-at)"; fail=1
fi
outside=$(grep -Eo '(src|href)="[^"]*"' "$html" | grep -Ev '="(#|data:)' | head -3)
if [[ -n $outside ]]; then
  echo "FAIL: report.html refers to files outside it: $outside"; fail=1
fi
python3 "$here/flamegraph_zoom_check.py" "$html" leak_some_records; rc=$?
[[ $rc -eq 77 ]] && { echo "SKIP: the zoom check needs chromium"; exit 77; }
[[ $rc -eq 0 ]] || fail=1
exit $fail
