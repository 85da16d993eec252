# SPDX-License-Identifier: Apache-2.0
# A python3 service whose dict grows without bound: 2000 entries of ~200 B every 50 ms.
import time

d = {}
i = 0
while True:
    for _ in range(2000):
        d[i] = "x" * 200
        i += 1
    time.sleep(0.05)
