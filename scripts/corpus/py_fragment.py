# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a fragmentation plateau. Fills about MB MiB with BLOCK-byte bytearrays (malloc'd:
# above pymalloc's 512-byte limit) in the first seconds, frees all but one in KEEP at 30 % of the
# run, then holds the survivors until SECONDS. With KEEP x BLOCK under a page, every page keeps a
# survivor: no purge can return one. usage: py_fragment.py MB KEEP SECONDS [BLOCK (600)]
import sys, time

mb, keep, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
block = int(sys.argv[4]) if len(sys.argv) > 4 else 600
t0 = time.time()
blocks = [bytearray(block) for _ in range(mb * 1024 * 1024 // block)]
time.sleep(max(0.0, t0 + 0.3 * seconds - time.time()))
blocks = [b for i, b in enumerate(blocks) if i % keep == 0]
while time.time() - t0 < seconds:
    sum(len(b) for b in blocks[::64])  # a few reads of the survivors
    time.sleep(0.1)
