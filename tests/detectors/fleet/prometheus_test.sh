#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet view against a real Prometheus: starts prometheus on 127.0.0.1 (a free port, a
# generated config, its own TSDB in a temp dir, scrapes every 0.5 s) scraping arenalab's own
# exporter (watch --metrics) while it watches a leaking and a bounded workload, and
# redis_exporter in front of two redis-servers being filled (one without a bound: a leak; one
# with maxmemory + LRU: bounded). Waits while the series grow, then runs
# `arenalab classify --prometheus` on both and checks each series' verdict, verdict.json and exit
# code, and its error lines. Stops by pid all it started. Exit 77 (skipped) with the reason where
# prometheus cannot start. Usage: prometheus_test.sh ARENALAB WL_LEAK WL_CACHE
set -uo pipefail
arenalab=$1
wl_leak=$2
wl_cache=$3
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; [[ -f $tmp/prometheus.log ]] && tail -5 "$tmp/prometheus.log"; exit 1; }
for p in prometheus prometheus-redis-exporter redis-server python3; do
  command -v "$p" >/dev/null || skip "$p not found (scripts/bootstrap installs it)"
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# A free loopback port: bind port 0 and read what the kernel chose (the brief race with another
# process taking it before us is acceptable in a test).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # URL SECONDS: until it answers 200
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    python3 - "$1" <<'PY' 2>/dev/null && return 0
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
    sleep 0.1
  done
  return 1
}

# Two redis-servers (no persistence) and an exporter in front of each.
targets=()
for name in leaky bounded; do
  port=$(free_port)
  extra=()
  [[ $name == bounded ]] && extra=(--maxmemory 5mb --maxmemory-policy allkeys-lru)
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$tmp" \
    "${extra[@]}" >"$tmp/redis.$name.log" 2>&1 &
  pids+=($!)
  eval "redis_${name}=$port"
  eport=$(free_port)
  prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$port" \
    -web.listen-address "127.0.0.1:$eport" >"$tmp/exporter.$name.log" 2>&1 &
  pids+=($!)
  eval "exporter_${name}=$eport"
  targets+=("'127.0.0.1:$eport'")
done

# arenalab watch --metrics on a leaking and a bounded workload, started once Prometheus is up.
metrics_leak=$(free_port)
metrics_cache=$(free_port)
# A service leaking 8 MB/s that crashes every 12 s and is restarted (probe5's limit: read
# bounded); its own exporter serves process_start_time_seconds, RSS and its books.
restarting=$(free_port)

pport=$(free_port)
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
scrape_configs:
  - job_name: redis
    static_configs:
      - targets: [$(IFS=,; echo "${targets[*]}")]
  - job_name: arenalab
    static_configs:
      - targets: ['127.0.0.1:$metrics_leak', '127.0.0.1:$metrics_cache']
  - job_name: restarting
    static_configs:
      - targets: ['127.0.0.1:$restarting']
YML
prometheus --config.file="$tmp/prometheus.yml" --web.listen-address="127.0.0.1:$pport" \
  --storage.tsdb.path="$tmp/tsdb" --storage.tsdb.retention.time=1h >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
url=http://127.0.0.1:$pport
wait_http "$url/-/ready" 30 || skip "prometheus did not become ready on 127.0.0.1:$pport: $(tail -1 "$tmp/prometheus.log")"
wait_http "http://127.0.0.1:$exporter_leaky/metrics" 10 || fail "redis_exporter did not start"
start=$(date +%s)

# The workloads under arenalab watch for 30 s each, their figures served on /metrics. The cache
# fills over 10 s (its --smoke default, 2.5 s, is over before the first scrapes: Prometheus
# would see only its plateau, which is stable).
fillers=()
"$arenalab" watch -q --metrics "127.0.0.1:$metrics_leak" --out "$tmp/run.leak" -- \
  "$wl_leak" --smoke --duration 30 >"$tmp/watch.leak.txt" 2>&1 &
fillers+=($!)
pids+=($!)
"$arenalab" watch -q --metrics "127.0.0.1:$metrics_cache" --out "$tmp/run.cache" -- \
  "$wl_cache" --smoke --warmup 10 --duration 30 >"$tmp/watch.cache.txt" 2>&1 &
