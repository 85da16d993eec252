# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a cache of 64 KiB entries whose size follows a known shape toward BOUND MiB
# over SECONDS, optionally with a leak of LEAK KiB/s (16 KiB buffers never freed) underneath:
#   logistic   BOUND / (1 + exp(-(t - T/3) / (T/20)))   (within 1 % of BOUND after 0.6 T)
#   steps      BOUND in 4 equal steps at 0, T/8, T/4, 3T/8 (then flat)
#   exp        BOUND * (1 - exp(-t / (T/10)))
#   warm       BOUND reached linearly in T/5, then entries replaced (churn), flat
# usage: py_shape.py SHAPE BOUND SECONDS [LEAK]
import math, sys, time

shape, bound, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
leak = int(sys.argv[4]) if len(sys.argv) > 4 else 0
T = seconds
entries = bound * 16


def target(t):
    if shape == "logistic":
        return entries / (1 + math.exp(-(t - T / 3) / (T / 20)))
    if shape == "steps":
        return entries * min(4, 1 + int(t / (T / 8))) / 4
    if shape == "exp":
        return entries * (1 - math.exp(-t / (T / 10)))
    return entries * min(1.0, t / (T / 5))  # warm


cache, kept, i = [], [], 0
t0 = time.time()
while (t := time.time() - t0) < seconds:
    want = int(target(t))
    while len(cache) < want:
        cache.append(bytearray(65536))
    if shape == "warm" and len(cache) >= entries:
        for _ in range(20):  # churn: replace entries, the size stays
            cache[i % entries] = bytearray(65536)
            i += 1
    while len(kept) * 16 < leak * t:
        kept.append(bytearray(16384))
    time.sleep(0.05)
