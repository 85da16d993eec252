#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A service that leaks and crashes, and the supervisor that restarts it (as systemd's
# Restart=always or a container runtime would). Each life holds RATE more bytes every second
# (real memory: bytearrays kept), serves the Prometheus client libraries' process metrics and
# its own books on 127.0.0.1:PORT/metrics, and exits 1 after LIFE seconds; the supervisor starts
# it again until DURATION seconds have passed, then (or on SIGTERM) stops the life it runs.
# Usage: restarting_service.py PORT LIFE_S RATE_BYTES_PER_S DURATION_S
import http.server
import os
import signal
import subprocess
import sys
import threading
import time


def serve(port, life_s, rate):
    start = time.time()
    held = []
    size = [0]

    def rss():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (
                "# TYPE process_start_time_seconds gauge\n"
                f"process_start_time_seconds {start:.3f}\n"
                "# TYPE process_resident_memory_bytes gauge\n"
                f"process_resident_memory_bytes {rss()}\n"
                "# TYPE app_heap_bytes gauge\n"
                f"app_heap_bytes {size[0]}\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chunk = max(1, int(rate / 20))
    while time.time() - start < life_s:
        held.append(bytearray(chunk))  # zero-filled by calloc: touch it so it is resident
        held[-1][::4096] = b"\1" * len(held[-1][::4096])
        size[0] += chunk
        time.sleep(0.05)
    os._exit(1)  # the crash


def supervise(port, life_s, rate, duration_s):
    end = time.time() + duration_s
    child = [None]

    def stop(*_):
        if child[0] is not None:
            child[0].kill()
            child[0].wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while time.time() < end:
        child[0] = subprocess.Popen([sys.executable, __file__, "serve", str(port), str(life_s),
                                     str(rate)])
        try:
            child[0].wait(timeout=max(0.0, end - time.time()))
        except subprocess.TimeoutExpired:  # the duration is up: the last life is stopped
            child[0].kill()
            child[0].wait()
        child[0] = None


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    else:
        supervise(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
