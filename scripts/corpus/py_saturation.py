# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a cache whose size approaches BOUND MiB exponentially with time constant TAU
# seconds (64 KiB entries), for SECONDS. usage: py_saturation.py BOUND TAU SECONDS
import math, sys, time

bound, tau, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
cache = []
t0 = time.time()
while (t := time.time() - t0) < seconds:
    want = int(bound * 16 * (1 - math.exp(-t / tau)))  # entries of 64 KiB
    while len(cache) < want:
        cache.append(bytearray(65536))
    time.sleep(0.05)
