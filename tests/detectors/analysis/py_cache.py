# SPDX-License-Identifier: Apache-2.0
# A Python program with a bounded cache: a dict filled to 512 entries of 64 KiB (32 MiB) in
# about a second, then the oldest entry evicted for every insert.
import sys, time

cache = {}
t0 = time.time()
duration = float(sys.argv[1]) if len(sys.argv) > 1 else 10
key = 0
while time.time() - t0 < duration:
    for _ in range(5):
        cache[key] = b"%d" % key * (64 * 1024 // 8)
        key += 1
        if len(cache) > 512:
            del cache[next(iter(cache))]
    time.sleep(0.01)
