# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: the program's own pool of anonymous mappings, a ring of SLOTS x 1 MiB that it
# recycles oldest-first after the ring fills (about 1/3 of the run); LEAK=1 never unmaps.
# usage: py_mmap_ring.py SLOTS SECONDS LEAK
import mmap, sys, time

slots, seconds, leak = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1"
ring = []
t0 = time.time()
step = seconds / 3 / slots
while time.time() - t0 < seconds:
    m = mmap.mmap(-1, 1 << 20)
    m.write(b"x" * (1 << 20))  # touch it: resident
    ring.append(m)
    if len(ring) > slots and not leak:
        ring.pop(0).close()
    time.sleep(step)
