#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The server pattern (issue 24): redis-server with a generated config (127.0.0.1, a free port,
# no persistence, a temp dir) as a --command, redis-benchmark as its --driver, --ready on the
# port. Each cell starts the server under the configuration (identified inside it, its own
# timeline), runs the driver once the port answers, stops the server with SIGTERM; the cell
# carries the driver's request latency percentiles and requests/s, the server's CPU, peak RSS
# and memory over time. Debian's redis-server is linked against jemalloc, so under glibc it is
# unverified (the interposer finds jemalloc serving malloc), never counted as glibc.
set -euo pipefail
arenalab=$1
for tool in redis-server redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool (scripts/bootstrap: redis)"; exit 77; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$out/redis.conf" <<CONF
port $port
bind 127.0.0.1
protected-mode yes
save ""
appendonly no
daemonize no
loglevel warning
dir $out
CONF
start=$(date +%s)
"$arenalab" matrix --command redis-srv="redis-server $out/redis.conf" \
  --driver redis-srv="redis-benchmark -h 127.0.0.1 -p $port -n 3000 -c 10 -r 1000 -d 128 -t set,get,lpush --csv" \
  --ready redis-srv=tcp:127.0.0.1:$port --allocators glibc,jemalloc,mimalloc --baseline jemalloc \
  --repeats 2 --quiet --verbose --out "$out/m" >"$out/table.txt" 2>"$out/err.txt" || {
  cat "$out/err.txt"
  if grep -q "configuration '" "$out/err.txt"; then
    echo "SKIP: needs glibc, jemalloc and mimalloc configurations"
    exit 77
  fi
  exit 1
}
cat "$out/table.txt"
python3 - "$out" "$port" <<'PY'
import json, os, socket, sys
out, port = sys.argv[1], int(sys.argv[2])
doc = json.load(open(os.path.join(out, "m", "results.json")))
cells = doc["cells"]
assert len(cells) == 6, len(cells)
for c in cells:
    where = "%s r%d" % (c["configuration"], c["repeat"])
    assert c["identified"]["method"] == "runner", where
    if c["configuration"] == "glibc":
        # redis-server's own jemalloc serves malloc under an LD_PRELOAD of nothing.
        assert c["status"] == "unverified" and "jemalloc" in c["mismatch"], (where, c)
        continue
    assert c["status"] == "ok" and c["verified"], (where, c.get("message"), c.get("stderr_tail"))
    m = c["measurements"]
    for p in ("request_p50_ms", "request_p99_ms", "request_max_ms"):
        assert p in m, (where, sorted(m))
    assert 0 < m["request_p50_ms"] <= m["request_p99_ms"] <= m["request_max_ms"], (where, m)
    assert "SET.p99_latency_ms" in m and "GET.rps" in m, (where, sorted(m))
    assert c["throughput"]["unit"] == "requests/s" and c["throughput"]["value"] > 0, where
    # The cell's time is the driver's; the server lived longer (start-up, shutdown).
    assert 0 < c["wall_ms"] <= m["server_wall_ms"], (where, c["wall_ms"], m["server_wall_ms"])
    assert m["ready_ms"] < m["server_wall_ms"], where
    mem = c["memory"]
    assert mem["samples"] >= 2 and mem["peak_rss_bytes"] >= mem["final_rss_bytes"] > 0, (where, mem)
    assert mem["growth"]["verdict"] in ("leak", "retention", "bounded", "non-heap-growth",
                                        "stable", "unresolved"), mem
    assert os.path.getsize(c["timeline"]) > 0, where
metrics = {(s["configuration"], s["metric"]) for s in doc["summaries"]}
for cfg in ("jemalloc", "mimalloc"):
    for m in ("request_p99_ms", "wall_ms", "plateau_rss_bytes", "final_rss_bytes"):
        assert (cfg, m) in metrics, (cfg, m)
# Every server was stopped: nothing answers on the port any more.
s = socket.socket()
assert s.connect_ex(("127.0.0.1", port)) != 0, "a redis-server is still listening"
print("server pattern: 4 cells ok with request latency, 2 glibc cells unverified (jemalloc inside)")
PY
grep -q "redis-srv" "$out/table.txt"
echo "matrix.server: $(( $(date +%s) - start )) s"
