#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Fills a redis-server at a steady rate for the fleet integration test: SET of fresh keys with
# BYTES-sized values, RATE bytes per second, for SECONDS. Speaks RESP over a socket (no client
# library needed). Usage: redis_fill.py PORT SECONDS RATE BYTES
import socket
import sys
import time

port, seconds, rate, size = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
value = b"x" * size
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < seconds:
    key = b"fill:%d" % i
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
    reply = s.recv(64)
    if not reply.startswith(b"+OK"):
        sys.exit("redis_fill: unexpected reply %r" % reply)
    i += 1
    # Pace to RATE bytes/s: key i is due at i * size / rate seconds.
    due = t0 + i * size / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
