#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 9: a long command line never cuts the timeline's header line. A 16,000-character
# argument of control characters (96,000 bytes escaped) cut the header at its 64 KiB buffer with
# no newline, the first sample joined it, and the run read as "not verified, 0 samples, target
# bypassed the interposer". The header must stay one JSON line with its sample after it.
import json
import os
import subprocess
import sys

from support import parse_args, report


def main():
    args = parse_args("survivor")
    failures = []
    for mode in ("stats", "count"):
        out = os.path.join(args.workdir, mode)
        arg = "\x01" * 16000
        p = subprocess.run([args.arenalab, "run", "-q", "--mode", mode, "--out", out, "--",
                            args.survivor, "exit", arg], capture_output=True, timeout=120)
        if p.returncode != 3:  # the survivor's "exit" scenario exits 3
            failures.append(f"{mode}: exit {p.returncode}: {p.stderr[-300:]!r}")
        try:
            with open(os.path.join(out, "timeline.jsonl"), "rb") as f:
                lines = f.read().split(b"\n")
            header = json.loads(lines[0])
            if not header["allocator"].get("verified"):
                failures.append(f"{mode}: header not verified: {header['allocator']}")
            samples = [json.loads(line) for line in lines[1:] if line]
            if not samples or "t_ms" not in samples[0]:
                failures.append(f"{mode}: no sample after the header")
            command = header.get("command", [])
            if not command or not arg.startswith(command[-1]) or len(command[-1]) == 0:
                failures.append(f"{mode}: the argument is not kept as a prefix: {command[:1]}")
            with open(os.path.join(out, "run.json")) as f:
                warnings = json.load(f).get("warnings", [])
            if any("bypassed" in w for w in warnings):
                failures.append(f"{mode}: {warnings}")
            if not any(w.startswith("timeline header: the command line was cut") for w in warnings):
                failures.append(f"{mode}: the cut is not noted: {warnings}")
        except (OSError, ValueError, KeyError, IndexError) as e:
            failures.append(f"{mode}: {e}")
    return report(failures,
                  "a 96 KB escaped argument: header cut within its fields, one line, samples "
                  "after it")


if __name__ == "__main__":
    sys.exit(main())
