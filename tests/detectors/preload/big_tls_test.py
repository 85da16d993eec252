#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A program with 1 MiB of static TLS: glibc puts the executable's __thread data in every
# thread's stack and refuses a stack too small to hold it (EINVAL). The sampler thread asked for
# 256 KiB and never started: such a program's timeline held its first and final samples only
# (c_patterns with a 512 KiB __thread array: 3 samples in 30 s, verdict "too few samples").
# Now the helper thread's stack grows until it holds the TLS, and a 2 s run at 50 ms has its
# samples; a thread that cannot start at all is named in run.json's warnings.
import json
import os
import subprocess
import sys

from support import parse_args, report


def main():
    args = parse_args("probe")
    failures = []
    out = os.path.join(args.workdir, "out")
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", "count", "--interval", "50",
                        "--out", out, "--", args.probe, "2"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        failures.append(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    else:
        with open(os.path.join(out, "timeline.jsonl")) as f:
            samples = sum(1 for line in f if '"t_ms"' in line)
        # 2 s at 50 ms is 40 ticks; a loaded machine may lose some, never 30 of them.
        if samples < 10:
            failures.append(f"{samples} samples in a 2 s run at 50 ms (the sampler thread did not run)")
    return report(failures, "a program with 1 MiB of static TLS is sampled every interval")


if __name__ == "__main__":
    sys.exit(main())
