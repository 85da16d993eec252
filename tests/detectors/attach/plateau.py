# SPDX-License-Identifier: Apache-2.0
# A python3 service that warms a cache: its dict grows for its first 3 s (2000 entries of
# ~200 B every 50 ms), then holds.
import time

d = {}
i = 0
t0 = time.time()
while True:
    if time.time() - t0 < 3.0:
        for _ in range(2000):
            d[i] = "x" * 200
            i += 1
    time.sleep(0.05)
