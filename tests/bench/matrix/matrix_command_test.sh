#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Any program as a workload (issue 24): sqlite3 with a generated SQL script and python3 with
# scripts, given by --command and by a "command" entry of the workload file, plus a custom
# program that prints nothing, run under every available configuration (at least glibc,
# jemalloc, mimalloc). Each cell must be ok and verified inside the process, measured from
# outside (wall, CPU, peak and final RSS, page faults, timeline), with the figures the program
# printed (one JSON object, or name=value words) added, and run exactly as given.
set -euo pipefail
arenalab=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sqlite=$(command -v sqlite3 || true)
python=$(command -v /usr/bin/python3 || command -v python3 || true)
if [[ -z $sqlite || -z $python ]]; then
  echo "SKIP: needs sqlite3 and python3 (scripts/bootstrap)"
  exit 77
fi

cat >"$out/gen.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO t SELECT i, printf('name-%08d', i), i * 0.5 FROM n;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v) FROM t WHERE name LIKE 'name-0001%';
DELETE FROM t WHERE id % 2 = 0;
VACUUM;
SQL
cat >"$out/dict.py" <<'PY'
import json, time
t0 = time.perf_counter()
d = {"key-%d" % i: [i] * 4 for i in range(50000)}
n = len(d)
del d
s = time.perf_counter() - t0
print("building a dict")  # other output is allowed; the last JSON object line counts
print(json.dumps({"items": n, "build": {"ms": s * 1e3}, "throughput": {"value": n / s, "unit": "items/s"}}))
PY
cat >"$out/bytes.py" <<'PY'
s = [bytes(100) for _ in range(50000)]
print("objects=%d payload_bytes=%d" % (len(s), 100 * len(s)))
PY
printf '#!/bin/sh\n: quiet\n' >"$out/quiet"
chmod +x "$out/quiet"
cat >"$out/workloads.json" <<JSON
{"schema":"arenalab.workloads/1","workloads":[
 {"name":"pybytes","command":"$python '$out/bytes.py'","description":"name=value figures"},
 {"name":"quiet","program":"$out/quiet","category":"stress","description":"prints nothing"}]}
JSON

run_matrix() {
  "$arenalab" matrix --workloads-file "$out/workloads.json" --workloads pybytes,quiet \
    --command sql="$sqlite :memory: '.read $out/gen.sql'" \
    --command pydict="$python $out/dict.py" \
    --allocators "$1" --repeats 1 --quiet --out "$out/m" >"$out/table.txt" 2>"$out/err.txt"
}
allocators=all
if ! run_matrix all; then
  cat "$out/err.txt"
  grep -q "configuration '" "$out/err.txt" || exit 1
  allocators=glibc,jemalloc,mimalloc  # a library of another configuration is missing
  run_matrix "$allocators" || {
    echo "SKIP: needs glibc, jemalloc and mimalloc configurations: $(cat "$out/err.txt")"
    exit 77
  }
fi
cat "$out/table.txt"

python3 - "$out" "$sqlite" "$python" <<'PY'
import json, os, sys
out, sqlite, python = sys.argv[1:4]
doc = json.load(open(os.path.join(out, "m", "results.json")))
cells = doc["cells"]
configs = doc["plan"]["configurations"]
assert {"glibc", "jemalloc", "mimalloc"} <= set(configs), configs
assert len(cells) == 4 * len(configs), len(cells)
for c in cells:
    where = "%s x %s" % (c["workload"], c["configuration"])
    assert c["status"] == "ok" and c["verified"], (where, c.get("message"), c.get("mismatch"))
    assert "no JSON" not in json.dumps(c), where
    for k in ("wall_ms", "peak_rss_bytes", "minor_faults"):
        assert c[k] > 0, (where, k, c[k])
    assert c["user_ms"] + c["sys_ms"] >= 0, where
    if c["workload"] == "quiet":
        continue  # a project-style program entry: --json is still appended; it prints nothing
    # CPU was measured: user + sys, not user alone. The kernel splits a process's runtime into
    # user and sys by where its ticks landed, so a 20 ms python whose ticks all fell in page
    # faults reads user 0 (pybytes x glibc-arena2 did, twice under load).
    assert c["user_ms"] + c["sys_ms"] > 0, (where, c["user_ms"], c["sys_ms"])
    assert c["identified"]["method"] == "runner", where
    m = c["measurements"]
    mem = c["memory"]  # from the timeline; final is the last sample before the exit teardown
    assert mem["final_rss_bytes"] > 0 and mem["samples"] >= 1, (where, mem)
    assert mem["peak_rss_bytes"] >= mem["final_rss_bytes"], (where, mem)
    assert mem["peak_rss_bytes"] >= mem["plateau_rss_bytes"], (where, mem)
    assert c["peak_rss_bytes"] >= mem["final_rss_bytes"] * 0.5, (where, c["peak_rss_bytes"], mem)
    tl = c["timeline"]
    lines = open(tl).read().splitlines()
    assert len(lines) >= 2 and json.loads(lines[0])["pid"] > 0, (where, tl)
    if c["workload"] == "sql":
        assert c["command"] == [sqlite, ":memory:", ".read %s/gen.sql" % out], c["command"]
        assert c["peak_rss_bytes"] > 2 << 20, (where, c["peak_rss_bytes"])
    if c["workload"] == "pydict":
        assert c["command"] == [python, "%s/dict.py" % out], c["command"]
        assert m["items"] == 50000 and m["build.ms"] > 0, m
        assert c["throughput"]["unit"] == "items/s" and c["throughput"]["value"] > 0, c
    if c["workload"] == "pybytes":
        assert m["objects"] == 50000 and m["payload_bytes"] == 5000000, m
# The summaries hold the programs' figures like the built-in workloads'.
sums = {(s["workload"], s["configuration"], s["metric"]) for s in doc["summaries"]}
for w in ("sql", "pydict", "pybytes"):
    for conf in configs:
        assert (w, conf, "peak_rss_bytes") in sums, (w, conf)
assert ("pydict", "glibc", "throughput") in sums
print("%d command cells under %s: ok, verified, measured from outside" % (len(cells), ",".join(configs)))
PY

# Bad --command specs are one clear line and exit 2; so are a --driver or --ready for no
# --command, a malformed ready address, and a driver that is not a program.
for spec in "noequals" "bad/name=true" "q=sh -c 'unterminated" "missing=/nonexistent/program"; do
  rc=0
  "$arenalab" matrix --command "$spec" --allocators glibc --out "$out/bad" --quiet 2>"$out/bad.txt" || rc=$?
  [[ $rc == 2 ]] || { echo "--command '$spec': exit $rc, expected 2"; cat "$out/bad.txt"; exit 1; }
  [[ $(wc -l <"$out/bad.txt") == 1 ]] || { cat "$out/bad.txt"; exit 1; }
done
for args in "--command s=true --driver t=true --ready s=tcp:127.0.0.1:1" \
  "--command s=true --driver s=true --ready s=tcp:127.0.0.1:99999" \
  "--command s=true --driver s=/nonexistent/driver --ready s=unix:/tmp/x" \
  "--command s=true --driver s=true"; do
  rc=0
  # shellcheck disable=SC2086
  "$arenalab" matrix $args --allocators glibc --out "$out/bad" --quiet 2>"$out/bad.txt" || rc=$?
  [[ $rc == 2 ]] || { echo "$args: exit $rc, expected 2"; cat "$out/bad.txt"; exit 1; }
  [[ $(wc -l <"$out/bad.txt") == 1 ]] || { cat "$out/bad.txt"; exit 1; }
done
echo "command workloads: ok"
