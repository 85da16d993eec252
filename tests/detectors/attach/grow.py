# SPDX-License-Identifier: Apache-2.0
# A python3 service whose dict grows without bound: 2000 entries of ~200 B every 50 ms.
# --print: one numbered line per tick (stats_test.py checks them for gaps after an attach).
import sys
import time

show = "--print" in sys.argv[1:]
d = {}
i = 0
tick = 0
while True:
    for _ in range(2000):
        d[i] = "x" * 200
        i += 1
    if show:
        print(tick, flush=True)
    tick += 1
    time.sleep(0.05)
