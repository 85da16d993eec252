#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `arenalab matrix --duration S` (issue 24): server_mix under glibc, two repeats of 2 s. Every
# cell was given --duration 2 and ran at least that long, results.json's plan records it, and
# the recommendation ranks time per operation (1e9 / throughput) instead of wall time, which is
# only the duration. --duration with no workload that takes it is refused with one line. A
# matrix mixing larson (fixed work: wall_ms) with server_mix (time_per_op_ns) ranks the overall
# on "time", each workload's own time axis, and says so in the terminal and results.json.
# usage: matrix_duration_test.sh ARENALAB
set -uo pipefail
arenalab=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
err=$("$arenalab" matrix --workloads larson --allocators glibc --smoke --duration 2 --quiet \
  --out "$out/refused" 2>&1 >/dev/null)
rc=$?
if [[ $rc -ne 2 || $(printf '%s\n' "$err" | grep -c .) -ne 1 ||
      ! $err =~ "--duration: no selected workload takes it" ]]; then
  echo "FAIL: --duration with larson only -> exit $rc: $err"; exit 1
fi
[[ ! -e $out/refused/results.json ]] || { echo "FAIL: a refused matrix wrote results"; exit 1; }
"$arenalab" matrix --workloads server_mix --allocators glibc --repeats 2 --duration 2 --quiet \
  --out "$out/m" >"$out/matrix.log" 2>&1 || { cat "$out/matrix.log"; exit 1; }
grep -q "time_per_op_ns" "$out/matrix.log" || {
  echo "FAIL: the recommendation does not say what it ranks:"; cat "$out/matrix.log"; exit 1; }
python3 - "$out/m" <<'PY' || exit 1
import json, os, sys
doc = json.load(open(os.path.join(sys.argv[1], "results.json")))
assert doc["plan"]["duration_s"] == 2, doc["plan"]
cells = doc["cells"]
assert len(cells) == 2, cells
for c in cells:
    assert c["status"] == "ok", (c["status"], c.get("message"))
    cmd = c["command"]
    assert cmd[cmd.index("--duration") + 1] == "2", cmd
    # The workload ran for its duration: at least 2 s, not its default of minutes (generous
    # upper bound for a loaded CI machine).
    assert 2000 <= c["wall_ms"] < 60000, c["wall_ms"]
    assert c["throughput"]["value"] > 0 if isinstance(c["throughput"], dict) else c["throughput"] > 0
advice = doc["recommendation"]["workloads"][0]
assert "wall_ms" not in advice["axes"] and "time_per_op_ns" in advice["axes"], advice["axes"]
print("duration: 2 cells of", [round(c["wall_ms"]) for c in cells], "ms; axes", advice["axes"])
PY
"$arenalab" matrix --workloads larson,server_mix --allocators glibc --smoke --duration 2 --quiet \
  --out "$out/mix" >"$out/mix.log" 2>&1 || { cat "$out/mix.log"; exit 1; }
grep -q "(time: each workload's own time axis" "$out/mix.log" || {
  echo "FAIL: the mixed overall does not say how it ranks time:"; cat "$out/mix.log"; exit 1; }
python3 - "$out/mix" <<'PY'
import json, os, sys
rec = json.load(open(os.path.join(sys.argv[1], "results.json")))["recommendation"]
axes = {a["workload"]: a["axes"] for a in rec["workloads"]}
assert "wall_ms" in axes["larson"] and "time_per_op_ns" in axes["server_mix"], axes
o = rec["overall"]
assert o["axes"][0] == "time", o["axes"]
notes = o.get("notes", [])
assert any("wall_ms where the work is fixed (larson)" in n and
           "time_per_op_ns where it ran for --duration (server_mix)" in n for n in notes), notes
print("mix: overall axes", o["axes"], "; per workload", axes)
PY
