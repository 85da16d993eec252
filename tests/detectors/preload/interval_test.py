#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 12, the interposer's part: the interval reaches the interposer as the runner
# formats it (an ostream writes 1000000 as "1e+06"); the interposer read only plain decimals,
# fell back to 100 ms and sampled ten thousand times too often while run.json said 1,000,000.
# The timeline header states the interval the sampler uses.
import json
import os
import subprocess
import sys

from support import parse_args, report


def main():
    args = parse_args("survivor")
    failures = []
    for interval, want in (("1000000", 1000000), ("2000000", 2000000), ("2.5", 2.5), ("250", 250)):
        out = os.path.join(args.workdir, interval)
        p = subprocess.run([args.arenalab, "run", "-q", "--mode", "count", "--interval", interval,
                            "--out", out, "--", args.survivor, "exit"],
                           capture_output=True, text=True, timeout=120)
        try:
            with open(os.path.join(out, "timeline.jsonl")) as f:
                got = json.loads(f.readline())["interval_ms"]
            if got != want:
                failures.append(f"--interval {interval}: the interposer samples every {got} ms")
        except (OSError, ValueError, KeyError) as e:
            failures.append(f"--interval {interval}: {e} (exit {p.returncode})")
    return report(failures, "intervals reach the interposer as given, exponent notation included")


if __name__ == "__main__":
    sys.exit(main())
