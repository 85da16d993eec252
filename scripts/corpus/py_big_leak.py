# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a big level (LEVEL MiB of 1 MiB buffers, filled in the first second) that
# then leaks RATE KiB/s in 16 KiB buffers for SECONDS. usage: py_big_leak.py LEVEL RATE SECONDS
import sys, time

level, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
held = [bytearray(1 << 20) for _ in range(level)]
kept = []
t0 = time.time()
while (t := time.time() - t0) < seconds:
    while len(kept) * 16 < rate * t:  # KiB leaked so far
        kept.append(bytearray(16384))
    time.sleep(0.05)