fillers+=($!)
pids+=($!)
# Fill both redis-servers at 256 KiB/s for 30 s: the bounded one reaches its 5 MiB after ~16 s (half the window: a plateau, not start-up)
# and evicts.
for name in leaky bounded; do
  eval "port=\$redis_${name}"
  python3 "$here/redis_fill.py" "$port" 30 262144 4096 &
  fillers+=($!)
  pids+=($!)
done
python3 "$here/restarting_service.py" "$restarting" 12 8000000 30 >"$tmp/restarting.log" 2>&1 &
fillers+=($!)
pids+=($!)
for f in "${fillers[@]}"; do
  wait "$f"
  rc=$?
  # watch exits 3 on the leak it sees; anything but 0 and 3 is a failure of its own.
  [[ $rc == 0 || $rc == 3 ]] || fail "process $f exited $rc: $(tail -n 3 "$tmp"/watch.*.txt)"
done
sleep 2  # the last scrapes
range=$(($(date +%s) - start + 2))s

out=$tmp/out
"$arenalab" classify --prometheus "$url" --preset redis --range "$range" --step 500ms \
  --out "$out" --json-out "$tmp/fleet.json" >"$tmp/classify.txt" 2>"$tmp/classify.err"
rc=$?
cat "$tmp/classify.txt"
[[ $rc == 3 ]] || fail "classify --preset redis: exit $rc, expected 3 (a leak): $(cat "$tmp/classify.err")"
python3 - "$tmp/fleet.json" "$exporter_leaky" "$exporter_bounded" "$out" <<'PY' || fail "verdicts"
import json, os, sys
doc = json.load(open(sys.argv[1]))
want = {"127.0.0.1:" + sys.argv[2]: "leak", "127.0.0.1:" + sys.argv[3]: "bounded"}
got = {s["fleet"]["labels"]["instance"]: s for s in doc["series"]}
assert doc["schema"] == "arenalab.fleet/1", doc["schema"]
assert set(got) == set(want), f"series {sorted(got)}, expected {sorted(want)}"
for inst, verdict in want.items():
    s = got[inst]
    assert s["verdict"] == verdict, f"{inst}: {s['verdict']} ({s['reason']}), expected {verdict}"
    assert s["schema"] == "arenalab.verdict/1"
    assert s["held_signal"] == "allocated" and s["rss_signal"] == "rss", s
    assert s["fleet"]["points"] >= 40, s["fleet"]
leak = got["127.0.0.1:" + sys.argv[2]]
# 256 KiB/s of values (plus redis' per-key overhead): 10-60 GiB a day.
rate = leak["fleet"]["rate_bytes_per_day"] / 2**30
assert 10 < rate < 60, f"leak rate {rate:.1f} GiB/day"
assert doc["series"][0]["verdict"] == "leak", "the leak is not the first row"
dirs = sorted(os.listdir(sys.argv[4]))
assert len(dirs) == 2, dirs
for d in dirs:
    v = json.load(open(os.path.join(sys.argv[4], d, "verdict.json")))
    assert v["schema"] == "arenalab.verdict/1" and v["verdict"] in ("leak", "bounded"), v
print(f"verdicts ok: leak at {rate:.1f} GiB/day, bounded")
PY
head -2 "$tmp/classify.txt" | tail -1 | grep -q "^{instance=\"127.0.0.1:$exporter_leaky\", job=\"redis\"} *leak " \
  || fail "the first row is not the leaking redis"
# --out where each series' directory name is a planted link to someone else's directory: the
# series' directories are made relative to --out's fd and never adopted through a link (one
# line, exit 1, nothing written in the victim's directory).
mkdir -m 700 "$tmp/planted" "$tmp/victim"
for d in $(ls "$out"); do
  for n in 01 02; do ln -s "$tmp/victim" "$tmp/planted/$n-${d#*-}"; done
done
"$arenalab" classify --prometheus "$url" --preset redis --range "$range" --step 500ms \
  --out "$tmp/planted" >/dev/null 2>"$tmp/planted.err"
