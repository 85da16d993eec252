#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Sample mode's realloc (issue 25): its fast path forwards a block the filter does not know while
# the countdown stays above 0, and samples the result once it runs out; a sampled block that is
# grown leaves the table and its new place may enter it. The probe leaks 100,000 blocks of 64
# bytes made by realloc(NULL) and grown by realloc, beside as many blocks made, grown and freed
# by realloc, at --sample-bytes 32 (most calls sample): the estimate must find the leak within
# 10 %, and the freed ones must not count.
import sys

from support import parse_args, sample_run

COUNT, SIZE = 100_000, 64
TOLERANCE = 0.10


def main():
    args = parse_args("probe")
    got = sample_run(args, "realloc-leak", str(COUNT), str(SIZE))
    if got is None:
        return 1
    last, warnings = got
    truth = COUNT * SIZE
    estimate = last.get("sampled_live_bytes")
    if estimate is None:
        print("FAIL: the final sample has no sampled_live_bytes")
        return 1
    error = abs(estimate - truth) / truth
    print(f"leaked {truth} B through realloc, sampled_live_bytes {estimate} ({error:.1%} off); "
          f"warnings {warnings}")
    if error > TOLERANCE:
        print(f"FAIL: the estimate is {error:.1%} off the truth")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
