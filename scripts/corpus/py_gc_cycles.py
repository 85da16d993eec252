# SPDX-License-Identifier: Apache-2.0
# Reference cycles (about 4 MB a second: pairs holding 1000-byte bytearrays) with the
# collector disabled, gathered by an explicit gc.collect() every PERIOD seconds: a sawtooth
# whose truth is bounded. usage: py_gc_cycles.py SECONDS PERIOD
import gc, sys, time
# reference cycles made at RATE per second, collected by an explicit gc.collect every PERIOD s
secs, period = float(sys.argv[1]), float(sys.argv[2])
gc.disable()
end = time.time() + secs; nxt = time.time() + period
class Node:
    __slots__ = ("other", "pad")
while time.time() < end:
    for _ in range(2000):
        a = Node(); b = Node(); a.other = b; b.other = a; a.pad = bytearray(1000); b.pad = None
    if time.time() >= nxt:
        gc.collect(); nxt += period
    time.sleep(0.05)
print("pygc done")