rc=$?
[[ $rc == 1 && $(wc -l <"$tmp/planted.err") == 1 ]] \
  || fail "classify --out with planted links: exit $rc: $(cat "$tmp/planted.err")"
grep -q "is a symbolic link: refusing to write through it" "$tmp/planted.err" \
  || fail "classify --out with planted links: $(cat "$tmp/planted.err")"
[[ -z $(ls -A "$tmp/victim") ]] || fail "classify --out wrote through a planted link: $(ls -A "$tmp/victim")"

# arenalab's own exporter, read back: the leaking workload leak, the bounded one bounded.
"$arenalab" classify --prometheus "$url" --preset arenalab --range "$range" --step 500ms \
  --json-out "$tmp/arenalab.json" >"$tmp/classify.arenalab.txt" 2>"$tmp/classify.err"
rc=$?
cat "$tmp/classify.arenalab.txt"
[[ $rc == 3 ]] || fail "classify --preset arenalab: exit $rc, expected 3: $(cat "$tmp/classify.err")"
python3 - "$tmp/arenalab.json" <<'PY' || fail "arenalab verdicts"
import json, sys
doc = json.load(open(sys.argv[1]))
got = {s["fleet"]["labels"]["command"]: s for s in doc["series"]}
want = {"wl_leak": "leak", "wl_cache": "bounded"}
assert set(got) == set(want), f"series {sorted(got)}"
for cmd, verdict in want.items():
    s = got[cmd]
    assert s["verdict"] == verdict, f"{cmd}: {s['verdict']} ({s['reason']}), expected {verdict}"
    labels = s["fleet"]["labels"]
    assert labels["allocator"] == "glibc" and labels["pid"].isdigit() and labels["job"] == "arenalab", labels
    assert s["held_signal"] == "live_bytes" and s["rss_signal"] == "rss", s
    assert s["fleet"]["points"] >= 30, s["fleet"]
# wl_leak --smoke leaks 4 MiB/s: about 337 GiB a day.
rate = got["wl_leak"]["fleet"]["rate_bytes_per_day"] / 2**30
assert 250 < rate < 400, f"wl_leak at {rate:.0f} GiB/day"
print(f"arenalab verdicts ok: wl_leak leak at {rate:.0f} GiB/day, wl_cache bounded")
PY

# The restarting service: each 12 s life leaks, so the verdict is a leak that the restarts hide
# (process_start_time_seconds cuts the series into lives), never bounded.
"$arenalab" classify --prometheus "$url" --held 'app_heap_bytes{job="restarting"}' \
  --rss 'process_resident_memory_bytes{job="restarting"}' \
  --restarts 'process_start_time_seconds{job="restarting"}' --range "$range" --step 500ms \
  --json-out "$tmp/restarting.json" >"$tmp/classify.restarting.txt" 2>"$tmp/classify.err"
rc=$?
cat "$tmp/classify.restarting.txt"
[[ $rc == 3 ]] || fail "classify --restarts: exit $rc, expected 3 (a leak): $(cat "$tmp/classify.err")"
python3 - "$tmp/restarting.json" <<'PY' || fail "the restarting service's verdict"
import json, sys
doc = json.load(open(sys.argv[1]))
assert len(doc["series"]) == 1, doc
s = doc["series"][0]
assert s["verdict"] == "leak", f"{s['verdict']}: {s['reason']}"
assert "the restarts hide it" in s["reason"] and "every 12 s" in s["reason"], s["reason"]
# 8 MB/s in each life (the gauge counts what the service keeps).
rate = s["fleet"]["rate_bytes_per_day"] / 86400 / 1e6
assert 6 < rate < 10, f"{rate:.1f} MB/s"
print(f"restarting service ok: leak at {rate:.1f} MB/s per life: {s['reason'][:100]}")
PY
# Without the marker the same series is one sawtooth (what probe5 measured: bounded).
"$arenalab" classify --prometheus "$url" --held 'app_heap_bytes{job="restarting"}' \
  --rss 'process_resident_memory_bytes{job="restarting"}' --range "$range" --step 500ms \
  2>&1 | sed -n 2p | sed 's/^/without --restarts: /'

