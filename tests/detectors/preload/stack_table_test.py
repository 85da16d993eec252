#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The stack table holds 65,536 distinct call stacks (cc1plus uses 37,554). Past it the run goes
# on and says what it lost: the probe allocates from 2^17 distinct stacks. Full mode logs the
# allocations past the table without their stack and run.json says how many (about 2^17 less
# the table's size); sample mode (--sample-bytes 16: most allocations sampled) drops those
# samples and says so. A run of 2^10 stacks says neither.
import json
import os
import re
import subprocess
import sys

from support import parse_args, report

TABLE = 65536


def run(args, name, mode, levels, extra=()):
    out = os.path.join(args.workdir, name)
    p = subprocess.run([args.arenalab, "run", "-q", "--mode", mode, *extra, "--out", out, "--",
                        args.probe, "stacks", str(levels)],
                       capture_output=True, text=True, timeout=600)
    warnings = []
    if os.path.exists(os.path.join(out, "run.json")):
        with open(os.path.join(out, "run.json")) as f:
            warnings = json.load(f).get("warnings", [])
    return p, warnings


def main():
    args = parse_args("probe")
    failures = []
    paths = 1 << 17
    p, w = run(args, "full", "full", 17)
    unstacked = [x for x in w if x.startswith("full log: ") and "without their call stack" in x]
    print(f"full, {paths} stacks: exit {p.returncode}, {p.stdout.strip()!r}, warnings {w}")
    if p.returncode != 0 or p.stdout.strip() != f"stacks {paths}":
        failures.append(f"full mode: the probe did not finish (exit {p.returncode}): "
                        f"{p.stderr.strip()[-300:]}")
    if len(unstacked) != 1:
        failures.append("full mode: run.json does not say allocations were logged without stack")
    else:
        n = int(re.search(r"full log: (\d+) ", unstacked[0]).group(1))
        # At least the paths past the table (the program's start-up used some of it too).
        if not paths - TABLE <= n <= paths:
            failures.append(f"full mode: {n} allocations without stack, expected "
                            f"{paths - TABLE}..{paths}")
    p, w = run(args, "sample", "sample", 17, ["--sample-bytes", "16"])
    dropped = [x for x in w if x.startswith("sample mode: ") and "dropped" in x]
    print(f"sample, {paths} stacks: exit {p.returncode}, warnings {w}")
    if p.returncode != 0 or p.stdout.strip() != f"stacks {paths}":
        failures.append(f"sample mode: the probe did not finish (exit {p.returncode})")
    if len(dropped) != 1:
        failures.append("sample mode: run.json does not say samples were dropped")
    p, w = run(args, "few", "full", 10)
    print(f"full, 1024 stacks: exit {p.returncode}, warnings {w}")
    if p.returncode != 0 or any("without their call stack" in x for x in w):
        failures.append(f"full mode, 1024 stacks: exit {p.returncode}, warnings {w}")
    return report(failures, "the stack table's limit is said, never a crash")


if __name__ == "__main__":
    sys.exit(main())
