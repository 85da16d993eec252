#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# wl_redis: redis-server (Debian's, preloaded with the configuration's allocator) driven by
# redis-benchmark over loopback (127.0.0.1 only), a bounded number of requests and a bounded
# time. Reports the server's peak RSS (VmHWM), its RSS after FLUSHALL freed the data, and
# requests/s over all benchmark tests.
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import real_driver as rd  # noqa: E402

FLAGS = {
    "requests": (200000, 4000, "requests per benchmark test"),
    "clients": (50, 10, "parallel client connections"),
    "data-size": (256, 256, "value size of SET/GET, bytes"),
    "keyspace": (100000, 20000, "distinct keys (-r)"),
    "time-limit": (120, 30, "seconds before the benchmark is stopped"),
}
TESTS = "set,get,incr,lpush,rpop,sadd,hset,lrange_100"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(port, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                          env=rd.client_env(), capture_output=True, text=True, timeout=30)


def main():
    v, smoke, json_out = rd.parse_flags(sys.argv, "redis", "redis-server under the configuration, "
                                        "driven by redis-benchmark on 127.0.0.1", FLAGS)
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            print("wl_redis: %s not found (apt-get install redis)" % tool, file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="wl_redis.")
    server = None
    checks, m = [], {}
    try:
        port = free_port()
        exe = shutil.which("redis-server")
        server = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", work, "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
            env=rd.target_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=rd.die_with_parent)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if server.poll() is not None:
                print("wl_redis: redis-server exited at start: %s" % server.stderr.read().decode()[-300:],
                      file=sys.stderr)
                return 1
            if cli(port, "ping").stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        else:
            print("wl_redis: redis-server did not answer on 127.0.0.1:%d" % port, file=sys.stderr)
            return 1
        t0 = time.monotonic()
        bench = subprocess.run(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(v["requests"]),
             "-c", str(v["clients"]), "-d", str(v["data-size"]), "-r", str(v["keyspace"]),
             "-t", TESTS, "--csv"],
            env=rd.client_env(), capture_output=True, text=True, timeout=v["time-limit"])
        elapsed = time.monotonic() - t0
        tests = []
        for line in bench.stdout.splitlines():
            cols = [c.strip('"') for c in line.split(",")]
            if len(cols) >= 2 and cols[0] != "test":
                try:
                    tests.append((cols[0], float(cols[1])))
                except ValueError:
                    pass
        checks.append({"name": "benchmark_ran", "pass": bench.returncode == 0 and len(tests) >= 8,
                       "detail": "redis-benchmark exit %d, %d tests reported" % (bench.returncode, len(tests))})
        # Requests over the time the server spent serving them: N per test / sum of N / rps_i.
        if tests:
            busy = sum(v["requests"] / rps for _, rps in tests if rps > 0)
            m["throughput"] = {"value": v["requests"] * len(tests) / busy, "unit": "requests/s"}
            m["tests"] = {name: rps for name, rps in tests}
        m["benchmark_ms"] = elapsed * 1000
        m["peak_rss_bytes"] = rd.status_kb(server.pid, "VmHWM")
        m["rss_loaded_bytes"] = rd.status_kb(server.pid, "VmRSS")
        info = cli(port, "info", "memory").stdout
        for line in info.splitlines():
            if line.startswith("mem_allocator:"):
                m["mem_allocator"] = line.split(":", 1)[1].strip()
        # The workload's frees: FLUSHALL drops every key; RSS a moment later is after-free.
        flushed = cli(port, "flushall", "sync").stdout.strip() == "OK"
        time.sleep(0.2)
        m["rss_after_free_bytes"] = rd.status_kb(server.pid, "VmRSS")
        checks.append({"name": "flushall", "pass": flushed, "detail": "FLUSHALL answered OK" if flushed else "FLUSHALL failed"})
        cli(port, "shutdown", "nosave")
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        allocator = rd.identify(work, server.pid, exe)
        m = {k: x for k, x in m.items() if x is not None}
        rows = [("requests/s", "%.0f" % m.get("throughput", {}).get("value", 0)),
                ("server peak RSS", "%.1f MiB" % (m.get("peak_rss_bytes", 0) / 2**20)),
                ("RSS after FLUSHALL", "%.1f MiB" % (m.get("rss_after_free_bytes", 0) / 2**20)),
                ("redis mem_allocator", m.get("mem_allocator", "?"))]
        params = dict(v, smoke=smoke, tests=TESTS)
        return rd.finish("redis", allocator, params, m, checks, json_out, rows)
    except subprocess.TimeoutExpired as e:
        print("wl_redis: %s exceeded its time limit" % e.cmd[0], file=sys.stderr)
        return 1
    finally:
        if server and server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