# --json: the same document on stdout, no table.
"$arenalab" classify --prometheus "$url" --preset redis --range "$range" --step 500ms --json \
  >"$tmp/stdout.json" 2>"$tmp/classify.err"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="arenalab.fleet/1" and len(d["series"])==2, d' \
  "$tmp/stdout.json" || fail "classify --json did not print the fleet document"

# RSS alone (the process preset's honest names): never retention, never leak.
"$arenalab" classify --prometheus "$url" --rss '{__name__=~"redis_memory_used_rss_bytes|arenalab_rss_bytes"}' --range "$range" \
  --step 500ms >"$tmp/rss.txt" 2>&1
rc=$?
cat "$tmp/rss.txt"
[[ $rc == 0 || $rc == 3 || $rc == 4 ]] || fail "RSS only: exit $rc"
"$arenalab" classify --prometheus "$url" --range "$range" --step 500ms --json \
  --rss '{__name__=~"redis_memory_used_rss_bytes|arenalab_rss_bytes"}' >"$tmp/rss.json" 2>&1
python3 - "$tmp/rss.json" <<'PY' || fail "RSS only named a cause"
import json, sys
doc = json.load(open(sys.argv[1]))
shown = [s["fleet"]["shown"] for s in doc["series"]]
assert len(shown) == 4 and all(s["fleet"]["rss_only"] for s in doc["series"]), doc
assert set(shown) <= {"growth", "plateau", "stable", "unresolved"}, shown
# wl_leak's RSS grows at 4 MiB/s: growth, whatever the machine's load.
leak = [s for s in doc["series"] if s["fleet"]["labels"].get("command") == "wl_leak"]
assert leak and leak[0]["fleet"]["shown"] == "growth", leak
PY

# Errors: one line, exit 1.
expect_error() {  # WHAT PATTERN ARGS...
  local what=$1 pattern=$2
  shift 2
  "$arenalab" classify "$@" >"$tmp/err.out" 2>"$tmp/err.txt"
  local rc=$?
  [[ $rc == 1 ]] || fail "$what: exit $rc, expected 1"
  [[ $(wc -l <"$tmp/err.txt") == 1 ]] || fail "$what: not one line: $(cat "$tmp/err.txt")"
  grep -q -- "$pattern" "$tmp/err.txt" || fail "$what: $(cat "$tmp/err.txt")"
}
dead=$(free_port)
expect_error "unreachable" "Couldn't connect" --prometheus "http://127.0.0.1:$dead" --preset redis
expect_error "not a URL" "not an http" --prometheus "127.0.0.1:$pport" --preset redis
expect_error "query error" "answered bad_data" --prometheus "$url" --held 'rate(' --range 1m
expect_error "empty result" "no series in the last 1m" --prometheus "$url" --held no_such_metric_bytes --range 1m
expect_error "not the API" "HTTP 404" --prometheus "$url/graph" --preset redis
# Every preset's PromQL (with a selector merged in) is valid: Prometheus answers no series for
# a job that is not there, never bad_data.
for p in redis jvm go process cadvisor arenalab; do
  expect_error "preset $p" "no series in the last 1m" --prometheus "$url" --preset "$p" \
    --selector '{job="nothing-here"}' --range 1m
done

# --metrics that cannot be served: one line, exit 1, before the target starts.
for bad in "127.0.0.1" "127.0.0.1:$pport"; do
  "$arenalab" watch -q --metrics "$bad" --out "$tmp/never" -- true >"$tmp/err.out" 2>"$tmp/err.txt"
  rc=$?
  [[ $rc == 1 && $(wc -l <"$tmp/err.txt") == 1 ]] || fail "--metrics $bad: exit $rc: $(cat "$tmp/err.txt")"
  grep -q -E "expected ADDR:PORT|cannot listen there" "$tmp/err.txt" || fail "--metrics $bad: $(cat "$tmp/err.txt")"
  [[ ! -e $tmp/never ]] || fail "--metrics $bad: the target ran"
done
echo "prometheus_test: all checks passed"
