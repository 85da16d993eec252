# SPDX-License-Identifier: Apache-2.0
# A Python program that leaks: a module-level list of bytes objects that only grows.
import sys, time

hold = []
t0 = time.time()
duration = float(sys.argv[1]) if len(sys.argv) > 1 else 10
while time.time() - t0 < duration:
    hold.append(b"x" * (64 * 1024))  # 64 KiB every 10 ms: about 6 MiB/s
    time.sleep(0.01)
