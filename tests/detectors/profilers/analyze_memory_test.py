#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# arenalab analyze streams the full log: its memory follows the live blocks and the stacks,
# never the number of events (it once kept every allocation and free, 32 bytes each, to sort
# them: 2.0 GiB of a 2.1 GiB peak on a real log).
#
# Two generated logs (ARENALAB-FULL/2, the fixed-width records; zstd-compressed when the zstd
# program is there) of two "threads" whose buffers reach the file out of order, thread 1's
# buffer before thread 0's of the same times, as the interposer's may:
#   thread 0: pair i allocates 1 KiB at 0x10000 (stack 0) at 100 i ns, frees it 50 ns later;
#   thread 1: pair i allocates 2 KiB at 0x20000 (stack 1) at 100 i + 10 ns, frees it at +60 ns
#   (stack 1's 'S' record last in the file, after its uses).
# In time order both blocks are live from 100 i + 10 to 100 i + 50: the peak is 3.0 KiB, 1 KiB
# of stack 0 and 2 KiB of stack 1 (file order would give 2.0 KiB); every block is freed within
# 10 ms: all temporary; at the end nothing is live.
# Checks, for N and 4 N pairs a thread:
#  1. the exact figures above (allocations, frees, temporaries, the peak and its two sites);
#  2. memory: the 3 x 2 x 2 N more events of the larger log may cost at most a quarter of what
#     holding them would (32 bytes each): peak RSS (wait4's ru_maxrss) of analyze on the larger
#     log minus that on the smaller one below 3 x 4 N x 32 / 4 bytes. Holding the events fails it
#     by a factor of four at least (the vector's doubling only adds); a stream costs the same for
#     both.
# The logs are written by a child of this script (`--write PATH PAIRS`): a program's ru_maxrss
# counts the memory of the process it was started from (Linux carries the high-water mark
# across exec), so this one stays small.
# Usage: analyze_memory_test.py ARENALAB
import os
import shutil
import struct
import subprocess
import sys
import tempfile

BUFFER = 2048  # pairs per thread buffer (4096 events)


def write_log(path, pairs):
    a = struct.Struct("<cQQQI")  # 'A' ns ptr size stack
    f = struct.Struct("<cQQ")  # 'F' ns ptr
    out = bytearray(b"ARENALAB-FULL/2\n")
    out += b"S" + struct.pack("<II", 0, 1) + struct.pack("<Q", 0x1000)
    base = 10**9
    for start in range(0, pairs, BUFFER):
        end = min(pairs, start + BUFFER)
        for t, (ptr, size, off) in ((1, (0x20000, 2048, 10)), (0, (0x10000, 1024, 0))):
            chunk = bytearray((a.size + f.size) * (end - start))
            k = 0
            for i in range(start, end):
                ns = base + 100 * i + off
                a.pack_into(chunk, k, b"A", ns, ptr, size, t)
                f.pack_into(chunk, k + a.size, b"F", ns + 50, ptr)
                k += a.size + f.size
            out += chunk
    out += b"S" + struct.pack("<II", 1, 1) + struct.pack("<Q", 0x2000)
    zstd = shutil.which("zstd")
    if zstd:
        subprocess.run([zstd, "-q", "-1", "-o", path], input=bytes(out), check=True)
    else:
        with open(path, "wb") as fh:
            fh.write(out)


def analyze(d):
    proc = subprocess.Popen([arenalab, "analyze", d], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    text = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, text, usage.ru_maxrss * 1024


if sys.argv[1] == "--write":
    write_log(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)
arenalab = sys.argv[1]
fail = 0
work = tempfile.mkdtemp()
try:
    n = 250000
    rss = {}
    for pairs in (n, 4 * n):
        d = os.path.join(work, f"log{pairs}")
        os.mkdir(d, 0o700)
        subprocess.run([sys.executable, __file__, "--write", os.path.join(d, "allocs.bin"),
                        str(pairs)], check=True)
        rc, text, rss[pairs] = analyze(d)
        print(f"{4 * pairs} events: exit {rc}, peak RSS {rss[pairs] / 2**20:.1f} MiB")
        lines = text.splitlines()
        want = [
            f"({2 * pairs} allocations, {2 * pairs} frees;",
            "live at the peak (3.0 KiB at 0.0 s):",
            f"temporary allocations (freed within 10 ms; {2 * pairs} of {2 * pairs}):",
        ]
        for w in want:
            if not any(w in l for l in lines):
                print(f"FAIL: no line with '{w}' in analyze's output:\n{text}")
                fail = 1
        peak = text.split("live at the peak", 1)[-1].split("\n\n", 1)[0].splitlines()[1:]
        rows = sorted(l.split()[0] + " " + l.split()[1] for l in peak)
        if rc != 0 or rows != ["1.0 KiB", "2.0 KiB"]:
            print(f"FAIL: exit {rc}, the peak's rows {rows}, expected 1.0 KiB and 2.0 KiB")
            fail = 1
    extra_events = 3 * 4 * n  # two threads, two events a pair
    bound = extra_events * 32 // 4
    grew = rss[4 * n] - rss[n]
    print(f"peak RSS grew {grew / 2**20:.1f} MiB for {extra_events} more events "
          f"(bound {bound / 2**20:.1f} MiB: a quarter of holding them)")
    if grew >= bound:
        print("FAIL: analyze's memory grows with the events of the log")
        fail = 1
finally:
    shutil.rmtree(work)
sys.exit(fail)
