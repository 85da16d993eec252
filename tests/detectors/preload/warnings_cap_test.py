#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# preload-warnings.txt is bounded (issue 21 hardening): 16 threads x 100 dlopen(RTLD_DEEPBIND)
# calls warn 1,600 times (~620 KB of lines). Under --max-output 64K the file keeps to its share
# (1/8 of the cap, plus the room of the once-only status lines), says where it was cut, and its
# last line gives the number dropped, which with the lines written makes the 1,600; the target's
# output and status are those of a bare run. Under --max-output 4K the warnings' bytes alone
# reach the cap (the timeline stays far below it), so the cap is noted: they count against it.
import json
import os
import re
import subprocess
import sys

from support import parse_args, report

THREADS, CALLS = 16, 100  # survivor.cc scenario_warn_threads
STATUS_ROOM = 4096  # timeline_writer.cc kWarnStatusRoom


def share(cap):
    return max(cap // 8, 4096)  # timeline_writer.cc kWarnShareDiv, kWarnMinShare
DROPPED = re.compile(r"preload warnings dropped: (\d+) warnings past this process's share")


def main():
    args = parse_args("survivor")
    target = [args.survivor, "warn_threads"]
    bare = subprocess.run(target, capture_output=True, timeout=120)
    failures = []
    for mode, cap in (("count", 64 * 1024), ("sample", 64 * 1024), ("count", 4096)):
        tag = f"{mode} --max-output {cap}"
        out = os.path.join(args.workdir, f"{mode}-{cap}")
        cmd = [args.arenalab, "run", "--mode", mode, "--max-output", str(cap), "--out", out]
        if mode == "sample":
            cmd += ["--heap-dump-every", "1", "--interval", "5"]
        p = subprocess.run(cmd + ["--", *target], capture_output=True, timeout=240)
        if p.returncode != bare.returncode or p.stdout != bare.stdout:
            failures.append(f"{tag}: exit {p.returncode} stdout {p.stdout[-200:]!r}, bare exit "
                            f"{bare.returncode} stdout {bare.stdout[-200:]!r}")
        try:
            path = os.path.join(out, "preload-warnings.txt")
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                lines = f.read().decode().splitlines()
            with open(os.path.join(out, "run.json")) as f:
                warnings = json.load(f).get("warnings", [])
            timeline = os.path.getsize(os.path.join(out, "timeline.jsonl"))
        except (OSError, ValueError) as e:
            failures.append(f"{tag}: {e}")
            continue
        written = sum(1 for x in lines if x.startswith("target bypassed the interposer: dlopen("))
        m = DROPPED.match(lines[-1]) if lines else None
        dropped = int(m.group(1)) if m else None
        print(f"{tag}: preload-warnings.txt {size} bytes, {len(lines)} lines, {written} warnings "
              f"written, {dropped} dropped; timeline {timeline} bytes")
        if size > share(cap) + STATUS_ROOM:
            failures.append(f"{tag}: {size} bytes of warnings, past {share(cap)} + {STATUS_ROOM}")
        if written == 0:
            failures.append(f"{tag}: no warning written at all")
        if dropped is None:
            failures.append(f"{tag}: the last line does not give the number dropped: "
                            f"{lines[-1:]!r}")
        elif written + dropped != THREADS * CALLS:
            failures.append(f"{tag}: {written} written + {dropped} dropped != {THREADS * CALLS}")
        cut = [w for w in warnings if w.startswith("preload warnings cut: their share of "
                                                   f"{share(cap)} bytes")]
        if len(cut) != 1:
            failures.append(f"{tag}: run.json should say once where the warnings were cut: "
                            f"{[w for w in warnings if w.startswith('preload warnings')]}")
        if not any(DROPPED.match(w) for w in warnings):
            failures.append(f"{tag}: run.json's warnings lack the number dropped")
        capped = any(w.startswith("output capped: --max-output ") for w in warnings)
        if cap == 4096:
            # The warnings alone fill the cap: only counting them can have reached it.
            if timeline >= cap:
                failures.append(f"{tag}: the timeline alone took {timeline} bytes: the test "
                                "shows nothing")
            elif not capped:
                failures.append(f"{tag}: {size} bytes of warnings, yet the cap was not noted: "
                                "they were not counted against --max-output")
    return report(failures, f"{THREADS * CALLS} warnings under --max-output: the file kept to its "
                  "share, the cut and the number dropped were said, the warnings counted against "
                  "the cap, the target unchanged")


if __name__ == "__main__":
    sys.exit(main())
