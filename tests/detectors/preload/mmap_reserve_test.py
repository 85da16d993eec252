#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 7: mmap_bytes counts accessible mappings only. A PROT_NONE reservation (the
# JVM reserves its maximum heap so: 8.0 GB of mmap_bytes under a 75 MB RSS) is reported apart
# as mmap_reserved_bytes until mprotect or mmap MAP_FIXED makes part of it accessible. The
# probe reserves 1 GiB and commits 16 MiB: before the fix mmap_bytes read 1 GiB.
import json
import os
import subprocess
import sys

from support import parse_args, report

MIB = 1024 * 1024
# The probe's steps and the exact accessible bytes after each (accounting_probe.c).
EXPECTED = {"reserved": 0, "committed": 16 * MIB, "fixed": 24 * MIB, "uncommitted": 20 * MIB,
            "unmapped": 0}


def main():
    args = parse_args("probe")
    failures = []
    for mode in ("count", "sample", "full"):
        out = os.path.join(args.workdir, mode)
        p = subprocess.run([args.arenalab, "run", "-q", "--mode", mode, "--interval", "50",
                            "--out", out, "--", args.probe, "reserve"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            failures.append(f"{mode}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
            continue
        steps = dict(line.split() for line in p.stdout.splitlines())
        for name, want in EXPECTED.items():
            if int(steps.get(name, -1)) != want:
                failures.append(f"{mode}: after '{name}' the exact mmap counter is "
                                f"{steps.get(name)}, want {want}")
        with open(os.path.join(out, "timeline.jsonl")) as f:
            samples = [json.loads(line) for line in f][1:]
        held = [s for s in samples if s.get("mmap_bytes") == 16 * MIB]
        if not held:
            failures.append(f"{mode}: no sample with mmap_bytes = 16 MiB: "
                            f"{[s.get('mmap_bytes') for s in samples]}")
        elif any(s.get("mmap_reserved_bytes") != 1008 * MIB for s in held):
            failures.append(f"{mode}: mmap_reserved_bytes with 16 MiB committed: "
                            f"{[s.get('mmap_reserved_bytes') for s in held]}, want 1008 MiB")
        if any(s.get("mmap_bytes", 0) >= 1024 * MIB for s in samples):
            failures.append(f"{mode}: the reservation was counted in mmap_bytes")
        last = samples[-1] if samples else {}
        if last.get("mmap_bytes") != 0 or last.get("mmap_reserved_bytes") != 0:
            failures.append(f"{mode}: after munmap: {last}")
    return report(failures,
                  "count, sample, full: mmap_bytes counts the 16 MiB committed of a 1 GiB "
                  "reservation")


if __name__ == "__main__":
    sys.exit(main())
