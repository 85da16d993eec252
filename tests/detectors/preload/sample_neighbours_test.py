#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Sample mode's free looks a block up only when the filter's bit for its 1 KiB granule is set,
# and a granule's bit is cleared only when no sampled block maps to it any more (sample.cc: the
# per-granule counts behind the bits). The probe makes 60,000 blocks of 16 bytes in a row
# (dozens start in each granule), frees two in three, last first, and leaves the third live. At
# --sample-bytes 1 every block is sampled and its weight is its size, so the estimate must be
# the live bytes to within 1 % (the C library's own blocks are sampled too): a bit cleared while
# a neighbour is still sampled sends that neighbour's free past the table, and the estimate far
# above (clearing the bit at every sampled free read 2.9x).
import sys

from support import parse_args, sample_run

COUNT, SIZE = 60_000, 16
TOLERANCE = 0.01


def main():
    args = parse_args("probe")
    got = sample_run(args, "neighbours", str(COUNT), str(SIZE), sample_bytes="1")
    if got is None:
        return 1
    last, warnings = got
    truth = (COUNT + 2) // 3 * SIZE
    estimate = last.get("sampled_live_bytes")
    if estimate is None:
        print("FAIL: the final sample has no sampled_live_bytes")
        return 1
    error = abs(estimate - truth) / truth
    print(f"{truth} B left live, sampled_live_bytes {estimate} ({error:.3%} off); "
          f"warnings {warnings}")
    if error > TOLERANCE:
        print(f"FAIL: the estimate is {error:.3%} off the live bytes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
