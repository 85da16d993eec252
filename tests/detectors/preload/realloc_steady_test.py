#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# realloc's accounting is one update: the interposer took a realloc'd block out of the live
# counters before calling the real realloc and put the result in after, so a sampler reading
# mid-copy saw one block (and its bytes) fewer than the program held. The probe grows one block
# by realloc (16 KiB steps up to 112 KiB, a guard block after it so that it moves) for 1.5 s in
# count mode while a second thread reads the live counters as fast as it can: the count of live
# blocks must never fall below the count before the loop (each new block is made before the one
# it replaces is freed: up by one or two, never down).
import subprocess
import sys

from support import parse_args


def main():
    args = parse_args("probe")
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", "count", "--out",
                        args.workdir + "/out", "--", args.probe, "realloc-steady", "1500"],
                       capture_output=True, text=True, timeout=100)
    if p.returncode != 0:
        print(f"FAIL: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return 1
    words = p.stdout.split()
    got = {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
    print(p.stdout.strip())
    if got.get("reads", 0) < 1000 or got.get("moved", 0) < 100:
        print(f"FAIL: too few reads or moves to test anything: {got}")
        return 1
    if got["min"] < got["base"]:
        print(f"FAIL: the live count fell to {got['min']} below the {got['base']} blocks the "
              f"program held throughout (a realloc seen mid-copy)")
        return 1
    if got["max"] > got["base"] + 2:
        print(f"FAIL: the live count rose to {got['max']}, more than the two new blocks above "
              f"{got['base']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
