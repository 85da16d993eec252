#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `arenalab matrix --duration S` (issue 24): server_mix under glibc, two repeats of 2 s. Every
# cell was given --duration 2 and ran at least that long, results.json's plan records it, and
# the recommendation ranks time per operation (1e9 / throughput) instead of wall time, which is
# only the duration. --duration with no workload that takes it is refused with one line.
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
python3 - "$out/m" <<'PY'
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
