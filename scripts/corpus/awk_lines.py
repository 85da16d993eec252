# SPDX-License-Identifier: Apache-2.0
# Lines for awk_assoc.awk: RATE lines a second ("k<n>" and ~200 bytes of payload) for SECONDS,
# paced every 100 ms, flushed; then stdout closes and awk ends. usage: awk_lines.py RATE SECONDS
import sys, time

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
t0, n, pad = time.time(), 0, "x" * 200
while (t := time.time() - t0) < seconds:
    out = []
    while n < rate * t:
        n += 1
        out.append(f"k{n} {n} {pad}\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    time.sleep(0.1)
